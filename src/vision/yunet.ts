// Decoding of YuNet's anchor-free heads (our own implementation of the published decoding; see
// docs/models.md): one prior per cell of each stride's grid, row-major. Pure: raw output arrays in,
// candidate faces in input pixels out, so it is testable without a model.
import type { YunetHead } from '../models/manifest.js';

/** A face before NMS, in pixels of the model input. */
export interface Candidate {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  score: number;
  /** x, y pairs in input pixels (empty when the model gives no landmarks). */
  points: number[];
}

export interface HeadOutputs {
  cls: Float32Array;
  obj: Float32Array;
  bbox: Float32Array;
  kps: Float32Array;
}

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

/**
 * Decodes one head. `inputW` x `inputH` is the tensor fed to the model (a multiple of the stride);
 * priors whose score sqrt(cls * obj) is below `threshold` are skipped before any other work.
 */
export function decodeYunetHead(
  head: Pick<YunetHead, 'stride'>,
  out: HeadOutputs,
  inputW: number,
  inputH: number,
  threshold: number,
): Candidate[] {
  const s = head.stride;
  const cols = Math.ceil(inputW / s);
  const rows = Math.ceil(inputH / s);
  const n = cols * rows;
  if (out.cls.length !== n || out.obj.length !== n || out.bbox.length !== 4 * n) {
    throw new Error(
      `stride ${s}: outputs have ${out.cls.length} priors, expected ${cols}x${rows} = ${n} for a ${inputW}x${inputH} input`,
    );
  }
  const k = out.kps.length / n;
  if (!Number.isInteger(k) || k % 2 !== 0)
    throw new Error(`stride ${s}: landmark output has ${out.kps.length} values for ${n} priors`);
  // Comparing cls * obj with threshold^2 avoids a square root for the thousands of empty priors.
  const t2 = threshold * threshold;
  const found: Candidate[] = [];
  for (let i = 0; i < n; i++) {
    const p = clamp01(out.cls[i]!) * clamp01(out.obj[i]!);
    if (!(p >= t2)) continue; // also drops NaN
    const c = i % cols;
    const r = (i - c) / cols;
    const cx = (c + out.bbox[4 * i]!) * s;
    const cy = (r + out.bbox[4 * i + 1]!) * s;
    const w = Math.exp(out.bbox[4 * i + 2]!) * s;
    const h = Math.exp(out.bbox[4 * i + 3]!) * s;
    const points = new Array<number>(k);
    for (let j = 0; j < k; j += 2) {
      points[j] = (c + out.kps[k * i + j]!) * s;
      points[j + 1] = (r + out.kps[k * i + j + 1]!) * s;
    }
    found.push({ x0: cx - w / 2, y0: cy - h / 2, x1: cx + w / 2, y1: cy + h / 2, score: Math.sqrt(p), points });
  }
  return found;
}

/** All heads; `outputs(name)` returns an output's data (missing outputs are an error). */
export function decodeYunet(
  heads: readonly YunetHead[],
  outputs: (name: string) => Float32Array,
  inputW: number,
  inputH: number,
  threshold: number,
): Candidate[] {
  return heads.flatMap((h) =>
    decodeYunetHead(
      h,
      { cls: outputs(h.cls), obj: outputs(h.obj), bbox: outputs(h.bbox), kps: outputs(h.kps) },
      inputW,
      inputH,
      threshold,
    ),
  );
}
