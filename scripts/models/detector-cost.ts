// A face detector's cost per camera frame as the daemon pays it: `detect()` (tensor, inference, decoding,
// NMS) on the detector-sized copy that FFmpeg delivers with each frame, beside the same on the full frame
// (resampled in TypeScript, as for photos). 1 thread, median of 3 passes over 20 real frames.
//   npx tsx scripts/models/detector-cost.ts [--clip path] <bundle dir>…
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { probeVideo, readFrames } from '../../src/capture/ffmpeg.js';
import type { Frame } from '../../src/vision/image.js';
import { FaceDetector } from '../../src/vision/detector.js';
import { detectorCopyBox } from '../../src/vision/preprocess.js';
import { PACKAGE_ROOT } from '../../src/models/defaults.js';

const { values, positionals } = parseArgs({
  options: { clip: { type: 'string' } },
  allowPositionals: true,
});
if (positionals.length === 0) throw new Error('usage: detector-cost.ts [--clip path] <bundle dir>…');
const clip = values.clip ?? join(PACKAGE_ROOT, '..', 'shared', 'data', 'videos', 'crowd-walking-1080p.mp4');
const info = await probeVideo(clip);

async function median(d: FaceDetector, frames: Frame[]): Promise<number> {
  for (const f of frames.slice(0, 3)) await d.detect(f); // warm-up
  const t: number[] = [];
  for (let pass = 0; pass < 3; pass++)
    for (const f of frames) {
      const t0 = performance.now();
      await d.detect(f);
      t.push(performance.now() - t0);
    }
  t.sort((a, b) => a - b);
  return t[t.length >> 1]!;
}

console.log(`${clip.split('/').pop()} (${info.width}x${info.height}), 1 thread, median ms per frame`);
for (const dir of positionals) {
  const d = await FaceDetector.load(dir, { threads: 1 });
  const box = detectorCopyBox(d.bundle.manifest.input);
  const copies: Frame[] = [];
  for await (const f of readFrames(clip, info, { fps: 5, maxFrames: 20, ...(box ? { detectorCopy: box } : {}) }))
    copies.push(f);
  const full = copies.map(({ detectorCopy: _, ...f }) => f);
  const copy = copies[0]?.detectorCopy;
  console.log(
    `${dir.padEnd(28)} with FFmpeg's copy${copy ? ` (${copy.width}x${copy.height})` : ' (none)'}: ${(await median(d, copies)).toFixed(1)} ms   from the full frame: ${(await median(d, full)).toFixed(1)} ms`,
  );
  await d.release();
}
process.exit(0);
