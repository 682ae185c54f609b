// WIDER-style face-detector evaluation (AP at IoU 0.5, plus recall/precision at an operating point).
// Pure except parseBoxesJsonl, which reads the ground-truth file.
//
// Conventions:
// - Boxes are [x, y, w, h] in pixels, top-left origin, continuous coordinates (no VOC "+1").
// - A GT face is IGNORED when invalid == 1, w <= 0, h <= 0, or h < minFace. Kiosk faces are
//   at least 40 px high, so smaller faces are neither required (no FN) nor punished when found.
// - Matching, per image in descending score order: a detection takes the unmatched
//   non-ignored GT with the highest IoU >= iou -> TP; otherwise, if it overlaps any ignored GT
//   with IoU >= iou, it is dropped (neither TP nor FP); otherwise FP. A second detection of an
//   already-matched face is therefore an FP (duplicate), as in VOC/WIDER.
// - AP: all-point interpolation (VOC 2010+): precision is made monotonically non-increasing
//   from the right, then summed over recall steps. Tied scores form a single PR point, so AP
//   does not depend on the arbitrary order of ties.
// - With no non-ignored GT faces, AP is null (undefined); ratios with a zero denominator are 0.
import { readFileSync } from 'node:fs';
import { downsample, safeDiv } from './metrics.js';

export type Box = [x: number, y: number, w: number, h: number];

export interface GtFace {
  box: Box;
  blur: number;
  expression: number;
  illumination: number;
  invalid: boolean;
  occlusion: number;
  pose: number;
  easy: number;
  medium: number;
  hard: number;
}

export interface ImageGT {
  image: string;
  width: number;
  height: number;
  faces: GtFace[];
}

export interface Detection {
  box: Box;
  score: number;
}

export interface DetectionEvalOptions {
  /** IoU needed for a match (default 0.5). */
  iou?: number;
  /** Faces lower than this many pixels are ignored (default DEFAULT_MIN_FACE = 40, the kiosk minimum). */
  minFace?: number;
  /** Operating threshold for recall/precision/fpPerImage (default 0.5). */
  scoreThreshold?: number;
  /** Detections scoring below this are discarded before anything else (default 0: keep all). */
  minScore?: number;
  /** Cap on PR points returned for plotting (default 200). */
  maxPrPoints?: number;
}

export interface PrPoint {
  recall: number;
  precision: number;
  threshold: number;
}

export interface DetectionEvaluation {
  /** AP at IoU `iou` (0.5 by default, hence the name); null when there are no GT faces. */
  ap50: number | null;
  iou: number;
  minFace: number;
  scoreThreshold: number;
  /** At scoreThreshold. */
  recall: number;
  precision: number;
  fpPerImage: number;
  tp: number;
  fp: number;
  /** Non-ignored GT faces (the recall denominator). */
  gtFaces: number;
  ignoredFaces: number;
  images: number;
  /** Detections that counted (TP or FP) at any score, and those dropped on ignored faces. */
  detections: number;
  ignoredDetections: number;
  /** Raw PR points (one per distinct score, by decreasing score), downsampled. */
  pr: PrPoint[];
}

export const DEFAULT_MIN_FACE = 40;

export function iou(a: Box, b: Box): number {
  const iw = Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = Math.max(0, a[2]) * Math.max(0, a[3]) + Math.max(0, b[2]) * Math.max(0, b[3]) - inter;
  return union <= 0 ? 0 : inter / union;
}

export function isIgnored(face: GtFace, minFace: number): boolean {
  const [, , w, h] = face.box;
  return face.invalid || w <= 0 || h <= 0 || h < minFace;
}

type Outcome = 'tp' | 'fp' | 'ignored';

/** Greedy matching for one image; returns one outcome per detection (same order as `dets`). */
export function matchImage(
  faces: readonly GtFace[],
  dets: readonly Detection[],
  iouThr: number,
  minFace: number,
): Outcome[] {
  const ignored = faces.map((f) => isIgnored(f, minFace));
  const matched = faces.map(() => false);
  const out = new Array<Outcome>(dets.length);
  const order = dets.map((_, i) => i).sort((a, b) => (dets[b] as Detection).score - (dets[a] as Detection).score);
  for (const d of order) {
    const box = (dets[d] as Detection).box;
    let best = -1;
    let bestIou = iouThr;
    let hitsIgnored = false;
    faces.forEach((f, g) => {
      const o = iou(box, f.box);
      if (ignored[g]) {
        if (o >= iouThr) hitsIgnored = true;
      } else if (!matched[g] && o >= bestIou && (best < 0 || o > bestIou)) {
        best = g;
        bestIou = o;
      }
    });
    if (best >= 0) {
      matched[best] = true;
      out[d] = 'tp';
    } else {
      out[d] = hitsIgnored ? 'ignored' : 'fp';
    }
  }
  return out;
}

/** All-point interpolated AP from PR points ordered by increasing recall (VOC 2010+). */
export function averagePrecision(points: readonly { recall: number; precision: number }[]): number {
  const rec = [0, ...points.map((p) => p.recall)];
  const pre = [0, ...points.map((p) => p.precision)];
  for (let i = pre.length - 2; i >= 0; i--) pre[i] = Math.max(pre[i] as number, pre[i + 1] as number);
  let ap = 0;
  for (let i = 1; i < rec.length; i++) ap += ((rec[i] as number) - (rec[i - 1] as number)) * (pre[i] as number);
  return ap;
}

export function evaluateDetections(
  gt: readonly ImageGT[],
  preds: ReadonlyMap<string, readonly Detection[]>,
  opts: DetectionEvalOptions = {},
): DetectionEvaluation {
  const iouThr = opts.iou ?? 0.5;
  const minFace = opts.minFace ?? DEFAULT_MIN_FACE;
  const scoreThreshold = opts.scoreThreshold ?? 0.5;
  const minScore = opts.minScore ?? 0;
  if (!(iouThr > 0 && iouThr <= 1)) throw new RangeError(`iou must be in (0, 1], got ${iouThr}`);
  const known = new Set<string>();
  for (const img of gt) {
    if (known.has(img.image)) throw new Error(`ground truth lists image twice: ${img.image}`);
    known.add(img.image);
  }
  // A prediction key with no ground truth is almost always a path mismatch; failing beats AP = 0.
  const unknown = [...preds.keys()].filter((k) => !known.has(k));
  if (unknown.length > 0) {
    throw new Error(
      `predictions for ${unknown.length} image(s) not in ground truth, e.g. ${unknown.slice(0, 3).join(', ')}`,
    );
  }
  const scored: { score: number; tp: boolean }[] = [];
  let gtFaces = 0;
  let ignoredFaces = 0;
  let ignoredDetections = 0;
  for (const img of gt) {
    for (const f of img.faces) {
      if (isIgnored(f, minFace)) ignoredFaces++;
      else gtFaces++;
    }
    const dets = (preds.get(img.image) ?? []).filter((d) => {
      if (!Number.isFinite(d.score)) throw new RangeError(`${img.image}: detection score ${d.score} is not finite`);
      return d.score >= minScore;
    });
    const outcomes = matchImage(img.faces, dets, iouThr, minFace);
    outcomes.forEach((o, i) => {
      if (o === 'ignored') ignoredDetections++;
      else scored.push({ score: (dets[i] as Detection).score, tp: o === 'tp' });
    });
  }
  scored.sort((a, b) => b.score - a.score);
  const raw: PrPoint[] = [];
  let tp = 0;
  let fp = 0;
  let opTp = 0;
  let opFp = 0;
  scored.forEach((s, j) => {
    if (s.tp) tp++;
    else fp++;
    if (s.score >= scoreThreshold) {
      opTp = tp;
      opFp = fp;
    }
    const next = scored[j + 1];
    if (next === undefined || next.score !== s.score) {
      raw.push({ recall: safeDiv(tp, gtFaces), precision: safeDiv(tp, tp + fp), threshold: s.score });
    }
  });
  return {
    ap50: gtFaces === 0 ? null : averagePrecision(raw),
    iou: iouThr,
    minFace,
    scoreThreshold,
    recall: safeDiv(opTp, gtFaces),
    precision: safeDiv(opTp, opTp + opFp),
    fpPerImage: safeDiv(opFp, gt.length),
    tp: opTp,
    fp: opFp,
    gtFaces,
    ignoredFaces,
    images: gt.length,
    detections: scored.length,
    ignoredDetections,
    pr: downsample(raw, opts.maxPrPoints ?? 200),
  };
}

const FACE_FIELDS = 13;

/** Parses boxes.jsonl text; `source` names the file in error messages. Blank lines are skipped. */
export function parseBoxesJsonlText(text: string, source: string): ImageGT[] {
  const out: ImageGT[] = [];
  text.split('\n').forEach((line, idx) => {
    const where = `${source}:${idx + 1}`;
    if (line.trim() === '') return;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      throw new Error(`${where}: invalid JSON (${(e as Error).message})`);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
      throw new Error(`${where}: expected a JSON object`);
    const o = obj as Record<string, unknown>;
    if (typeof o.image !== 'string' || o.image === '') throw new Error(`${where}: "image" must be a non-empty string`);
    for (const key of ['width', 'height'] as const) {
      const v = o[key];
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
        throw new Error(`${where}: "${key}" must be a positive number`);
    }
    if (!Array.isArray(o.faces)) throw new Error(`${where}: "faces" must be an array`);
    const faces = (o.faces as unknown[]).map((f, j): GtFace => {
      if (
        !Array.isArray(f) ||
        f.length !== FACE_FIELDS ||
        !f.every((v) => typeof v === 'number' && Number.isFinite(v))
      ) {
        throw new Error(`${where}: faces[${j}] must be an array of ${FACE_FIELDS} finite numbers`);
      }
      const n = f as number[];
      const at = (i: number): number => n[i] as number;
      return {
        box: [at(0), at(1), at(2), at(3)],
        blur: at(4),
        expression: at(5),
        illumination: at(6),
        invalid: at(7) === 1,
        occlusion: at(8),
        pose: at(9),
        easy: at(10),
        medium: at(11),
        hard: at(12),
      };
    });
    out.push({ image: o.image, width: o.width as number, height: o.height as number, faces });
  });
  return out;
}

export function parseBoxesJsonl(path: string): ImageGT[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ground truth ${path}: ${(e as Error).message}`);
  }
  return parseBoxesJsonlText(text, path);
}
