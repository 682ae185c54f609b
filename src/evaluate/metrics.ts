// Classification metrics for judging an expression model before it ships.
// Everything here is pure and synchronous so the maths can be unit-tested exactly.
//
// Conventions (chosen to match scikit-learn so numbers can be cross-checked there):
// - Zero division: any ratio whose denominator is 0 is defined as 0 (sklearn `zero_division=0`).
//   e.g. precision of a class that is never predicted, recall of a class with no samples.
// - F1 = 2TP / (2TP + FP + FN), which equals 2PR/(P+R) whenever both are defined, and is 0
//   when TP = FP = FN = 0.
// - Macro-F1 = unweighted mean over ALL k classes, including classes with support 0
//   (sklearn `average='macro'` with `labels=range(k)`). A class absent from the test set
//   therefore contributes F1 = 0 and drags the macro down; that is intentional, because a
//   test set missing a class cannot vouch for it.
// - Weighted F1 = support-weighted mean of per-class F1 (0 for an empty set).
// - ROC: one point per distinct threshold (tied scores move together), starting at
//   (0, 0, threshold = +Infinity; JSON serialises it as null). AUC by the trapezoidal rule, which
//   with this tie handling equals the Mann-Whitney probability counting ties as 1/2.
//   A class with no positives or no negatives has an undefined AUC: null. Macro AUC is the
//   mean over classes whose AUC is defined (null if none is).

/** Canonical label order used everywhere (equals the FER-2013 index order). */
import { CANONICAL_LABELS as EMOTION_LABELS } from '../models/manifest.js';

export { EMOTION_LABELS };
export type { EmotionLabel } from '../models/manifest.js';

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface ClassificationReport {
  accuracy: number;
  perClass: ClassMetrics[];
  macroPrecision: number;
  macroRecall: number;
  macroF1: number;
  weightedF1: number;
  confusion: number[][];
}

export interface RocPoint {
  fpr: number;
  tpr: number;
  threshold: number;
}

/** a / b, or 0 when b is 0 (see zero-division convention above). */
export function safeDiv(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}

function checkLabels(name: string, ys: readonly number[], k: number): void {
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i];
    if (y === undefined || !Number.isInteger(y) || y < 0 || y >= k) {
      throw new RangeError(`${name}[${i}] = ${String(y)} is not a class index in [0, ${k})`);
    }
  }
}

/** counts[true][pred] for class indices in [0, k). */
export function confusionMatrix(yTrue: readonly number[], yPred: readonly number[], k: number): number[][] {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
  if (yTrue.length !== yPred.length) {
    throw new RangeError(`yTrue has ${yTrue.length} labels but yPred has ${yPred.length}`);
  }
  checkLabels('yTrue', yTrue, k);
  checkLabels('yPred', yPred, k);
  const m = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < yTrue.length; i++) {
    const row = m[yTrue[i] as number] as number[];
    const p = yPred[i] as number;
    row[p] = (row[p] as number) + 1;
  }
  return m;
}

/** Each row divided by its sum (fraction of true class i predicted as j); empty rows stay all 0. */
export function normalizeRows(counts: readonly (readonly number[])[]): number[][] {
  return counts.map((row) => {
    const total = row.reduce((s, v) => s + v, 0);
    return row.map((v) => safeDiv(v, total));
  });
}

export function classificationReport(
  yTrue: readonly number[],
  yPred: readonly number[],
  k: number,
): ClassificationReport {
  const cm = confusionMatrix(yTrue, yPred, k);
  const n = yTrue.length;
  let correct = 0;
  const perClass: ClassMetrics[] = [];
  for (let c = 0; c < k; c++) {
    const row = cm[c] as number[];
    const tp = row[c] as number;
    const support = row.reduce((s, v) => s + v, 0);
    const predicted = cm.reduce((s, r) => s + (r[c] as number), 0);
    correct += tp;
    perClass.push({
      precision: safeDiv(tp, predicted),
      recall: safeDiv(tp, support),
      f1: safeDiv(2 * tp, predicted + support), // predicted + support = 2TP + FP + FN
      support,
    });
  }
  const mean = (f: (m: ClassMetrics) => number): number => perClass.reduce((s, m) => s + f(m), 0) / k;
  return {
    accuracy: safeDiv(correct, n),
    perClass,
    macroPrecision: mean((m) => m.precision),
    macroRecall: mean((m) => m.recall),
    macroF1: mean((m) => m.f1),
    weightedF1: safeDiv(
      perClass.reduce((s, m) => s + m.f1 * m.support, 0),
      n,
    ),
    confusion: cm,
  };
}

/**
 * ROC curve, one point per distinct score threshold ("score >= threshold" is predicted positive),
 * ordered by increasing fpr/tpr. Rates whose denominator is 0 are reported as 0 (the AUC is then
 * null, see rocAuc).
 */
export function rocCurve(scores: readonly number[], positives: readonly boolean[]): RocPoint[] {
  if (scores.length !== positives.length) {
    throw new RangeError(`rocCurve: ${scores.length} scores but ${positives.length} labels`);
  }
  const order = scores.map((_, i) => i);
  for (const i of order) {
    if (!Number.isFinite(scores[i])) throw new RangeError(`rocCurve: score[${i}] = ${scores[i]} is not finite`);
  }
  order.sort((a, b) => (scores[b] as number) - (scores[a] as number));
  const nPos = positives.reduce((s, p) => s + (p ? 1 : 0), 0);
  const nNeg = positives.length - nPos;
  const points: RocPoint[] = [{ fpr: 0, tpr: 0, threshold: Infinity }];
  let tp = 0;
  let fp = 0;
  for (let j = 0; j < order.length; j++) {
    const i = order[j] as number;
    if (positives[i]) tp++;
    else fp++;
    const next = order[j + 1];
    // Emit only after the last member of a tie group, so tied scores form one diagonal step.
    if (next === undefined || scores[next] !== scores[i]) {
      points.push({ fpr: safeDiv(fp, nNeg), tpr: safeDiv(tp, nPos), threshold: scores[i] as number });
    }
  }
  return points;
}

/** Trapezoidal area under a curve given as points with increasing fpr. */
export function auc(points: readonly { fpr: number; tpr: number }[]): number {
  let area = 0;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1] as { fpr: number; tpr: number };
    const b = points[i] as { fpr: number; tpr: number };
    area += ((b.fpr - a.fpr) * (a.tpr + b.tpr)) / 2;
  }
  return area;
}

/** ROC AUC, or null when there are no positives or no negatives (AUC undefined). */
export function rocAuc(scores: readonly number[], positives: readonly boolean[]): number | null {
  const nPos = positives.filter(Boolean).length;
  if (nPos === 0 || nPos === positives.length) return null;
  return auc(rocCurve(scores, positives));
}

export interface OneVsRestRoc {
  points: RocPoint[];
  auc: number | null;
}

/** One-vs-rest ROC per class, scoring class c by probs[i][c]. */
export function oneVsRestRoc(probs: readonly ArrayLike<number>[], yTrue: readonly number[], k: number): OneVsRestRoc[] {
  if (probs.length !== yTrue.length)
    throw new RangeError(`${probs.length} probability vectors but ${yTrue.length} labels`);
  checkLabels('yTrue', yTrue, k);
  const out: OneVsRestRoc[] = [];
  for (let c = 0; c < k; c++) {
    const scores = probs.map((p) => p[c] as number);
    const pos = yTrue.map((y) => y === c);
    const points = rocCurve(scores, pos);
    const defined = pos.includes(true) && pos.includes(false);
    out.push({ points, auc: defined ? auc(points) : null });
  }
  return out;
}

/** Mean of the defined AUCs, null if none is defined. */
export function macroAuc(aucs: readonly (number | null)[]): number | null {
  const ok = aucs.filter((a): a is number => a !== null);
  return ok.length === 0 ? null : ok.reduce((s, a) => s + a, 0) / ok.length;
}

/**
 * At most `max` points, evenly spaced by index, always keeping the first and last point
 * (so a plotted curve still starts at (0,0) and ends at its true end).
 */
export function downsample<T>(points: readonly T[], max = 200): T[] {
  if (!Number.isInteger(max) || max < 2) throw new RangeError(`downsample: max must be an integer >= 2, got ${max}`);
  if (points.length <= max) return points.slice();
  const out: T[] = [];
  const step = (points.length - 1) / (max - 1);
  for (let j = 0; j < max; j++) out.push(points[Math.round(j * step)] as T);
  return out;
}

/** Index of the largest value; the first one wins ties (as numpy.argmax). */
export function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if ((v[i] as number) > (v[best] as number)) best = i;
  return best;
}

export interface EmotionSample {
  /** True class index into `labels`. */
  label: number;
  /** Per-class scores (probabilities), same order as `labels`. */
  probs: ArrayLike<number>;
}

export interface EmotionReportOptions {
  /** Mean inference time per face, measured by the caller; null if not measured. */
  msPerFace: number | null;
  /** Class names in index order; defaults to EMOTION_LABELS. */
  labels?: readonly string[];
  /** Cap on ROC points kept per class for plotting (default 200). */
  maxRocPoints?: number;
}

export interface EmotionReport {
  labels: string[];
  samples: number;
  accuracy: number;
  macroF1: number;
  weightedF1: number;
  perClass: Record<string, ClassMetrics>;
  confusion: { labels: string[]; counts: number[][]; normalized: number[][] };
  /** Per-label one-vs-rest AUC plus `macro`; null where undefined. */
  rocAuc: { macro: number | null; [label: string]: number | null };
  /** Per-label downsampled ROC points for plotting. */
  roc: Record<string, RocPoint[]>;
  msPerFace: number | null;
}

/** Full report for an expression classifier; the prediction is argmax(probs). */
export function emotionReport(samples: readonly EmotionSample[], opts: EmotionReportOptions): EmotionReport {
  const labels = [...(opts.labels ?? EMOTION_LABELS)];
  const k = labels.length;
  if (k < 2) throw new RangeError('emotionReport: need at least 2 labels');
  if (labels.includes('macro'))
    throw new RangeError("emotionReport: 'macro' is reserved in rocAuc and cannot be a label");
  if (new Set(labels).size !== k) throw new RangeError('emotionReport: duplicate labels');
  if (samples.length === 0) throw new RangeError('emotionReport: no samples to evaluate');
  samples.forEach((s, i) => {
    if (s.probs.length !== k) throw new RangeError(`sample ${i}: ${s.probs.length} probabilities for ${k} labels`);
    for (let c = 0; c < k; c++) {
      if (!Number.isFinite(s.probs[c])) throw new RangeError(`sample ${i}: probs[${c}] is not finite`);
    }
  });
  const yTrue = samples.map((s) => s.label);
  const yPred = samples.map((s) => argmax(s.probs));
  const rep = classificationReport(yTrue, yPred, k);
  const ovr = oneVsRestRoc(
    samples.map((s) => s.probs),
    yTrue,
    k,
  );
  const perClass: Record<string, ClassMetrics> = {};
  const rocAucs: { macro: number | null; [label: string]: number | null } = { macro: macroAuc(ovr.map((o) => o.auc)) };
  const roc: Record<string, RocPoint[]> = {};
  labels.forEach((name, c) => {
    perClass[name] = rep.perClass[c] as ClassMetrics;
    const o = ovr[c] as OneVsRestRoc;
    rocAucs[name] = o.auc;
    roc[name] = downsample(o.points, opts.maxRocPoints ?? 200);
  });
  return {
    labels,
    samples: samples.length,
    accuracy: rep.accuracy,
    macroF1: rep.macroF1,
    weightedF1: rep.weightedF1,
    perClass,
    confusion: { labels, counts: rep.confusion, normalized: normalizeRows(rep.confusion) },
    rocAuc: rocAucs,
    roc,
    msPerFace: opts.msPerFace,
  };
}
