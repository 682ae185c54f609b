// YuNet decoding: the prior-grid arithmetic on hand-built outputs, then the real model (ONNX Runtime,
// real photos face-api ships) against boxes and eye positions measured by hand on the photos, and
// against the SSD detector (another model and another decoder) on every sample photo.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FaceDetector, type Face } from '../../src/vision/detector.js';
import { readImage, type Frame } from '../../src/vision/image.js';
import { iou } from '../../src/vision/nms.js';
import { decodeYunetHead } from '../../src/vision/yunet.js';
import { MODELS, sample } from '../helpers/paths.js';

describe('decodeYunetHead', () => {
  // A 32x16 input at stride 8: a 4x2 grid, 8 priors, row-major.
  const n = 8;
  const outputs = (): { cls: Float32Array; obj: Float32Array; bbox: Float32Array; kps: Float32Array } => ({
    cls: new Float32Array(n),
    obj: new Float32Array(n),
    bbox: new Float32Array(4 * n),
    kps: new Float32Array(10 * n),
  });

  it('places the box and landmarks from the cell, the offsets and the stride', () => {
    const o = outputs();
    const i = 6; // column 2, row 1
    o.cls[i] = 0.81;
    o.obj[i] = 1;
    o.bbox.set([0.5, 0.25, Math.log(2), Math.log(3)], 4 * i);
    o.kps.set([0, 0, 1, 0, 0.5, 0.5, -0.25, 1, 1.25, 1], 10 * i);
    const [c, ...rest] = decodeYunetHead({ stride: 8 }, o, 32, 16, 0.5);
    expect(rest).toHaveLength(0);
    // centre ((2 + 0.5) * 8, (1 + 0.25) * 8) = (20, 10); size (2 * 8, 3 * 8) = (16, 24)
    expect(c!.x0).toBeCloseTo(12, 5);
    expect(c!.y0).toBeCloseTo(-2, 5);
    expect(c!.x1).toBeCloseTo(28, 5);
    expect(c!.y1).toBeCloseTo(22, 5);
    expect(c!.score).toBeCloseTo(0.9, 6); // sqrt(0.81 * 1)
    expect(c!.points).toEqual([16, 8, 24, 8, 20, 12, 14, 16, 26, 16]);
  });

  it('scores sqrt(cls * obj), clamps both to [0, 1] and drops NaN and priors under the threshold', () => {
    const o = outputs();
    o.cls.set([0.25, 1.2, NaN, 0.5]);
    o.obj.set([1, 0.64, 1, 0.49]);
    const got = decodeYunetHead({ stride: 8 }, o, 32, 16, 0.5).map((c) => c.score);
    // 0.25*1 -> 0.5 (kept, at the threshold); 1.2 clamps to 1 -> 0.8; NaN dropped; 0.245 -> 0.495 dropped
    expect(got.map((s) => Number(s.toFixed(6)))).toEqual([0.5, 0.8]);
  });

  it('refuses outputs that do not match the grid of the input, naming the stride', () => {
    expect(() => decodeYunetHead({ stride: 16 }, outputs(), 32, 16, 0.5)).toThrow(
      /stride 16: outputs have 8 priors, expected 2x1 = 2 for a 32x16 input/,
    );
  });
});

const eyeDistance = (f: Face): number =>
  Math.hypot(f.landmarks!.rightEye!.x - f.landmarks!.leftEye!.x, f.landmarks!.rightEye!.y - f.landmarks!.leftEye!.y);

function nearest(faces: Face[], x: number, y: number): Face {
  return faces.reduce((a, b) =>
    Math.hypot(b.box.x + b.box.width / 2 - x, b.box.y + b.box.height / 2 - y) <
    Math.hypot(a.box.x + a.box.width / 2 - x, a.box.y + a.box.height / 2 - y)
      ? b
      : a,
  );
}

describe.each(['face-yunet-fp32'])('%s on real photos', (bundle) => {
  let det: FaceDetector;
  let ssd: FaceDetector;
  beforeAll(async () => {
    det = await FaceDetector.load(join(MODELS, bundle), { threads: 1 });
    ssd = await FaceDetector.load(join(MODELS, 'face-ssd-fp32'), { threads: 1 });
  });

  // Measured by hand on the photos at 2x zoom with a pixel grid (pupil centres; the box spans the
  // visible face from the brows/forehead to the chin): [photo, centre of the face, left eye, right eye,
  // face extent x0, y0, x1, y1]. "Left" is the image's left.
  const HAND: [number, [number, number], [number, number], [number, number], [number, number, number, number]][] = [
    [1, [505, 470], [442, 452], [512, 460], [410, 350, 600, 600]],
    [3, [1180, 350], [1116, 319], [1220, 339], [1062, 200, 1305, 520]],
  ];

  it.each(HAND)(
    'finds the face in sample%i and puts its eyes on the pupils',
    async (photo, [cx, cy], left, right, [x0, y0, x1, y1]) => {
      const faces = await det.detect(readImage(sample(photo)));
      const f = nearest(faces, cx, cy);
      expect(iou(f.box, { x: x0, y: y0, width: x1 - x0, height: y1 - y0 })).toBeGreaterThan(0.6);
      const iod = Math.hypot(right[0] - left[0], right[1] - left[1]);
      // Within a quarter of the eye distance: on the eye, and never on the other eye or the brow.
      expect(Math.hypot(f.landmarks!.leftEye!.x - left[0], f.landmarks!.leftEye!.y - left[1])).toBeLessThan(0.25 * iod);
      expect(Math.hypot(f.landmarks!.rightEye!.x - right[0], f.landmarks!.rightEye!.y - right[1])).toBeLessThan(
        0.25 * iod,
      );
    },
  );

  it.each([1, 2, 3, 4, 5, 6])(
    'agrees with SSD (another model and decoder) on the faces of sample%i, landmarks in place',
    async (photo) => {
      const frame = readImage(sample(photo));
      const faces = await det.detect(frame);
      const ref = await ssd.detect(frame);
      expect(faces).toHaveLength(ref.length);
      for (const r of ref) {
        const f = faces.reduce((a, b) => (iou(b.box, r.box) > iou(a.box, r.box) ? b : a));
        expect(iou(f.box, r.box)).toBeGreaterThan(0.5);
        const { leftEye, rightEye, noseTip, mouthLeft, mouthRight } = f.landmarks!;
        // Upright faces: eyes side by side in the upper half, nose between them and the mouth below.
        expect(leftEye!.x).toBeLessThan(rightEye!.x);
        expect(mouthLeft!.x).toBeLessThan(mouthRight!.x);
        expect(Math.max(leftEye!.y, rightEye!.y)).toBeLessThan(f.box.y + 0.6 * f.box.height);
        expect(noseTip!.y).toBeGreaterThan(Math.min(leftEye!.y, rightEye!.y));
        expect(Math.min(mouthLeft!.y, mouthRight!.y)).toBeGreaterThan(noseTip!.y - 0.1 * eyeDistance(f));
      }
    },
  );

  it('mirrors its boxes and landmarks on a mirrored photo', async () => {
    const frame = readImage(sample(4));
    const flipped: Frame = { ...frame, data: Buffer.alloc(frame.data.length) };
    for (let y = 0; y < frame.height; y++) {
      for (let x = 0; x < frame.width; x++)
        frame.data.copy(
          flipped.data,
          (y * frame.width + frame.width - 1 - x) * 3,
          (y * frame.width + x) * 3,
          (y * frame.width + x) * 3 + 3,
        );
    }
    const a = await det.detect(frame);
    const b = await det.detect(flipped);
    expect(b).toHaveLength(a.length);
    for (const f of a) {
      const m = { x: frame.width - f.box.x - f.box.width, y: f.box.y, width: f.box.width, height: f.box.height };
      const g = b.reduce((p, q) => (iou(q.box, m) > iou(p.box, m) ? q : p));
      expect(iou(g.box, m)).toBeGreaterThan(0.85);
      // The image's left eye of the mirror is the mirror of the right eye (YuNet is not exactly
      // mirror-symmetric: a landmark moves by up to ~0.2 eye distances).
      expect(Math.abs(g.landmarks!.leftEye!.x - (frame.width - f.landmarks!.rightEye!.x))).toBeLessThan(
        0.25 * eyeDistance(f),
      );
    }
  });

  it('finds nothing in a blank frame', async () => {
    expect(await det.detect({ data: Buffer.alloc(640 * 480 * 3, 128), width: 640, height: 480 })).toEqual([]);
  });
});
