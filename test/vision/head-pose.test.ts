// Head pose and attention on real faces: YuNet's landmarks on the photos face-api ships, their mirror
// images, and a real clip through FFmpeg, detection, the quality gate and the tracker.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Analyzer } from '../../src/inference/analyzer.js';
import { probeVideo, readFrames } from '../../src/capture/ffmpeg.js';
import { analyzeFrame } from '../../src/inference/frame-analysis.js';
import { DEFAULT_ATTENTION, isLooking } from '../../src/vision/attention.js';
import { FaceDetector } from '../../src/vision/detector.js';
import { headPose, landmarksOf } from '../../src/vision/head-pose.js';
import { readImage, type Frame } from '../../src/vision/image.js';
import { iou } from '../../src/vision/nms.js';
import { Tracker } from '../../src/vision/tracker.js';
import { MODELS, SHARED, hasShared, sample } from '../helpers/paths.js';

function mirror(f: Frame): Frame {
  const out = Buffer.alloc(f.data.length);
  for (let y = 0; y < f.height; y++)
    for (let x = 0; x < f.width; x++)
      f.data.copy(out, (y * f.width + f.width - 1 - x) * 3, (y * f.width + x) * 3, (y * f.width + x) * 3 + 3);
  return { ...f, data: out };
}

describe('headPose', () => {
  it('is frontal for the alignment template and turns the right way', () => {
    const t = {
      leftEye: { x: 38.29, y: 51.7 },
      rightEye: { x: 73.53, y: 51.5 },
      noseTip: { x: 56.03, y: 71.74 },
      mouthLeft: { x: 41.55, y: 92.37 },
      mouthRight: { x: 70.73, y: 92.2 },
    };
    const p = headPose(t);
    expect(Math.abs(p.yaw)).toBeLessThan(2);
    expect(Math.abs(p.pitch)).toBeLessThan(2);
    expect(Math.abs(p.roll)).toBeLessThan(1);
    // Nose moved towards the image's right: turned right; moved down: looking down.
    expect(headPose({ ...t, noseTip: { x: 66, y: 71.74 } }).yaw).toBeGreaterThan(20);
    expect(headPose({ ...t, noseTip: { x: 56.03, y: 80 } }).pitch).toBeGreaterThan(15);
  });

  describe('on real photos', () => {
    let det: FaceDetector;
    beforeAll(async () => {
      det = await FaceDetector.load(join(MODELS, 'face-yunet-fp32'), { threads: 1 });
    });

    it.each([2, 4, 5])('changes the sign of yaw and roll on the mirror image of sample%i', async (i) => {
      const frame = readImage(sample(i));
      const a = await det.detect(frame);
      const b = await det.detect(mirror(frame));
      let turned = 0;
      for (const f of a) {
        const m = { x: frame.width - f.box.x - f.box.width, y: f.box.y, width: f.box.width, height: f.box.height };
        const g = b.reduce((p, q) => (iou(q.box, m) > iou(p.box, m) ? q : p));
        const p = headPose(landmarksOf(f.landmarks)!);
        const q = headPose(landmarksOf(g.landmarks)!);
        // Clearly turned faces (> 10 degrees) must turn the other way in the mirror.
        if (Math.abs(p.yaw) > 10) {
          turned++;
          expect(Math.sign(q.yaw)).toBe(-Math.sign(p.yaw));
          // YuNet is not exactly mirror-symmetric: the mirrored magnitude differs by up to ~10 degrees.
          expect(Math.abs(q.yaw + p.yaw)).toBeLessThan(0.75 * Math.abs(p.yaw));
        }
        if (Math.abs(p.roll) > 5) expect(Math.sign(q.roll)).toBe(-Math.sign(p.roll));
        // Pitch does not depend on the side (except in near-profile faces, whose landmarks are guesses).
        if (Math.abs(p.yaw) < 45) expect(Math.abs(q.pitch - p.pitch)).toBeLessThan(8);
      }
      expect(turned).toBeGreaterThan(0);
    });
  });
});

describe.skipIf(!hasShared)('attention on a real clip', () => {
  it('the woman looking down at her phone is tracked as a person but is not a viewer', async () => {
    const clip = join(SHARED, 'videos', 'woman-phone-336p.mp4');
    const analyzer = await Analyzer.load({ threads: 1 });
    const tracker = new Tracker();
    const info = await probeVideo(clip);
    const pitches: number[] = [];
    let frames = 0;
    let last = 0;
    for await (const f of readFrames(clip, info, { fps: 5 })) {
      const t = frames++ * 200;
      last = t;
      const { faces } = await analyzeFrame(analyzer, f, undefined, 0);
      for (const face of faces) if (face.pose) pitches.push(face.pose.pitch);
      tracker.update(
        t,
        faces.map((face) => ({
          box: face.box,
          probabilities: face.probabilities,
          looking: isLooking(face.pose, DEFAULT_ATTENTION),
        })),
      );
    }
    const [person, ...others] = tracker.flush(last);
    expect(others).toHaveLength(0);
    expect(person!.counts).toBe(true);
    expect(person!.durationMs).toBeGreaterThan(3500);
    // Her head is bowed: most frames are past the pitch limit, and what she "looks" adds up to less
    // than the time that makes a viewer.
    pitches.sort((a, b) => a - b);
    expect(pitches[Math.floor(pitches.length / 2)]).toBeGreaterThan(DEFAULT_ATTENTION.maxPitchDeg);
    expect(person!.lookingMs).toBeLessThan(DEFAULT_ATTENTION.minLookS * 1000);
  }, 120_000);
});
