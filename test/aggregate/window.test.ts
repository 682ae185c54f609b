// Windowed per-camera aggregates from hand-made tracker output (track views with chosen means).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/paths.js';
import { WindowAggregator, dwellStats } from '../../src/aggregate/window.js';
import { CANONICAL_LABELS, type EmotionLabel } from '../../src/models/manifest.js';
import { dominantLabel, type EndedTrack, type TrackView } from '../../src/vision/tracker.js';

const T0 = Date.UTC(2024, 0, 15, 12, 0, 0); // 12:00:00
const at = (m: number, s: number, ms = 0): number => T0 + m * 60_000 + s * 1000 + ms;
const iso = (t: number): string => new Date(t).toISOString();

const onehot = (label: EmotionLabel): number[] => CANONICAL_LABELS.map((l) => (l === label ? 1 : 0));
function track(
  id: number,
  firstSeenMs: number,
  lastSeenMs: number,
  mean: number[] = onehot('neutral'),
  confirmed = true,
): TrackView {
  return {
    id,
    firstSeenMs,
    lastSeenMs,
    hits: 10,
    box: { x: 0, y: 0, width: 1, height: 1 },
    meanProbabilities: mean,
    dominant: dominantLabel(mean),
    lookingMs: 0,
    lookingProbabilities: null,
    confirmed,
  };
}
function ended(id: number, firstSeenMs: number, lastSeenMs: number, counts = true, mean?: number[]): EndedTrack {
  return { ...track(id, firstSeenMs, lastSeenMs, mean, counts), durationMs: lastSeenMs - firstSeenMs, counts };
}

describe('WindowAggregator', () => {
  it('leaves out a person whose mean is not finite (NaN model output), so the window still matches its schema', () => {
    const valid = new Ajv({ strict: false }).compile(
      JSON.parse(readFileSync(join(ROOT, 'docs', 'mqtt', 'window.schema.json'), 'utf8')) as object,
    );
    const agg = new WindowAggregator('cam1', { minPeople: 1 }, at(0, 0));
    const nan = CANONICAL_LABELS.map(() => Number.NaN);
    agg.frameAnalyzed(
      at(0, 10),
      2,
      [track(1, at(0, 8), at(0, 10), nan), track(2, at(0, 8), at(0, 10), onehot('happy'))],
      [],
    );
    const [w] = agg.tick(at(1, 0));
    const payload = JSON.parse(JSON.stringify({ ...w, seq: 1, deviceId: 'd' })) as Record<string, unknown>;
    expect(valid(payload), JSON.stringify(valid.errors)).toBe(true);
    expect(w).toMatchObject({ people: 1, emotions: { happy: 1, angry: 0 } });
  });

  it('aligns windows to the clock: one started at 12:00:37 ends at 12:01:00', () => {
    const agg = new WindowAggregator('cam1', {}, at(0, 37));
    expect(agg.tick(at(0, 59, 999))).toEqual([]);
    const [w1, ...rest] = agg.tick(at(1, 0));
    expect(rest).toEqual([]);
    expect(w1).toMatchObject({
      cameraId: 'cam1',
      start: '2024-01-15T12:00:37.000Z',
      end: '2024-01-15T12:01:00.000Z',
      startMs: at(0, 37),
      endMs: at(1, 0),
      partial: true,
    });
    const [w2] = agg.tick(at(2, 0, 5));
    expect(w2).toMatchObject({ start: '2024-01-15T12:01:00.000Z', end: '2024-01-15T12:02:00.000Z', partial: false });

    // Other lengths align to multiples of themselves since the epoch.
    const a10 = new WindowAggregator('cam1', { windowMs: 10_000 }, at(0, 37));
    expect(a10.tick(at(0, 41)).map((w) => [w.start, w.end])).toEqual([[iso(at(0, 37)), iso(at(0, 40))]]);
  });

  it('counts a track spanning a boundary as people in both windows and as new once', () => {
    const agg = new WindowAggregator('cam1', { minPeople: 0 }, at(0, 0));
    agg.frameAnalyzed(at(0, 50), 1, [track(1, at(0, 48), at(0, 50))], []);
    // Track 2 is first seen just before the boundary but only confirms after it: it is counted
    // (and new) in the window where it confirms.
    agg.frameAnalyzed(
      at(0, 59, 500),
      2,
      [track(1, at(0, 48), at(0, 59, 500)), track(2, at(0, 59, 500), at(0, 59, 500), undefined, false)],
      [],
    );
    const [w1] = agg.tick(at(1, 0, 500));
    agg.frameAnalyzed(
      at(1, 0, 500),
      2,
      [track(1, at(0, 48), at(1, 0, 500)), track(2, at(0, 59, 500), at(1, 0, 500))],
      [],
    );
    // Still present later in the window: not counted again.
    agg.frameAnalyzed(at(1, 30), 2, [track(1, at(0, 48), at(1, 30)), track(2, at(0, 59, 500), at(1, 30))], []);
    const [w2] = agg.tick(at(2, 0));
    expect(w1).toMatchObject({ framesAnalysed: 2, faceDetections: 3, people: 1, newPeople: 1 });
    expect(w2).toMatchObject({ framesAnalysed: 2, faceDetections: 4, people: 2, newPeople: 1 });
  });

  it('does not count a confirmed track in a window where it only coasted (never detected)', () => {
    const agg = new WindowAggregator('cam1', { minPeople: 0 }, at(0, 0));
    agg.frameAnalyzed(at(0, 59), 1, [track(1, at(0, 30), at(0, 59))], []);
    agg.tick(at(1, 0));
    agg.frameAnalyzed(at(1, 0, 200), 0, [track(1, at(0, 30), at(0, 59))], []);
    expect(agg.tick(at(2, 0))[0]).toMatchObject({ people: 0, newPeople: 0 });
  });

  it('counts people per dominant emotion (whole-life means, latest view) and averages their mean vectors', () => {
    const agg = new WindowAggregator('cam1', { minPeople: 3 }, at(0, 0));
    const happy = [0, 0, 0, 0.5, 0.25, 0, 0.25];
    const happy2 = [0, 0, 0, 0.75, 0, 0, 0.25];
    const sad = [0, 0, 0, 0.25, 0.5, 0, 0.25];
    const neutral = [0.25, 0, 0, 0, 0, 0, 0.75];
    // Track 3 looked happy at first; its latest life-to-date mean in the window is sad.
    agg.frameAnalyzed(
      at(0, 10),
      4,
      [
        track(1, at(0, 5), at(0, 10), happy),
        track(2, at(0, 5), at(0, 10), happy2),
        track(3, at(0, 5), at(0, 10), happy),
        track(4, at(0, 5), at(0, 10), neutral),
      ],
      [],
    );
    agg.frameAnalyzed(at(0, 20), 1, [track(3, at(0, 5), at(0, 20), sad)], []);
    const [w] = agg.tick(at(1, 0));
    expect(w).toMatchObject({ people: 4, newPeople: 4, withheld: false, faceDetections: 5 });
    expect(w!.emotions).toEqual({ angry: 0, disgust: 0, fear: 0, happy: 2, sad: 1, surprise: 0, neutral: 1 });
    // (happy + happy2 + sad + neutral) / 4, by hand.
    expect(w!.meanProbabilities).toEqual([0.0625, 0, 0, 0.375, 0.1875, 0, 0.375]);
  });

  it('withholds the emotion breakdown below minPeople but keeps the counts', () => {
    const agg = new WindowAggregator('cam1', {}, at(0, 0));
    agg.frameAnalyzed(
      at(0, 10),
      2,
      [track(1, at(0, 5), at(0, 10), onehot('happy')), track(2, at(0, 5), at(0, 10), onehot('sad'))],
      [],
    );
    agg.frameAnalyzed(at(0, 50), 0, [], [ended(1, at(0, 5), at(0, 12)), ended(2, at(0, 5), at(0, 20))]);
    const [w] = agg.tick(at(1, 0));
    expect(w).toMatchObject({
      people: 2,
      newPeople: 2,
      withheld: true,
      emotions: null,
      meanProbabilities: null,
      framesAnalysed: 2,
    });
    expect(w!.dwell).toEqual({ count: 2, meanS: 11, p50S: 11, p90S: 14.2 });

    const three = new WindowAggregator('cam1', {}, at(0, 0));
    three.frameAnalyzed(
      at(0, 10),
      3,
      [1, 2, 3].map((id) => track(id, at(0, 5), at(0, 10), onehot('happy'))),
      [],
    );
    expect(three.tick(at(1, 0))[0]).toMatchObject({
      people: 3,
      withheld: false,
      emotions: { happy: 3 },
      meanProbabilities: onehot('happy'),
    });
  });

  it('reports the dwell of counting tracks that ended in the window: mean, p50, p90', () => {
    const agg = new WindowAggregator('cam1', { minPeople: 0 }, at(0, 0));
    // Durations 2, 4, 6 and 10 s; the 0.3 s flicker does not count.
    agg.frameAnalyzed(
      at(0, 30),
      0,
      [],
      [ended(1, at(0, 0), at(0, 2)), ended(2, at(0, 0), at(0, 10)), ended(9, at(0, 0), at(0, 0, 300), false)],
    );
    agg.frameAnalyzed(at(0, 40), 0, [], [ended(3, at(0, 0), at(0, 6)), ended(4, at(0, 0), at(0, 4))]);
    const [w] = agg.tick(at(1, 0));
    // mean = 22 / 4 = 5.5; p50 = (4 + 6) / 2 = 5; p90 at rank 0.9 * 3 = 2.7: 6 + 0.7 * (10 - 6) = 8.8.
    expect(w!.dwell).toEqual({ count: 4, meanS: 5.5, p50S: 5, p90S: 8.8 });
    // The counting tracks were never seen active here: counted where they ended, so none is lost.
    expect(w).toMatchObject({ people: 4, newPeople: 4 });
    expect(dwellStats([])).toBeNull();
    expect(dwellStats([1234])).toEqual({ count: 1, meanS: 1.2, p50S: 1.2, p90S: 1.2 });
  });

  it('attributes dwell to the window where a track ends, not where it was last seen', () => {
    const agg = new WindowAggregator('cam1', { minPeople: 0 }, at(0, 0));
    agg.frameAnalyzed(at(0, 59), 1, [track(1, at(0, 50), at(0, 59))], []);
    const [w1] = agg.tick(at(1, 0));
    agg.frameAnalyzed(at(1, 0, 600), 0, [], [ended(1, at(0, 50), at(0, 59))]);
    const [w2] = agg.tick(at(2, 0));
    expect(w1).toMatchObject({ people: 1, newPeople: 1, dwell: null });
    expect(w2).toMatchObject({ people: 0, newPeople: 0, dwell: { count: 1, meanS: 9, p50S: 9, p90S: 9 } });
  });

  it('emits each empty window while a camera is down, up to maxEmptyWindows', () => {
    const agg = new WindowAggregator('cam1', {}, at(0, 0));
    agg.frameAnalyzed(at(0, 10), 1, [], []);
    agg.framesDropped(2);
    const ws = agg.tick(at(4, 30));
    expect(ws.map((w) => [w.start, w.framesAnalysed, w.framesDropped])).toEqual([
      [iso(at(0, 0)), 1, 2],
      [iso(at(1, 0)), 0, 0],
      [iso(at(2, 0)), 0, 0],
      [iso(at(3, 0)), 0, 0],
    ]);
    expect(ws[3]).toMatchObject({
      endMs: at(4, 0),
      partial: false,
      people: 0,
      newPeople: 0,
      faceDetections: 0,
      withheld: true,
      emotions: null,
      meanProbabilities: null,
      dwell: null,
    });

    const capped = new WindowAggregator('cam1', { maxEmptyWindows: 2 }, at(0, 0));
    expect(capped.tick(at(10, 0)).map((w) => w.start)).toEqual([iso(at(0, 0)), iso(at(8, 0)), iso(at(9, 0))]);
  });

  it('queues windows closed by a frame that arrives past the boundary before tick()', () => {
    const agg = new WindowAggregator('cam1', { minPeople: 0 }, at(0, 0));
    agg.frameAnalyzed(at(0, 30), 1, [track(1, at(0, 20), at(0, 30))], []);
    agg.frameAnalyzed(at(1, 5), 1, [track(1, at(0, 20), at(1, 5))], []);
    const ws = agg.tick(at(1, 6));
    expect(ws.map((w) => [w.start, w.framesAnalysed, w.people])).toEqual([[iso(at(0, 0)), 1, 1]]);
    expect(agg.tick(at(2, 0))[0]).toMatchObject({ framesAnalysed: 1, people: 1, newPeople: 0 });
  });

  it('closes the current window early on shutdown, as partial', () => {
    const agg = new WindowAggregator('cam1', { minPeople: 0 }, at(0, 0));
    agg.frameAnalyzed(at(0, 5), 1, [track(1, at(0, 1), at(0, 5))], []);
    agg.tracksEnded(at(0, 42), [ended(1, at(0, 1), at(0, 5))]);
    const w = agg.close(at(0, 42));
    expect(w).toMatchObject({
      start: iso(at(0, 0)),
      end: iso(at(0, 42)),
      endMs: at(0, 42),
      partial: true,
      framesAnalysed: 1,
      people: 1,
      dwell: { count: 1, meanS: 4 },
    });
    expect(() => agg.frameAnalyzed(at(0, 43), 0, [], [])).toThrow(/closed/);
    expect(agg.tick(at(5, 0))).toEqual([]);

    const full = new WindowAggregator('cam1', {}, at(0, 0));
    expect(full.close(at(0, 42), false)).toMatchObject({ endMs: at(1, 0), partial: false });

    // Windows that closed by tMs must be taken with tick() first, not silently dropped.
    const late = new WindowAggregator('cam1', {}, at(0, 0));
    expect(() => late.close(at(1, 30))).toThrow(/tick/);
    expect(late.tick(at(1, 30))).toHaveLength(1);
    expect(late.close(at(1, 30))).toMatchObject({ start: iso(at(1, 0)), end: iso(at(1, 30)), partial: true });
  });

  it('publishes counts only: no boxes, track ids or times beyond the window', () => {
    const agg = new WindowAggregator('cam1', { minPeople: 1 }, at(0, 0));
    agg.frameAnalyzed(at(0, 5), 1, [track(77, at(0, 1), at(0, 5))], [ended(78, at(0, 0), at(0, 3))]);
    const [w] = agg.tick(at(1, 0));
    expect(Object.keys(w!).sort()).toEqual(
      [
        'cameraId',
        'start',
        'end',
        'startMs',
        'endMs',
        'partial',
        'framesAnalysed',
        'framesDropped',
        'faceDetections',
        'people',
        'newPeople',
        'emotions',
        'meanProbabilities',
        'withheld',
        'dwell',
        'notClassified',
        'skippedFaces',
        'viewers',
        'passersBy',
        'lookTime',
        'viewerEmotions',
      ].sort(),
    );
    const json = JSON.stringify(w);
    expect(json).not.toMatch(/box|"id"|77|78/);
    expect(JSON.parse(json)).toEqual(w);
  });
});
