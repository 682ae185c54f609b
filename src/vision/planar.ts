// NCHW float32 tensors from BGR images in native code. matsToTensor's per-pixel JavaScript loop costs
// ~10 ms for one 640x640 frame, as much as YuNet itself; OpenCV splits and scales the planes in ~1 ms.
import * as ort from 'onnxruntime-node';
import type { InputSpec } from '../models/manifest.js';
import { cv, type Mat } from './opencv.js';

/** Whether `planarTensor` can serve this input (3-channel NCHW, one mean/std for all channels). */
export function planarApplies(spec: InputSpec): boolean {
  const { mean, std } = spec.normalization;
  return spec.layout === 'NCHW' && spec.colour !== 'gray' && mean.every((m) => m === mean[0]) && std.every((s) => s === std[0]);
}

/** One BGR mat (any size) -> [1, 3, rows, cols] float32 in the manifest's colour order and normalisation. */
export function planarTensor(mat: Mat, spec: InputSpec): ort.Tensor {
  if (mat.channels !== 3) throw new Error(`planarTensor: expected a 3-channel BGR image, got ${mat.channels} channel(s)`);
  const { scale } = spec.normalization;
  const mean = spec.normalization.mean[0] ?? 0;
  const std = spec.normalization.std[0] ?? 1;
  const plane = mat.rows * mat.cols;
  const out = new Float32Array(3 * plane);
  const planes = mat.splitChannels();
  // Frames are BGR: RGB models read the planes in reverse.
  const order = spec.colour === 'rgb' ? [2, 1, 0] : [0, 1, 2];
  order.forEach((src, c) => {
    const bytes = planes[src]!.convertTo(cv.CV_32FC1, scale / std, -mean / std).getData();
    out.set(new Float32Array(bytes.buffer, bytes.byteOffset, plane), c * plane);
  });
  return new ort.Tensor('float32', out, [1, 3, mat.rows, mat.cols]);
}
