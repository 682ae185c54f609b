// NCHW float32 tensors from BGR images: the detector's input, one plane per colour, in one pass over
// the pixels with the normalisation folded into one multiply-add.
import * as ort from 'onnxruntime-node';
import type { InputSpec } from '../models/manifest.js';
import type { Raster } from './raster.js';

/** Whether `planarTensor` can serve this input (3-channel NCHW, one mean/std for all channels). */
export function planarApplies(spec: InputSpec): boolean {
  const { mean, std } = spec.normalization;
  return spec.layout === 'NCHW' && spec.colour !== 'gray' && mean.every((m) => m === mean[0]) && std.every((s) => s === std[0]);
}

/** One BGR raster (any size) -> [1, 3, rows, cols] float32 in the manifest's colour order and normalisation. */
export function planarTensor(img: Raster, spec: InputSpec): ort.Tensor {
  if (img.channels !== 3) throw new Error(`planarTensor: expected a 3-channel BGR image, got ${img.channels} channel(s)`);
  const a = spec.normalization.scale / (spec.normalization.std[0] ?? 1);
  const b = -(spec.normalization.mean[0] ?? 0) / (spec.normalization.std[0] ?? 1);
  const plane = img.rows * img.cols;
  const out = new Float32Array(3 * plane);
  // Frames are BGR: RGB models read the planes in reverse.
  const [p0, p1, p2] = spec.colour === 'rgb' ? [2 * plane, plane, 0] : [0, plane, 2 * plane];
  const d = img.data;
  for (let i = 0, j = 0; i < plane; i++, j += 3) {
    out[p0 + i] = d[j]! * a + b;
    out[p1 + i] = d[j + 1]! * a + b;
    out[p2 + i] = d[j + 2]! * a + b;
  }
  return new ort.Tensor('float32', out, [1, 3, img.rows, img.cols]);
}
