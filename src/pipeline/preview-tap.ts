// The seam between a camera pipeline and the optional live preview. The pipeline asks before each
// frame whether a preview is wanted (preview enabled, someone watching, rate not exceeded) and only
// then copies a small downscaled image, before the frame goes to the inference worker (which takes
// ownership of its buffer). With the preview off, no image ever leaves the analysis path.
import type { Frame, Rect } from '../vision/image.js';

export interface PreviewFace {
  /** In preview pixels. */
  box: Rect;
  label: string;
  score: number;
}

export interface PreviewSnapshot {
  cameraId: string;
  /** Capture time of the frame (ms since the epoch). */
  capturedAtMs: number;
  width: number;
  height: number;
  /** RGB24, row-major: width * height * 3 bytes. Memory only: never written anywhere. */
  rgb: Buffer;
  faces: PreviewFace[];
}

export interface PreviewTap {
  /** True when a preview of this camera's next frame is wanted now. Cheap: called for every frame. */
  wants(cameraId: string): boolean;
  /** Target width of the preview image. */
  readonly width: number;
  publish(snapshot: PreviewSnapshot): void;
}

/** Nearest-neighbour downscale of a BGR frame to RGB at `width` (never upscaled). */
export function downscaleToRgb(
  frame: Frame,
  width: number,
): { rgb: Buffer; width: number; height: number; scale: number } {
  const w = Math.max(1, Math.min(width, frame.width));
  const scale = w / frame.width;
  const h = Math.max(1, Math.round(frame.height * scale));
  const rgb = Buffer.allocUnsafe(w * h * 3);
  const src = frame.data;
  for (let y = 0; y < h; y++) {
    const sy = Math.min(frame.height - 1, Math.floor(y / scale));
    const row = sy * frame.width * 3;
    for (let x = 0; x < w; x++) {
      const s = row + Math.min(frame.width - 1, Math.floor(x / scale)) * 3;
      const d = (y * w + x) * 3;
      rgb[d] = src[s + 2]!;
      rgb[d + 1] = src[s + 1]!;
      rgb[d + 2] = src[s]!;
    }
  }
  return { rgb, width: w, height: h, scale };
}
