// Frames are plain BGR24 buffers (OpenCV's and FFmpeg's native order), so capture can hand raw
// FFmpeg output straight to analysis without a conversion, and nothing holds a native Mat for long.
import { existsSync } from 'node:fs';
import { cv, type Mat } from './opencv.js';

export interface Frame {
  /** BGR24, row-major, no row padding: length = width * height * 3. */
  data: Buffer;
  width: number;
  height: number;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export function frameToMat(frame: Frame): Mat {
  if (frame.data.length !== frame.width * frame.height * 3) {
    throw new Error(`frame buffer is ${frame.data.length} bytes, expected ${frame.width}x${frame.height}x3`);
  }
  return new cv.Mat(frame.data, frame.height, frame.width, cv.CV_8UC3);
}

export function matToFrame(mat: Mat): Frame {
  let m = mat;
  if (m.channels === 1) m = m.cvtColor(cv.COLOR_GRAY2BGR);
  else if (m.channels === 4) m = m.cvtColor(cv.COLOR_BGRA2BGR);
  return { data: m.getData(), width: m.cols, height: m.rows };
}

/** Reads an image file (JPEG, PNG, BMP, WebP...) into a BGR frame; errors name the file. */
export function readImage(path: string): Frame {
  if (!existsSync(path)) throw new Error(`image not found: ${path}`);
  let mat: Mat;
  try {
    mat = cv.imread(path, cv.IMREAD_COLOR);
  } catch (err) {
    throw new Error(`cannot read image ${path}: ${(err as Error).message}`);
  }
  if (mat.empty || mat.cols === 0) throw new Error(`cannot decode image ${path} (not an image or corrupt)`);
  return matToFrame(mat);
}

/** Decodes image bytes (e.g. a JPEG in memory). */
export function decodeImage(bytes: Buffer, what = 'image'): Frame {
  let mat: Mat;
  try {
    mat = cv.imdecode(bytes, cv.IMREAD_COLOR);
  } catch (err) {
    throw new Error(`cannot decode ${what}: ${(err as Error).message}`);
  }
  if (mat.empty || mat.cols === 0) throw new Error(`cannot decode ${what}`);
  return matToFrame(mat);
}

export function writeImage(path: string, frame: Frame): void {
  cv.imwrite(path, frameToMat(frame));
}

/**
 * Crops `rect` (may extend past the frame: the outside is filled with black, which keeps a face at
 * the border centred in its crop instead of shifting it) and resizes it to outW x outH.
 */
export function cropResize(frame: Frame, rect: Rect, outW: number, outH: number, src: Mat = frameToMat(frame)): Mat {
  const x0 = Math.round(rect.x);
  const y0 = Math.round(rect.y);
  const w = Math.max(1, Math.round(rect.width));
  const h = Math.max(1, Math.round(rect.height));
  const ix0 = Math.max(0, x0);
  const iy0 = Math.max(0, y0);
  const ix1 = Math.min(frame.width, x0 + w);
  const iy1 = Math.min(frame.height, y0 + h);
  let crop: Mat;
  if (ix1 <= ix0 || iy1 <= iy0) {
    crop = new cv.Mat(h, w, cv.CV_8UC3, [0, 0, 0]);
  } else {
    crop = src.getRegion(new cv.Rect(ix0, iy0, ix1 - ix0, iy1 - iy0));
    if (ix0 !== x0 || iy0 !== y0 || ix1 !== x0 + w || iy1 !== y0 + h) {
      crop = crop.copyMakeBorder(iy0 - y0, y0 + h - iy1, ix0 - x0, x0 + w - ix1, cv.BORDER_CONSTANT, new cv.Vec3(0, 0, 0));
    }
  }
  return crop.resize(outH, outW, 0, 0, cv.INTER_LINEAR);
}
