import { describe, expect, it } from 'vitest';
import {
  EMOTION_LABELS,
  argmax,
  auc,
  classificationReport,
  confusionMatrix,
  downsample,
  emotionReport,
  macroAuc,
  normalizeRows,
  oneVsRestRoc,
  rocAuc,
  rocCurve,
} from '../../src/evaluate/metrics.js';

/*
 * Hand-computed example: 10 samples, 3 classes (A=0, B=1, C=2).
 *
 *   #  true pred  probs [A, B, C]
 *   1   A    A    .7 .2 .1
 *   2   A    A    .6 .3 .1
 *   3   A    B    .3 .5 .2
 *   4   A    C    .2 .3 .5
 *   5   B    B    .1 .8 .1
 *   6   B    B    .2 .6 .2
 *   7   B    A    .6 .3 .1     <- A-score .6 ties with sample 2 (a positive for A)
 *   8   C    C    .1 .2 .7
 *   9   C    C    .3 .1 .6     <- A-score .3 ties with sample 3 (a positive for A)
 *  10   C    B    .1 .5 .4
 *
 * Confusion (rows true, cols pred):  A: [2 1 1]   B: [1 2 0]   C: [0 1 2]
 * Column sums (predicted): A 3, B 4, C 3.  Accuracy = (2+2+2)/10 = 0.6
 * A: P = 2/3, R = 2/4 = 1/2, F1 = 2*2/(3+4) = 4/7
 * B: P = 2/4 = 1/2, R = 2/3, F1 = 4/(4+3) = 4/7
 * C: P = 2/3, R = 2/3, F1 = 4/(3+3) = 2/3
 * Macro-F1 = (4/7 + 4/7 + 2/3)/3 = (12+12+14)/63 = 38/63
 * Weighted F1 = (4*4/7 + 3*4/7 + 3*2/3)/10 = (4 + 2)/10 = 0.6
 *
 * ROC for A vs rest: positives (1-4) scores .7 .6 .3 .2; negatives (5-10) .1 .2 .6 .1 .3 .1. P=4, N=6.
 * Distinct thresholds, descending:   thr  TP FP  -> (fpr, tpr)
 *                                    inf  0  0     (0, 0)
 *                                    .7   1  0     (0, 1/4)
 *                                    .6   2  1     (1/6, 2/4)   tie: one positive + one negative together
 *                                    .3   3  2     (2/6, 3/4)   tie again
 *                                    .2   4  3     (3/6, 1)     tie again
 *                                    .1   4  6     (1, 1)
 * Trapezoids: 0 + (1/6)(1/4+2/4)/2 + (1/6)(2/4+3/4)/2 + (1/6)(3/4+1)/2 + (1/2)(1)
 *           = 1/16 + 5/48 + 7/48 + 1/2 = (3 + 5 + 7 + 24)/48 = 39/48 = 0.8125
 * Check by Mann-Whitney (tie = 1/2): .7 beats 6; .6 beats 5 ties 1 -> 5.5; .3 beats 4 ties 1 -> 4.5;
 * .2 beats 3 ties 1 -> 3.5; total 19.5 / (4*6) = 0.8125.
 */
const PROBS = [
  [0.7, 0.2, 0.1],
  [0.6, 0.3, 0.1],
  [0.3, 0.5, 0.2],
  [0.2, 0.3, 0.5],
  [0.1, 0.8, 0.1],
  [0.2, 0.6, 0.2],
  [0.6, 0.3, 0.1],
  [0.1, 0.2, 0.7],
  [0.3, 0.1, 0.6],
  [0.1, 0.5, 0.4],
];
const Y_TRUE = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2];
const Y_PRED = [0, 0, 1, 2, 1, 1, 0, 2, 2, 1];

/** O(P*N) reference: probability a random positive outscores a random negative, ties 1/2. */
function mannWhitney(scores: number[], pos: boolean[]): number {
  let s = 0;
  let pairs = 0;
  scores.forEach((a, i) => {
    if (!pos[i]) return;
    scores.forEach((b, j) => {
      if (pos[j]) return;
      pairs++;
      s += a > b ? 1 : a === b ? 0.5 : 0;
    });
  });
  return s / pairs;
}

describe('confusion matrix and classification report', () => {
  it('reproduces the hand-computed example', () => {
    expect(PROBS.map(argmax)).toEqual(Y_PRED);
    const cm = confusionMatrix(Y_TRUE, Y_PRED, 3);
    expect(cm).toEqual([
      [2, 1, 1],
      [1, 2, 0],
      [0, 1, 2],
    ]);
    const norm = normalizeRows(cm);
    expect(norm[0]).toEqual([0.5, 0.25, 0.25]);
    expect(norm[1]?.[1]).toBeCloseTo(2 / 3, 12);

    const r = classificationReport(Y_TRUE, Y_PRED, 3);
    expect(r.accuracy).toBeCloseTo(0.6, 12);
    const want = [
      { precision: 2 / 3, recall: 1 / 2, f1: 4 / 7, support: 4 },
      { precision: 1 / 2, recall: 2 / 3, f1: 4 / 7, support: 3 },
      { precision: 2 / 3, recall: 2 / 3, f1: 2 / 3, support: 3 },
    ];
    want.forEach((w, c) => {
      const got = r.perClass[c];
      expect(got?.support).toBe(w.support);
      expect(got?.precision).toBeCloseTo(w.precision, 12);
      expect(got?.recall).toBeCloseTo(w.recall, 12);
      expect(got?.f1).toBeCloseTo(w.f1, 12);
    });
    expect(r.macroF1).toBeCloseTo(38 / 63, 12);
    expect(r.weightedF1).toBeCloseTo(0.6, 12);
  });

  it('zero division gives 0 and macro-F1 averages over all classes (sklearn convention)', () => {
    // Same data with k = 4: class 3 has no support and is never predicted -> P = R = F1 = 0.
    const r = classificationReport(Y_TRUE, Y_PRED, 4);
    expect(r.perClass[3]).toEqual({ precision: 0, recall: 0, f1: 0, support: 0 });
    expect(r.macroF1).toBeCloseTo((38 / 63) * (3 / 4), 12); // = 19/42
    expect(r.weightedF1).toBeCloseTo(0.6, 12); // support-weighted: unaffected
    // Predicted but never true: precision 0/1 = 0, recall 0/0 -> 0.
    const r2 = classificationReport([0, 0], [0, 1], 2);
    expect(r2.perClass[1]).toEqual({ precision: 0, recall: 0, f1: 0, support: 0 });
    expect(r2.perClass[0]).toEqual({ precision: 1, recall: 0.5, f1: 2 / 3, support: 2 });
    expect(
      normalizeRows([
        [0, 0],
        [1, 3],
      ]),
    ).toEqual([
      [0, 0],
      [0.25, 0.75],
    ]);
  });

  it('rejects bad input', () => {
    expect(() => confusionMatrix([0, 1], [0], 2)).toThrow(/yPred has 1/);
    expect(() => confusionMatrix([0, 2], [0, 1], 2)).toThrow(/yTrue\[1\] = 2/);
    expect(() => confusionMatrix([0.5], [0], 2)).toThrow(/yTrue\[0\]/);
  });
});

describe('ROC', () => {
  it('small hand example with a tie between a positive and a negative', () => {
    // scores .9 .8 .8 .6 .4 .3, labels + + - + - -  (P=3, N=3)
    // points: (0,0) (0,1/3) (1/3,2/3) [tie .8 moves both] (1/3,1) (2/3,1) (1,1)
    // AUC = (1/3)(1/3+2/3)/2 + (1/3)(1) + (1/3)(1) = 1/6 + 2/3 = 5/6
    const s = [0.8, 0.3, 0.9, 0.6, 0.8, 0.4];
    const p = [true, false, true, true, false, false];
    const pts = rocCurve(s, p);
    expect(pts.map((q) => q.threshold)).toEqual([Infinity, 0.9, 0.8, 0.6, 0.4, 0.3]);
    expect(pts.map((q) => [q.fpr * 3, q.tpr * 3].map(Math.round))).toEqual([
      [0, 0],
      [0, 1],
      [1, 2],
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
    expect(auc(pts)).toBeCloseTo(5 / 6, 12);
    expect(rocAuc(s, p)).toBeCloseTo(5 / 6, 12);
  });

  it('one-vs-rest AUC for class A matches the hand computation (0.8125)', () => {
    const ovr = oneVsRestRoc(PROBS, Y_TRUE, 3);
    const a = ovr[0];
    expect(a?.points.map((q) => [q.fpr, q.tpr])).toEqual([
      [0, 0],
      [0, 0.25],
      [1 / 6, 0.5],
      [2 / 6, 0.75],
      [3 / 6, 1],
      [1, 1],
    ]);
    expect(a?.auc).toBeCloseTo(0.8125, 12);
    for (let c = 0; c < 3; c++) {
      const ref = mannWhitney(
        PROBS.map((p) => p[c] as number),
        Y_TRUE.map((y) => y === c),
      );
      expect(ovr[c]?.auc).toBeCloseTo(ref, 12);
    }
  });

  it('equals the Mann-Whitney statistic on random data with many ties', () => {
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let trial = 0; trial < 20; trial++) {
      const n = 30 + trial * 7;
      const s = Array.from({ length: n }, () => Math.round(rnd() * 10) / 10);
      const p = Array.from({ length: n }, () => rnd() < 0.4);
      if (!p.includes(true) || !p.includes(false)) continue;
      expect(rocAuc(s, p)).toBeCloseTo(mannWhitney(s, p), 12);
    }
  });

  it('AUC is null without positives or negatives; macro skips nulls', () => {
    expect(rocAuc([0.1, 0.2], [false, false])).toBeNull();
    expect(rocAuc([0.1, 0.2], [true, true])).toBeNull();
    expect(macroAuc([0.5, null, 1])).toBe(0.75);
    expect(macroAuc([null])).toBeNull();
    expect(() => rocCurve([NaN], [true])).toThrow(/not finite/);
  });

  it('downsample keeps both ends and respects the cap', () => {
    const pts = Array.from({ length: 1000 }, (_, i) => i);
    const d = downsample(pts, 200);
    expect(d).toHaveLength(200);
    expect(d[0]).toBe(0);
    expect(d[199]).toBe(999);
    expect(downsample([1, 2, 3], 200)).toEqual([1, 2, 3]);
    expect(downsample(pts, 2)).toEqual([0, 999]);
  });
});

describe('emotionReport', () => {
  it('assembles the hand-computed example', () => {
    const labels = ['a', 'b', 'c'];
    const samples = PROBS.map((p, i) => ({ label: Y_TRUE[i] as number, probs: Float32Array.from(p) }));
    // Float32 rounding keeps ties tied (same literals), so the AUC stays exact.
    const r = emotionReport(samples, { msPerFace: 3.5, labels });
    expect(r.samples).toBe(10);
    expect(r.msPerFace).toBe(3.5);
    expect(r.accuracy).toBeCloseTo(0.6, 12);
    expect(r.macroF1).toBeCloseTo(38 / 63, 12);
    expect(r.perClass.a?.f1).toBeCloseTo(4 / 7, 12);
    expect(r.confusion.labels).toEqual(labels);
    expect(r.confusion.counts[0]).toEqual([2, 1, 1]);
    expect(r.confusion.normalized[0]).toEqual([0.5, 0.25, 0.25]);
    expect(r.rocAuc.a).toBeCloseTo(0.8125, 12);
    const aucs = [r.rocAuc.a, r.rocAuc.b, r.rocAuc.c] as number[];
    expect(r.rocAuc.macro).toBeCloseTo((aucs[0]! + aucs[1]! + aucs[2]!) / 3, 12);
    expect(r.roc.a).toHaveLength(6);
    expect((JSON.parse(JSON.stringify(r)) as { accuracy: number }).accuracy).toBeCloseTo(0.6, 12);
  });

  it('defaults to the 7 canonical labels, caps ROC points, nulls absent classes', () => {
    const samples = Array.from({ length: 1000 }, (_, i) => {
      const probs = new Array<number>(7).fill(0);
      probs[i % 2 === 0 ? 3 : 6] = 0.5 + (i % 997) / 2000;
      probs[0] = (i % 13) / 100;
      return { label: i % 3 === 0 ? 3 : 6, probs };
    });
    const r = emotionReport(samples, { msPerFace: null });
    expect(r.labels).toEqual([...EMOTION_LABELS]);
    expect(Object.keys(r.perClass)).toEqual([...EMOTION_LABELS]);
    expect(r.rocAuc.angry).toBeNull(); // no positives
    expect(typeof r.rocAuc.happy).toBe('number');
    for (const l of EMOTION_LABELS) {
      const pts = r.roc[l] ?? [];
      expect(pts.length).toBeLessThanOrEqual(200);
      expect(pts[0]).toMatchObject({ fpr: 0, tpr: 0 });
      if (r.rocAuc[l] !== null) expect(pts.at(-1)).toMatchObject({ fpr: 1, tpr: 1 });
    }
    expect(r.roc.happy?.length).toBe(200);
  });

  it('validates samples', () => {
    expect(() => emotionReport([], { msPerFace: null })).toThrow(/no samples/);
    expect(() => emotionReport([{ label: 0, probs: [1, 0] }], { msPerFace: null })).toThrow(/2 probabilities for 7/);
    expect(() => emotionReport([{ label: 9, probs: [1, 0] }], { msPerFace: null, labels: ['x', 'y'] })).toThrow(
      /yTrue\[0\] = 9/,
    );
    expect(() => emotionReport([{ label: 0, probs: [NaN, 0] }], { msPerFace: null, labels: ['x', 'y'] })).toThrow(
      /not finite/,
    );
  });
});
