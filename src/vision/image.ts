// Frames are plain BGR24 buffers (OpenCV's and FFmpeg's native order), so capture can hand raw
// FFmpeg output straight to analysis without a conversion, and nothing holds a native Mat for long.
import { existsSync } from 'node:fs';
import { cv, type Mat } from './opencv.js';
import { warpAffine, type Raster } from './raster.js';

export type { Raster } from './raster.js';

export interface Frame {
  /** BGR24, row-major, no row padding: length = width * height * 3. */
  data: Buffer;
  width: number;
  height: number;
  /**
   * The same picture scaled down for the detector (by FFmpeg, in the capture), when the capture made
   * one: the detector reads it instead of resampling the full frame; faces are still cut from the full
   * frame.
   */
  detectorCopy?: Frame;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

function checkFrame(frame: Frame): void {
  if (frame.data.length !== frame.width * frame.height * 3) {
    throw new Error(`frame buffer is ${frame.data.length} bytes, expected ${frame.width}x${frame.height}x3`);
  }
}

/** The frame as a raster: the same bytes, no copy. */
export function frameToRaster(frame: Frame): Raster {
  checkFrame(frame);
  return { data: frame.data, cols: frame.width, rows: frame.height, channels: 3 };
}

/** An OpenCV Mat (files, drawing, tests) as a raster: 8-bit gray or BGR. */
export function matToRaster(mat: Mat): Raster {
  const m = mat.channels === 4 ? mat.cvtColor(cv.COLOR_BGRA2BGR) : mat;
  if (m.channels !== 1 && m.channels !== 3) throw new Error(`matToRaster: ${m.channels} channels`);
  return { data: m.getData(), cols: m.cols, rows: m.rows, channels: m.channels };
}

export function rasterToMat(r: Raster): Mat {
  return new cv.Mat(
    Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength),
    r.rows,
    r.cols,
    r.channels === 1 ? cv.CV_8UC1 : cv.CV_8UC3,
  );
}

/** Copies the frame into an OpenCV Mat (annotation, files; not used by the analysis path). */
export function frameToMat(frame: Frame): Mat {
  checkFrame(frame);
  return new cv.Mat(frame.data, frame.height, frame.width, cv.CV_8UC3);
}

export function matToFrame(mat: Mat): Frame {
  let m = mat;
  if (m.channels === 1) m = m.cvtColor(cv.COLOR_GRAY2BGR);
  else if (m.channels === 4) m = m.cvtColor(cv.COLOR_BGRA2BGR);
  const frame = { data: m.getData(), width: m.cols, height: m.rows };
  if (m !== mat) m.release();
  return frame;
}

/** The frame of a Mat this module made, whose pixels are then freed at once (V8 does not see them). */
export function takeFrame(mat: Mat): Frame {
  try {
    return matToFrame(mat);
  } finally {
    mat.release();
  }
}

/** Reads an image file (JPEG, PNG, BMP, WebP...) into a BGR frame; errors name the file. */
export function readImage(path: string): Frame {
  if (!existsSync(path)) throw new Error(`image not found: ${path}`);
  let mat: Mat;
  try {
    mat = cv.imread(path, cv.IMREAD_COLOR);
  } catch {
    // OpenCV throws a bare string here; what it says adds nothing for the user.
    throw new Error(`cannot decode image ${path} (not an image or corrupt)`);
  }
  if (mat.empty || mat.cols === 0) throw new Error(`cannot decode image ${path} (not an image or corrupt)`);
  return takeFrame(mat);
}

/** Decodes image bytes (e.g. a JPEG in memory). */
export function decodeImage(bytes: Buffer, what = 'image'): Frame {
  let mat: Mat;
  try {
    mat = cv.imdecode(bytes, cv.IMREAD_COLOR);
  } catch {
    throw new Error(`cannot decode ${what} (not an image or corrupt)`);
  }
  if (mat.empty || mat.cols === 0) throw new Error(`cannot decode ${what}`);
  return takeFrame(mat);
}

export function writeImage(path: string, frame: Frame): void {
  const mat = frameToMat(frame);
  try {
    cv.imwrite(path, mat);
  } finally {
    mat.release();
  }
}

/**
 * How source pixels are sampled when resizing. 'half-pixel' is OpenCV's and modern TF's bilinear
 * (pixel centres at +0.5); 'tf-legacy' is TF1/TFJS resizeBilinear without half-pixel centres, which
 * models converted from TFJS saw in training and in their reference implementation.
 */
export type ResizeKernel = 'half-pixel' | 'tf-legacy';

/**
 * Crops `rect` (which may extend past the frame: the outside reads as black, which keeps a face at
 * the border centred in its crop) and resizes it to outW x outH with bilinear sampling, in one
 * affine warp: no intermediate copy of the region.
 */
export function cropResize(
  frame: Frame | Raster,
  rect: Rect,
  outW: number,
  outH: number,
  kernel: ResizeKernel = 'half-pixel',
): Raster {
  const src = 'cols' in frame ? frame : frameToRaster(frame);
  const sx = rect.width / outW;
  const sy = rect.height / outH;
  // Inverse map: src = dst * s + t. Half-pixel centres: src = (dst + 0.5) * s - 0.5.
  const tx = kernel === 'half-pixel' ? rect.x + 0.5 * sx - 0.5 : rect.x;
  const ty = kernel === 'half-pixel' ? rect.y + 0.5 * sy - 0.5 : rect.y;
  return warpAffine(src, [sx, 0, tx, 0, sy, ty], outW, outH);
}
