// The shipped face detector on real photos (the sample photos @vladmandic/face-api ships), through
// the real OpenCV preprocessing and ONNX Runtime.
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultBundleDir } from '../../src/models/defaults.js';
import { FaceDetector } from '../../src/vision/detector.js';
import { readImage } from '../../src/vision/image.js';
import { sample } from '../helpers/paths.js';

// Faces a person counts in each photo (all frontal-ish, 150-300 px high at 1920 px wide).
const EXPECTED = [3, 3, 3, 4, 5, 4];

describe('FaceDetector (default bundle)', () => {
  let det: FaceDetector;
  beforeAll(async () => {
    det = await FaceDetector.load(defaultBundleDir('face-detector'), { threads: 1 });
  });

  it.each(EXPECTED.map((n, i) => [i + 1, n]))('finds the %i faces of sample%i', async (i, n) => {
    const frame = readImage(sample(i));
    const faces = await det.detect(frame);
    expect(faces).toHaveLength(n);
    for (const f of faces) {
      expect(f.score).toBeGreaterThanOrEqual(det.scoreThreshold);
      expect(f.box.height).toBeGreaterThan(120);
      expect(f.box.height).toBeLessThan(400);
      expect(f.box.x).toBeGreaterThanOrEqual(0);
      expect(f.box.x + f.box.width).toBeLessThanOrEqual(frame.width);
    }
  });

  it('finds the laughing woman on the right of sample1 where she is', async () => {
    const faces = await det.detect(readImage(sample(1)));
    const right = faces.reduce((a, b) => (b.box.x > a.box.x ? b : a));
    // Hand-measured face box in the 1920x1280 photo: about x 1470-1680, y 200-440.
    expect(right.box.x).toBeGreaterThan(1420);
    expect(right.box.x + right.box.width).toBeLessThan(1730);
    expect(right.box.y).toBeGreaterThan(150);
    expect(right.box.y + right.box.height).toBeLessThan(500);
  });

  it('drops faces below the minimum size and keeps the rest', async () => {
    const small = await FaceDetector.load(defaultBundleDir('face-detector'), { threads: 1 }, { minFaceSize: 300 });
    const faces = await small.detect(readImage(sample(6)));
    // Heights in sample6 are about 307, 296, 291 and 280 px: only the first is kept.
    expect(faces).toHaveLength(1);
    expect(faces[0]!.box.height).toBeGreaterThanOrEqual(300);
  });

  it('maps detections inside a region of interest back to frame pixels', async () => {
    const frame = readImage(sample(1));
    const roi = { x: 1200, y: 0, width: 720, height: 800 };
    const faces = await det.detect(frame, roi);
    expect(faces).toHaveLength(1);
    expect(faces[0]!.box.x).toBeGreaterThan(1420);
  });

  it('gives the same faces when one detector takes photos of different heights in turn (its input buffer is reused)', async () => {
    // sample1 is 1920x1280 (input 960x640), sample2 1920x1367 (960x704): the detector keeps the larger
    // buffer and feeds the smaller input through a view of its start.
    const photos = [1, 2, 1, 2].map((i) => readImage(sample(i)));
    const shared = await FaceDetector.load(defaultBundleDir('face-detector'), { threads: 1 });
    const inTurn = [];
    for (const p of photos) inTurn.push(await shared.detect(p));
    for (const [k, p] of photos.entries()) {
      const fresh = await FaceDetector.load(defaultBundleDir('face-detector'), { threads: 1 });
      expect(inTurn[k]).toEqual(await fresh.detect(p));
    }
    expect(inTurn[0]).toHaveLength(EXPECTED[0]!);
    expect(inTurn[1]).toHaveLength(EXPECTED[1]!);
  });

  it('finds nothing in a blank frame', async () => {
    const frame = { data: Buffer.alloc(640 * 480 * 3, 128), width: 640, height: 480 };
    expect(await det.detect(frame)).toEqual([]);
  });
});
