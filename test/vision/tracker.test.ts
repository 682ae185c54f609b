// The anonymous face tracker on synthetic box sequences: 10 fps (100 ms per frame), 80 px faces.
import { describe, expect, it } from 'vitest';
import type { Rect } from '../../src/vision/image.js';
import { Tracker, type TrackedFace, type TrackView } from '../../src/vision/tracker.js';

const DT = 100;
const NEUTRAL = [0, 0, 0, 0, 0, 0, 1];
const box = (cx: number, cy: number, s = 80): Rect => ({ x: cx - s / 2, y: cy - s / 2, width: s, height: s });
const face = (cx: number, cy: number, probabilities = NEUTRAL): TrackedFace => ({ box: box(cx, cy), probabilities });
const centre = (v: TrackView): [number, number] => [v.box.x + v.box.width / 2, v.box.y + v.box.height / 2];
/** The active track whose box centre is nearest (cx, cy). */
const nearest = (active: TrackView[], cx: number, cy: number): TrackView =>
  active.reduce((a, b) => (Math.hypot(...sub(centre(a), cx, cy)) <= Math.hypot(...sub(centre(b), cx, cy)) ? a : b));
const sub = ([x, y]: [number, number], cx: number, cy: number): [number, number] => [x - cx, y - cy];

describe('Tracker', () => {
  describe('two faces crossing paths', () => {
    // A walks right along y = 200, B walks left along y = 210, 40 px per frame (half a face), and
    // they pass each other between frames 5 and 6: A goes 300 -> 340 while B goes 320 -> 280.
    // Matching on last positions alone would swap them there (A's last box at 300 overlaps B's new
    // box at 280 more than its own at 340); the constant-velocity prediction must not.
    const a = (k: number): [number, number] => [100 + 40 * k, 200];
    const b = (k: number): [number, number] => [520 - 40 * k, 210];

    it('keeps both ids through the crossing, with detector jitter', () => {
      const tr = new Tracker();
      // Deterministic jitter of up to 3 px, different for each face and axis.
      const j = (k: number, salt: number): number => ((k * 5 + salt * 3) % 7) - 3;
      for (let k = 0; k <= 12; k++) {
        const fa = face(a(k)[0] + j(k, 1), a(k)[1] + j(k, 2));
        const fb = face(b(k)[0] + j(k, 3), b(k)[1] + j(k, 5));
        // Detection order alternates: association must not depend on it.
        const faces = k % 2 ? [fb, fa] : [fa, fb];
        const { active, ended } = tr.update(k * DT, faces);
        expect(ended).toEqual([]);
        expect(active).toHaveLength(2);
        expect(nearest(active, ...a(k)).id).toBe(1);
        expect(nearest(active, ...b(k)).id).toBe(2);
        expect(nearest(active, ...a(k)).hits).toBe(k + 1);
      }
    });

    it('keeps both ids when the face behind is not detected while they overlap', () => {
      const tr = new Tracker();
      for (let k = 0; k <= 12; k++) {
        // Frames 5-7: B is hidden behind A, only A is detected; B coasts on its velocity.
        const hidden = k >= 5 && k <= 7;
        const { active } = tr.update(k * DT, hidden ? [face(...a(k))] : [face(...a(k)), face(...b(k))]);
        expect(active.map((v) => v.id)).toEqual([1, 2]);
        const [va, vb] = active as [TrackView, TrackView];
        expect(centre(va)[0]).toBeCloseTo(a(k)[0], 6);
        // The coasting prediction of B is where B really is (constant velocity).
        expect(centre(vb)[0]).toBeCloseTo(b(k)[0], 6);
        expect(vb.hits).toBe(k < 5 ? k + 1 : hidden ? 5 : k + 1 - 3);
      }
    });
  });

  it('continues the same track across a few missed detections', () => {
    const tr = new Tracker();
    const seen: number[] = [];
    for (let k = 0; k <= 15; k++) {
      const missed = k >= 5 && k <= 8; // 400 ms without a detection
      const { active, ended } = tr.update(k * DT, missed ? [] : [face(200 + 5 * k, 150)]);
      expect(ended).toEqual([]);
      expect(active).toHaveLength(1);
      seen.push(active[0]!.id);
      if (missed) expect(active[0]!.lastSeenMs).toBe(400);
    }
    expect(new Set(seen)).toEqual(new Set([1]));
    const [end] = tr.flush(1500);
    expect(end).toMatchObject({ id: 1, hits: 12, firstSeenMs: 0, lastSeenMs: 1500, durationMs: 1500, counts: true });
  });

  it('starts a new track for a face back after more than maxUnseenMs, ending the old one', () => {
    const tr = new Tracker({ maxUnseenMs: 1500 });
    for (let t = 0; t <= 2000; t += DT) tr.update(t, [face(300, 300)]);
    // Unseen for exactly maxUnseenMs: still alive.
    expect(tr.update(3500, []).active.map((v) => v.id)).toEqual([1]);
    const { active, ended } = tr.update(3600, []);
    expect(active).toEqual([]);
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({
      id: 1,
      firstSeenMs: 0,
      lastSeenMs: 2000,
      durationMs: 2000,
      hits: 21,
      counts: true,
    });

    const back = tr.update(4000, [face(300, 300)]);
    expect(back.active.map((v) => v.id)).toEqual([2]);
    expect(back.active[0]!.firstSeenMs).toBe(4000);
  });

  it('ends the old track in the same update that sees the face return, when no frames came between', () => {
    const tr = new Tracker();
    for (let t = 0; t <= 1200; t += DT) tr.update(t, [face(300, 300)]);
    const { active, ended } = tr.update(5000, [face(300, 300)]);
    expect(ended.map((e) => [e.id, e.durationMs, e.counts])).toEqual([[1, 1200, true]]);
    expect(active.map((v) => [v.id, v.hits, v.confirmed])).toEqual([[2, 1, false]]);
  });

  it('does not count a 1-2 frame flicker, nor tracks that are too short or too sparse', () => {
    const tr = new Tracker();
    const ended = [];
    for (let k = 0; k <= 40; k++) {
      const faces = [face(200, 200)];
      if (k === 10 || k === 11) faces.push(face(600, 400)); // false detection, two frames
      ended.push(...tr.update(k * DT, faces).ended);
    }
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ id: 2, hits: 2, durationMs: 100, counts: false, confirmed: false });
    const [real] = tr.flush(4000);
    expect(real).toMatchObject({ id: 1, hits: 41, counts: true });

    // Enough hits but too short (minTrackMs), and long enough but too few hits (minHits).
    const short = new Tracker();
    for (let k = 0; k < 9; k++) short.update(k * DT, [face(100, 100)]);
    expect(short.flush(900)[0]).toMatchObject({ hits: 9, durationMs: 800, counts: false });
    const sparse = new Tracker();
    sparse.update(0, [face(100, 100)]);
    sparse.update(1100, [face(100, 100)]);
    expect(sparse.flush(1100)[0]).toMatchObject({ hits: 2, durationMs: 1100, counts: false });
  });

  it('confirms a track once it meets both minTrackMs and minHits', () => {
    const tr = new Tracker({ minTrackMs: 500, minHits: 3 });
    const confirmed = [];
    for (let k = 0; k <= 6; k++) confirmed.push(tr.update(k * DT, [face(100, 100)]).active[0]!.confirmed);
    expect(confirmed).toEqual([false, false, false, false, false, true, true]);
  });

  it('keeps the mean of the per-frame probability vectors, exactly', () => {
    const frames = [
      [0.1, 0.05, 0.05, 0.6, 0.1, 0.05, 0.05],
      [0.2, 0.1, 0.1, 0.3, 0.1, 0.1, 0.1],
      [0.03, 0.07, 0.11, 0.13, 0.17, 0.19, 0.3],
    ];
    const tr = new Tracker();
    let last: TrackView | undefined;
    frames.forEach((p, k) => {
      last = tr.update(k * DT, [{ box: box(100 + k, 100), probabilities: p }]).active[0];
    });
    const expected = frames[0]!.map((_, i) => (frames[0]![i]! + frames[1]![i]! + frames[2]![i]!) / 3);
    expect(last!.meanProbabilities).toEqual(expected);
    expect(last!.dominant).toBe('happy');
    // Dyadic values: the mean is exact whatever the summation order.
    const t2 = new Tracker();
    t2.update(0, [{ box: box(0, 0), probabilities: [0.5, 0, 0, 0.25, 0, 0, 0.25] }]);
    const v = t2.update(DT, [{ box: box(0, 0), probabilities: [0, 0, 0, 0.75, 0, 0, 0.25] }]).active[0]!;
    expect(v.meanProbabilities).toEqual([0.25, 0, 0, 0.5, 0, 0, 0.25]);
  });

  it('follows a fast mover past the IoU gate with the centre-distance fallback', () => {
    // 60 px per frame with 80 px boxes: before any velocity is known, IoU is 20/140 < 0.3.
    const run = (maxCentreDistance?: number): number[] => {
      const tr = new Tracker({ maxCentreDistance });
      const ids = new Set<number>();
      for (let k = 0; k <= 10; k++)
        for (const v of tr.update(k * DT, [face(100 + 60 * k, 300)]).active) if (v.lastSeenMs === k * DT) ids.add(v.id);
      return [...ids];
    };
    expect(run()).toEqual([1]);
    expect(run(0).length).toBeGreaterThan(1);
  });

  it('numbers tracks per instance, from 1, and rejects malformed probability vectors', () => {
    const t1 = new Tracker();
    const t2 = new Tracker();
    expect(t1.update(0, [face(100, 100), face(400, 100)]).active.map((v) => v.id)).toEqual([1, 2]);
    expect(t2.update(0, [face(100, 100)]).active.map((v) => v.id)).toEqual([1]);
    expect(() => t1.update(100, [{ box: box(0, 0), probabilities: [1, 0] }])).toThrow(/7 entries/);
  });

  it('treats a clock stepping backwards as no time passing', () => {
    const tr = new Tracker();
    tr.update(1000, [face(100, 100)]);
    const v = tr.update(900, [face(100, 100)]).active[0]!;
    expect(v).toMatchObject({ id: 1, firstSeenMs: 1000, lastSeenMs: 1000, hits: 2 });
  });
});
