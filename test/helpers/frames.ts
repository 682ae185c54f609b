// A photo decoded by FFmpeg into a raw BGR frame of the given size (what a capture would deliver).
import { execFileSync } from 'node:child_process';

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
