// A photo decoded by FFmpeg into a raw BGR frame of the given size (what a capture would deliver).
import { execFileSync } from 'node:child_process';
import type { Frame } from '../../src/vision/image.js';

export function decodeFrame(
  path: string,
  width: number,
  height: number,
): { data: Buffer; width: number; height: number } {
  const data = execFileSync(
    'ffmpeg',
    ['-v', 'error', '-i', path, '-vf', `scale=${width}:${height}`, '-f', 'rawvideo', '-pix_fmt', 'bgr24', '-'],
    { maxBuffer: 1 << 26 },
  );
  return { data, width, height };
}

/**
 * Mean |copy pixel - mean of its 2x2 block in the frame| on a grid of samples: small when the frame's
 * detector copy is the same picture at half size.
 */
export function halfScaleError(f: Frame): number {
  const c = f.detectorCopy!;
  let err = 0;
  let n = 0;
  for (let y = 0; y < c.height; y += 9) {
    for (let x = 0; x < c.width; x += 7) {
      for (let k = 0; k < 3; k++) {
        const at = (yy: number, xx: number): number => f.data[(yy * f.width + xx) * 3 + k]!;
        const mean = (at(2 * y, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x) + at(2 * y + 1, 2 * x + 1)) / 4;
        err += Math.abs(c.data[(y * c.width + x) * 3 + k]! - mean);
        n++;
      }
    }
  }
  return err / n;
}
