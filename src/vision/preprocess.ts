// Turning frames and face crops into model input tensors, exactly as a bundle's manifest describes.
import * as ort from 'onnxruntime-node';
import type { InputSpec } from '../models/manifest.js';
import { cropResize, frameToMat, type Frame, type Rect, type ResizeKernel } from './image.js';
import { cv, type Mat } from './opencv.js';
import { planarApplies, planarTensor } from './planar.js';

export interface Point {
  x: number;
  y: number;
}

/** Maps normalised model coordinates (0..1 of the model input) back to frame pixels. */
export interface InputMapping {
  scaleX: number;
  scaleY: number;
  offsetX: number;
  offsetY: number;
}

/**
 * Writes `mats` (each BGR or gray, already spec.width x spec.height) into one float32 batch tensor,
 * applying the colour order, layout and normalisation of the manifest.
 */
export function matsToTensor(mats: Mat[], spec: InputSpec): ort.Tensor {
  const { width: W, height: H, layout, colour } = spec;
  const C = colour === 'gray' ? 1 : 3;
  const { scale } = spec.normalization;
  const mean = Array.from({ length: C }, (_, c) => spec.normalization.mean[c] ?? spec.normalization.mean[0] ?? 0);
  const std = Array.from({ length: C }, (_, c) => spec.normalization.std[c] ?? spec.normalization.std[0] ?? 1);
  const out = new Float32Array(mats.length * W * H * C);
  const plane = W * H;
  const uniform = mean.every((m) => m === mean[0]) && std.every((v) => v === std[0]);
  mats.forEach((mat, n) => {
    if (mat.cols !== W || mat.rows !== H) throw new Error(`input image is ${mat.cols}x${mat.rows}, expected ${W}x${H}`);
    const src = colour === 'gray' ? (mat.channels === 1 ? mat : mat.cvtColor(cv.COLOR_BGR2GRAY)) : mat;
    const base = n * plane * C;
    // With one channel NCHW and NHWC are the same bytes, so gray NCHW models take the fast path too.
    if ((layout === 'NHWC' || C === 1) && uniform) {
      // Fast path (every shipped model): OpenCV converts and scales in native code, ~10x the JS loop.
      const ordered = colour === 'rgb' ? src.cvtColor(cv.COLOR_BGR2RGB) : src;
      const f = ordered.convertTo(C === 1 ? cv.CV_32FC1 : cv.CV_32FC3, scale / std[0]!, -mean[0]! / std[0]!);
      const bytes = f.getData();
      out.set(new Float32Array(bytes.buffer, bytes.byteOffset, plane * C), base);
      return;
    }
    const px = src.getData();
    // Source channel for each model channel: BGR frames, so RGB reads 2,1,0.
    const order = colour === 'rgb' ? [2, 1, 0] : colour === 'bgr' ? [0, 1, 2] : [0];
    for (let c = 0; c < C; c++) {
      const sc = order[c]!;
      const m = mean[c]!;
      const s = std[c]!;
      for (let i = 0; i < plane; i++) {
        const v = (px[i * C + sc]! * scale - m) / s;
        if (layout === 'NHWC') out[base + i * C + c] = v;
        else out[base + c * plane + i] = v;
      }
    }
  });
  const dims = layout === 'NHWC' ? [mats.length, H, W, C] : [mats.length, C, H, W];
  return new ort.Tensor('float32', out, dims);
}

/** Resizes a whole frame (or its region of interest) to the detector input, per the manifest. */
export function frameToDetectorInput(frame: Frame, spec: InputSpec, roi?: Rect): { tensor: ort.Tensor; mapping: InputMapping } {
  const region: Rect = roi ?? { x: 0, y: 0, width: frame.width, height: frame.height };
  let mat: Mat;
  let mapping: InputMapping;
  if (spec.resize === 'letterbox') {
    // Pad to a square at the bottom/right (the reference implementation does the same), so
    // normalised coordinates scale by the square's side in both directions.
    const side = Math.max(region.width, region.height);
    mat = cropResize(frame, { x: region.x, y: region.y, width: side, height: side }, spec.width, spec.height, undefined, spec.resizeKernel);
    mapping = { scaleX: side, scaleY: side, offsetX: region.x, offsetY: region.y };
  } else if (spec.resize === 'fit') {
    // Scale to fit width x height keeping the aspect, then pad at the bottom/right to the model's
    // stride: a 16:9 camera feeds 640x384 instead of a 640x640 square that is 40 % black.
    const f = Math.min(spec.width / region.width, spec.height / region.height);
    const m = spec.sizeMultiple ?? 1;
    const w = Math.max(m, Math.ceil((region.width * f) / m) * m);
    const h = Math.max(m, Math.ceil((region.height * f) / m) * m);
    mat = cropResize(frame, { x: region.x, y: region.y, width: w / f, height: h / f }, w, h, undefined, spec.resizeKernel);
    mapping = { scaleX: w / f, scaleY: h / f, offsetX: region.x, offsetY: region.y };
  } else {
    mat = cropResize(frame, region, spec.width, spec.height, undefined, spec.resizeKernel);
    mapping = { scaleX: region.width, scaleY: region.height, offsetX: region.x, offsetY: region.y };
  }
  const tensor = planarApplies(spec) ? planarTensor(mat, spec) : matsToTensor([mat], spec);
  return { tensor, mapping };
}

/** The crop taken around a detected face: margin on every side, then squared about its centre. */
export function faceCropRect(box: Rect, margin: number, square: boolean): Rect {
  let w = box.width * (1 + 2 * margin);
  let h = box.height * (1 + 2 * margin);
  if (square) w = h = Math.max(w, h);
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  return { x: cx - w / 2, y: cy - h / 2, width: w, height: h };
}

/**
 * Cuts a face from the full-resolution frame. With both eyes known and `align`, the crop is rotated
 * so the eyes are level (expression models are trained on upright faces).
 */
export function cropFace(frame: Frame, src: Mat, rect: Rect, outW: number, outH: number, eyes?: { left: Point; right: Point }, kernel?: ResizeKernel): Mat {
  if (!eyes) return cropResize(frame, rect, outW, outH, src, kernel);
  const angle = (Math.atan2(eyes.right.y - eyes.left.y, eyes.right.x - eyes.left.x) * 180) / Math.PI;
  const cx = rect.x + rect.width / 2;
  const cy = rect.y + rect.height / 2;
  const rot = cv.getRotationMatrix2D(new cv.Point2(cx, cy), angle, outW / rect.width);
  // Shift so the crop centre lands in the output centre.
  const m = rot.getDataAsArray();
  const row0 = m[0]!;
  const row1 = m[1]!;
  row0[2] = row0[2]! + outW / 2 - cx;
  row1[2] = row1[2]! + outH / 2 - cy;
  const affine = new cv.Mat([row0, row1], cv.CV_64F);
  return src.warpAffine(affine, new cv.Size(outW, outH), cv.INTER_LINEAR, cv.BORDER_CONSTANT);
}

export function hflip(mat: Mat): Mat {
  return mat.flip(1);
}

export { frameToMat };
