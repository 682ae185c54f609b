// Audience metrics and the quality gate in the window: viewers vs passers-by, look time, viewers'
// emotions under the privacy threshold, and people the gate kept from the classifier.
import { describe, expect, it } from 'vitest';
import { WindowAggregator } from '../../src/aggregate/window.js';
import { CANONICAL_LABELS, type EmotionLabel } from '../../src/models/manifest.js';
import { dominantLabel, type TrackView } from '../../src/vision/tracker.js';

const T0 = Date.UTC(2024, 0, 15, 12, 0, 0);
const onehot = (label: EmotionLabel): number[] => CANONICAL_LABELS.map((l) => (l === label ? 1 : 0));

function person(id: number, lookingMs: number, mean: number[] | null, looking: number[] | null = mean): TrackView {
  return {
    id,
    firstSeenMs: T0,
    lastSeenMs: T0 + 5000,
    hits: 20,
    box: { x: 0, y: 0, width: 1, height: 1 },
    meanProbabilities: mean,
    dominant: mean ? dominantLabel(mean) : null,
    lookingMs,
    lookingProbabilities: looking,
    confirmed: true,
  };
}

function window(people: TrackView[], minPeople = 3, skipped = {}): ReturnType<WindowAggregator['close']> {
  const agg = new WindowAggregator('cam', { minPeople, minLookMs: 2000 }, T0);
  agg.frameAnalyzed(T0 + 5000, people.length, people, [], skipped);
  return agg.close(T0 + 6000);
}

describe('audience metrics', () => {
  it('splits people into viewers (looked >= minLookMs in all) and passers-by, with look-time statistics', () => {
    const w = window([
      person(1, 2000, onehot('happy')),
      person(2, 4000, onehot('happy')),
      person(3, 6000, onehot('sad')),
      person(4, 1999, onehot('neutral')),
      person(5, 0, onehot('neutral')),
    ]);
    expect(w).toMatchObject({ people: 5, viewers: 3, passersBy: 2 });
    expect(w.lookTime).toEqual({ count: 3, meanS: 4, p50S: 4, p90S: 5.6 });
    // Emotions of the viewers while they looked: not the passers-by's.
    expect(w.viewerEmotions).toMatchObject({ happy: 2, sad: 1, neutral: 0 });
    expect(w.emotions).toMatchObject({ happy: 2, sad: 1, neutral: 2 });
  });

  it('uses what a viewer showed WHILE looking, and counts a viewer never classified while looking in no emotion', () => {
    const w = window([
      person(1, 3000, onehot('neutral'), onehot('happy')),
      person(2, 3000, onehot('sad'), onehot('surprise')),
      person(3, 3000, onehot('sad'), null),
    ]);
    expect(w.viewers).toBe(3);
    expect(w.viewerEmotions).toMatchObject({ happy: 1, surprise: 1, sad: 0, neutral: 0 });
  });

  it("withholds the viewers' emotions below minPeople viewers, even when there are enough people", () => {
    const w = window([
      person(1, 3000, onehot('happy')),
      person(2, 3000, onehot('happy')),
      person(3, 0, onehot('sad')),
      person(4, 0, onehot('sad')),
    ]);
    expect(w).toMatchObject({ people: 4, viewers: 2, withheld: false, viewerEmotions: null });
    expect(w.lookTime?.count).toBe(2);
  });

  it('counts people the quality gate kept from the classifier, and the skipped detections by reason', () => {
    const w = window(
      [person(1, 0, null), person(2, 0, onehot('happy')), person(3, 0, onehot('happy')), person(4, 0, null)],
      3,
      { small: 2, turned: 5 },
    );
    expect(w).toMatchObject({ people: 4, notClassified: 2, skippedFaces: { small: 2, blurred: 0, turned: 5 } });
    // The breakdown holds the classified people only; the mean is theirs.
    expect(w.emotions).toMatchObject({ happy: 2 });
    expect(w.meanProbabilities).toEqual(onehot('happy'));
  });
});
