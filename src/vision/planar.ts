// NCHW float32 tensors from BGR images: the detector's input, one plane per colour, in one pass over
// the pixels with the normalisation folded into one multiply-add.
import * as ort from 'onnxruntime-node';
import type { InputSpec } from '../models/manifest.js';
import type { Raster } from './raster.js';

/** Whether `planarTensor` can serve this input (3-channel NCHW, one mean/std for all channels). */
export function planarApplies(spec: InputSpec): boolean {
  const { mean, std } = spec.normalization;
  return (
    spec.layout === 'NCHW' &&
    spec.colour !== 'gray' &&
    mean.every((m) => m === mean[0]) &&
    std.every((s) => s === std[0])
  );
}

/**
 * One BGR raster -> [1, 3, height, width] float32 in the manifest's colour order and normalisation. The
 * output may be larger than the raster (a detector-sized copy padded to the model's stride): the rest
 * reads as black. `out`, when given and long enough, is written instead of a new array (the detector
 * reuses one: a 960x544 input is 6 MB per frame otherwise).
 */
export function planarTensor(
  img: Raster,
  spec: InputSpec,
  width = img.cols,
  height = img.rows,
  out?: Float32Array,
): ort.Tensor {
  if (img.channels !== 3)
    throw new Error(`planarTensor: expected a 3-channel BGR image, got ${img.channels} channel(s)`);
  // As in rastersToTensor: float32 factors, so v * a + b rounds once, as OpenCV's convertTo does.
  const a = Math.fround(spec.normalization.scale / (spec.normalization.std[0] ?? 1));
  const b = Math.fround(-(spec.normalization.mean[0] ?? 0) / (spec.normalization.std[0] ?? 1));
  const plane = width * height;
  const t = tensorBuffer(3 * plane, out);
  // Frames are BGR: RGB models read the planes in reverse. One view per plane keeps the inner loop to
  // three plain stores (with the padding-only fill below: 2.12 ms against 2.37 for a 960x540 copy).
  const [o0, o1, o2] = spec.colour === 'rgb' ? [2 * plane, plane, 0] : [0, plane, 2 * plane];
  const p0 = t.subarray(o0, o0 + plane);
  const p1 = t.subarray(o1, o1 + plane);
  const p2 = t.subarray(o2, o2 + plane);
  const d = img.data;
  const cols = Math.min(width, img.cols);
  const rows = Math.min(height, img.rows);
  const black = 0 * a + b; // black as the model sees it (never -0)
  for (let y = 0; y < rows; y++) {
    const end = y * width + cols;
    for (let i = y * width, j = y * img.cols * 3; i < end; i++, j += 3) {
      p0[i] = d[j]! * a + b;
      p1[i] = d[j + 1]! * a + b;
      p2[i] = d[j + 2]! * a + b;
    }
    // Past the picture's right edge (a reused tensor holds the last frame there).
    if (cols < width) for (const p of [p0, p1, p2]) p.fill(black, end, (y + 1) * width);
  }
  // Below it: only the padding is written, not the whole tensor first.
  for (const p of [p0, p1, p2]) p.fill(black, rows * width);
  return new ort.Tensor('float32', t, [1, 3, height, width]);
}

/**
 * `out` itself, or its first n floats when it is longer (the detector keeps the largest input it has
 * fed, so photos of different heights do not each allocate 7-8 MB), or a new array when it is short.
 */
export function tensorBuffer(n: number, out?: Float32Array): Float32Array {
  if (!out || out.length < n) return new Float32Array(n);
  return out.length === n ? out : out.subarray(0, n);
}
