// The quality gate: faces that are too small, too blurred or turned too far are still detected,
// tracked and counted as people, but not classified: an expression model guesses on them (downcast
// eyes read as "sad"), and a guess averaged into a person's emotion is worse than no reading.
import type { Face } from './detector.js';
import { headPose, landmarksOf, type HeadPose } from './head-pose.js';
import type { Rect } from './image.js';
import { laplacianVariance, region, resizeArea, toGray, type Raster } from './raster.js';
import type { QualityOptions, SkipReason } from './quality-options.js';

export { DEFAULT_QUALITY, type QualityOptions, type SkipReason } from './quality-options.js';

/**
 * Sharpness: variance of the Laplacian of the face box, resized to 64x64 gray first so that the figure
 * does not depend on the face's size in the frame. Sharp faces score in the hundreds, a face blurred
 * by motion or focus in the tens or below (docs/config.md, quality.minSharpness).
 */
export function sharpness(src: Raster, box: Rect): number {
  const x = Math.max(0, Math.floor(box.x));
  const y = Math.max(0, Math.floor(box.y));
  const w = Math.min(src.cols - x, Math.ceil(box.width));
  const h = Math.min(src.rows - y, Math.ceil(box.height));
  if (w < 2 || h < 2) return 0;
  // Gray before the resize: a third of the work, and the same figure within rounding.
  return laplacianVariance(resizeArea(toGray(region(src, x, y, w, h)), 64, 64));
}

export interface GateResult {
  pose?: HeadPose;
  sharpness?: number;
  /** Why the face is not classified; undefined when it is. */
  skip?: SkipReason;
}

/** Checks one face; the cheap tests first, sharpness (a crop and a filter) only when they pass. */
export function gateFace(src: Raster, face: Face, opts: QualityOptions): GateResult {
  const marks = landmarksOf(face.landmarks);
  const pose = marks ? headPose(marks) : undefined;
  const out: GateResult = pose ? { pose } : {};
  if (face.box.height < opts.minFaceSize) return { ...out, skip: 'small' };
  if (pose && (Math.abs(pose.yaw) > opts.maxYawDeg || Math.abs(pose.pitch) > opts.maxPitchDeg))
    return { ...out, skip: 'turned' };
  if (opts.minSharpness > 0) {
    const s = sharpness(src, face.box);
    if (s < opts.minSharpness) return { ...out, sharpness: s, skip: 'blurred' };
    return { ...out, sharpness: s };
  }
  return out;
}
