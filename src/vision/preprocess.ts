// Turning frames and face crops into model input tensors, exactly as a bundle's manifest describes.
import * as ort from 'onnxruntime-node';
import type { InputSpec } from '../models/manifest.js';
import { cropResize, frameToRaster, type Frame, type Rect, type ResizeKernel } from './image.js';
import { halvedPlanarTensor } from './halve.js';
import { planarApplies, planarTensor } from './planar.js';
import { flipHorizontal, rotationMatrix, toGray, invertAffine, warpAffine, type Raster } from './raster.js';

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
 * Writes `crops` (each BGR or gray, already spec.width x spec.height) into one float32 batch tensor,
 * applying the colour order, layout and normalisation of the manifest.
 */
export function rastersToTensor(crops: Raster[], spec: InputSpec): ort.Tensor {
  const { width: W, height: H, layout, colour } = spec;
  const C = colour === 'gray' ? 1 : 3;
  const { scale } = spec.normalization;
  const mean = Array.from({ length: C }, (_, c) => spec.normalization.mean[c] ?? spec.normalization.mean[0] ?? 0);
  const std = Array.from({ length: C }, (_, c) => spec.normalization.std[c] ?? spec.normalization.std[0] ?? 1);
  const out = new Float32Array(crops.length * W * H * C);
  const plane = W * H;
  // Source channel for each model channel: BGR frames, so RGB reads 2,1,0.
  const order = colour === 'rgb' ? [2, 1, 0] : colour === 'bgr' ? [0, 1, 2] : [0];
  crops.forEach((crop, n) => {
    if (crop.cols !== W || crop.rows !== H)
      throw new Error(`input image is ${crop.cols}x${crop.rows}, expected ${W}x${H}`);
    if (C === 3 && crop.channels !== 3)
      throw new Error(`input image has ${crop.channels} channel(s), the model expects ${colour}`);
    const px = (colour === 'gray' ? toGray(crop) : crop).data;
    const base = n * plane * C;
    for (let c = 0; c < C; c++) {
      const sc = order[c]!;
      // Single-precision factors, one rounding of v * a + b: exactly OpenCV's convertTo, which the
      // shipped INT8 bundles were calibrated with (their bytes are re-made in a test).
      const a = Math.fround(scale / std[c]!);
      const b = Math.fround(-mean[c]! / std[c]!);
      // With one channel NCHW and NHWC are the same bytes.
      if (layout === 'NHWC') for (let i = 0; i < plane; i++) out[base + i * C + c] = px[i * C + sc]! * a + b;
      else for (let i = 0, o = base + c * plane; i < plane; i++) out[o + i] = px[i * C + sc]! * a + b;
    }
  });
  const dims = layout === 'NHWC' ? [crops.length, H, W, C] : [crops.length, C, H, W];
  return new ort.Tensor('float32', out, dims);
}

/** Resizes a whole frame (or its region of interest) to the detector input, per the manifest. */
export function frameToDetectorInput(
  frame: Frame,
  spec: InputSpec,
  roi?: Rect,
  reuse?: Float32Array,
): { tensor: ort.Tensor; mapping: InputMapping } {
  const region: Rect = roi ?? { x: 0, y: 0, width: frame.width, height: frame.height };
  // What to sample (in frame pixels) into an outW x outH input.
  let rect: Rect;
  let outW = spec.width;
  let outH = spec.height;
  if (spec.resize === 'letterbox') {
    // Pad to a square at the bottom/right (the reference implementation does the same), so
    // normalised coordinates scale by the square's side in both directions.
    const side = Math.max(region.width, region.height);
    rect = { x: region.x, y: region.y, width: side, height: side };
  } else if (spec.resize === 'fit') {
    // Scale to fit width x height keeping the aspect, then pad at the bottom/right to the model's
    // stride: a 16:9 camera feeds 640x384 instead of a 640x640 square that is 40 % black.
    const f = Math.min(spec.width / region.width, spec.height / region.height);
    const m = spec.sizeMultiple ?? 1;
    outW = Math.max(m, Math.ceil((region.width * f) / m) * m);
    outH = Math.max(m, Math.ceil((region.height * f) / m) * m);
    rect = { x: region.x, y: region.y, width: outW / f, height: outH / f };
  } else {
    rect = region;
  }
  const mapping: InputMapping = { scaleX: rect.width, scaleY: rect.height, offsetX: rect.x, offsetY: rect.y };
  const [src, srcRect] = detectorSource(frame, rect, outW, outH);
  // Already at the input's scale from its origin (the detector copy, or a camera at the input's size):
  // the pixels go straight into the tensor, what lies past them is black. Otherwise resample.
  const exact =
    srcRect.x === 0 &&
    srcRect.y === 0 &&
    Math.abs(srcRect.width - outW) < 1e-6 &&
    Math.abs(srcRect.height - outH) < 1e-6;
  if (exact && planarApplies(spec)) {
    return { tensor: planarTensor(src, spec, outW, outH, reuse), mapping };
  }
  // A 2x shrink from a whole-pixel origin (a 1920 px photo, or a frame without the detector copy, to
  // 960 px): one pass from the frame's bytes to the tensor, the same values as the two steps below.
  const halving =
    srcRect.width === 2 * outW &&
    srcRect.height === 2 * outH &&
    Number.isInteger(srcRect.x) &&
    Number.isInteger(srcRect.y) &&
    srcRect.x >= 0 &&
    srcRect.y >= 0 &&
    (spec.resizeKernel ?? 'half-pixel') === 'half-pixel';
  if (halving && planarApplies(spec) && src.channels === 3) {
    return { tensor: halvedPlanarTensor(src, spec, srcRect.x, srcRect.y, outW, outH, reuse), mapping };
  }
  const mat = cropResize(src, srcRect, outW, outH, spec.resizeKernel);
  const tensor = planarApplies(spec)
    ? planarTensor(mat, spec, mat.cols, mat.rows, reuse)
    : rastersToTensor([mat], spec);
  return { tensor, mapping };
}

/**
 * The box a capture should scale its detector copy into for this input: the input's own size when the
 * frame is scaled into it keeping the aspect ('fit', 'letterbox'); none for a stretched input.
 */
export function detectorCopyBox(spec: InputSpec): { width: number; height: number } | undefined {
  return spec.resize === 'fit' || spec.resize === 'letterbox' ? { width: spec.width, height: spec.height } : undefined;
}

/**
 * The capture's detector-sized copy of the frame (scaled by FFmpeg) when it has at least the resolution
 * the input needs: resampling the 1080p frame here would cost more than the detector itself on a small
 * CPU. Otherwise (no copy, a region of interest, a detector swapped for a bigger one) the frame.
 */
function detectorSource(frame: Frame, rect: Rect, outW: number, outH: number): [Raster, Rect] {
  const copy = frame.detectorCopy;
  if (copy && copy.width < frame.width) {
    const kx = copy.width / frame.width;
    const ky = copy.height / frame.height;
    if (outW / rect.width <= kx * (1 + 1e-9) && outH / rect.height <= ky * (1 + 1e-9)) {
      return [
        frameToRaster(copy),
        { x: rect.x * kx, y: rect.y * ky, width: rect.width * kx, height: rect.height * ky },
      ];
    }
  }
  return [frameToRaster(frame), rect];
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
export function cropFace(
  frame: Frame | Raster,
  rect: Rect,
  outW: number,
  outH: number,
  eyes?: { left: Point; right: Point },
  kernel?: ResizeKernel,
): Raster {
  if (!eyes) return cropResize(frame, rect, outW, outH, kernel);
  const src = 'cols' in frame ? frame : frameToRaster(frame);
  const angle = (Math.atan2(eyes.right.y - eyes.left.y, eyes.right.x - eyes.left.x) * 180) / Math.PI;
  const cx = rect.x + rect.width / 2;
  const cy = rect.y + rect.height / 2;
  const rot = rotationMatrix(cx, cy, angle, outW / rect.width);
  // Shift so the crop centre lands in the output centre.
  rot[2] += outW / 2 - cx;
  rot[5] += outH / 2 - cy;
  return warpAffine(src, invertAffine(rot), outW, outH);
}

export function hflip(crop: Raster): Raster {
  return flipHorizontal(crop);
}

export { frameToRaster };
