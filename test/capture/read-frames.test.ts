// readFrames (the `analyze` command's decoder) on real video through a real FFmpeg: with the detector
// copy, each frame comes with FFmpeg's area-scaled copy of the same picture, and the detector finds
// the same faces from the copy as from the full frame.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copySize, probeVideo, readFrames, type TimedFrame } from '../../src/capture/ffmpeg.js';
import { Analyzer } from '../../src/inference/analyzer.js';
import { analyzeFrame } from '../../src/inference/frame-analysis.js';
import { iou } from '../../src/vision/nms.js';
import { detectorCopyBox } from '../../src/vision/preprocess.js';
import { halfScaleError } from '../helpers/frames.js';
import { ROOT, SHARED, hasShared } from '../helpers/paths.js';

const DEMO = join(ROOT, 'var', 'demo', 'demo.mp4'); // 1280x720, 10 fps, 18 s
const CROWD = join(SHARED, 'videos', 'crowd-walking-1080p.mp4');

async function collect(source: string, opts: Parameters<typeof readFrames>[2]): Promise<TimedFrame[]> {
  const out: TimedFrame[] = [];
  for await (const f of readFrames(source, await probeVideo(source), opts)) out.push(f);
  return out;
}

describe('copySize', () => {
  it('keeps the aspect, rounds up so the copy has at least the asked scale, and never enlarges', () => {
    expect(copySize(1920, 1080, { width: 640, height: 640 })).toEqual({ width: 640, height: 360 });
    expect(copySize(1280, 720, { width: 640, height: 640 })).toEqual({ width: 640, height: 360 });
    // 1366 x 768 at 640/1366: 359.8 rows, rounded up to 360.
    expect(copySize(1366, 768, { width: 640, height: 640 })).toEqual({ width: 640, height: 360 });
    expect(copySize(480, 1280, { width: 640, height: 640 })).toEqual({ width: 240, height: 640 });
    expect(copySize(596, 336, { width: 640, height: 640 })).toBeUndefined();
    expect(copySize(640, 360, { width: 640, height: 640 })).toBeUndefined();
  });
});

describe('readFrames with a detector copy (real FFmpeg)', () => {
  it('pairs each frame with an area-scaled copy of the same picture, the same frames as without it', async () => {
    const plain = await collect(DEMO, { fps: 5, maxFrames: 6 });
    const paired = await collect(DEMO, { fps: 5, maxFrames: 6, detectorCopy: { width: 640, height: 640 } });
    expect(paired.map((f) => [f.index, f.timeMs, f.width, f.height])).toEqual(
      plain.map((f) => [f.index, f.timeMs, f.width, f.height]),
    );
    for (const [i, f] of paired.entries()) {
      expect(f.data.equals(plain[i]!.data)).toBe(true);
      const c = f.detectorCopy!;
      expect([c.width, c.height, c.data.length]).toEqual([640, 360, 640 * 360 * 3]);
      // The demo clip moves: a copy of another frame would be far off.
      expect(halfScaleError(f)).toBeLessThan(4);
    }
  }, 60_000);

  it('reads every frame of a clip to its end when the consumer is slow (both pipes paused, no deadlock)', async () => {
    const out: number[] = [];
    const info = await probeVideo(DEMO);
    for await (const f of readFrames(DEMO, info, { fps: 2, detectorCopy: { width: 320, height: 320 } })) {
      expect(f.detectorCopy?.width).toBe(320);
      out.push(f.index);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(out).toEqual([...Array(out.length).keys()]);
    expect(out.length).toBeGreaterThanOrEqual(Math.floor(info.durationS! * 2) - 1);
  }, 60_000);

  it('sends no copy when the frame already fits the box', async () => {
    const [f] = await collect(DEMO, {
      maxFrames: 1,
      width: 320,
      height: 180,
      detectorCopy: { width: 640, height: 640 },
    });
    expect([f!.width, f!.height, f!.detectorCopy]).toEqual([320, 180, undefined]);
  });
});

describe.skipIf(!hasShared)('the detector on the copy of a real 1080p clip', () => {
  let analyzer: Analyzer;
  beforeAll(async () => {
    analyzer = await Analyzer.load({ threads: 1 });
  });
  afterAll(async () => {
    await analyzer?.detector.release();
    await analyzer?.classifier.release();
  });

  it('finds the same faces as on the full frame', async () => {
    const box = detectorCopyBox(analyzer.detector.bundle.manifest.input)!;
    const plain = await collect(CROWD, { fps: 2, maxFrames: 3 });
    const paired = await collect(CROWD, { fps: 2, maxFrames: 3, detectorCopy: box });
    let faces = 0;
    for (const [i, f] of paired.entries()) {
      expect(f.detectorCopy!.width).toBeLessThan(f.width);
      const a = (await analyzeFrame(analyzer, plain[i]!, undefined, 0)).faces;
      const b = (await analyzeFrame(analyzer, f, undefined, 0)).faces;
      expect(b.length).toBe(a.length);
      for (const face of a) expect(Math.max(...b.map((o) => iou(o.box, face.box)))).toBeGreaterThan(0.9);
      faces += a.length;
    }
    expect(faces).toBeGreaterThan(0);
  }, 120_000);
});
