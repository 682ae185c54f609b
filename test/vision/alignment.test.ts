// YuNet's eye landmarks reach the classifier's crop: with a manifest that asks for alignment
// (preprocess.align), a tilted face is classified from a rotated crop, an upright one nearly unchanged.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmotionClassifier } from '../../src/vision/classifier.js';
import { FaceDetector, type Face } from '../../src/vision/detector.js';
import { headPose, landmarksOf } from '../../src/vision/head-pose.js';
import { readImage, type Frame } from '../../src/vision/image.js';
import { MODELS, sample } from '../helpers/paths.js';

const tmp = mkdtempSync(join(tmpdir(), 'ea-align-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('alignment from YuNet landmarks', () => {
  let frame: Frame;
  let faces: Face[];
  let plain: EmotionClassifier;
  let aligned: EmotionClassifier;
  beforeAll(async () => {
    const det = await FaceDetector.load(join(MODELS, 'face-yunet-fp32'), { threads: 1 });
    frame = readImage(sample(1));
    faces = await det.detect(frame);
    // The shipped classifier with align switched on (the manifest's files, and so its hashes, are unchanged).
    const dir = join(tmp, 'emotion-aligned');
    cpSync(join(MODELS, 'emotion-int8'), dir, { recursive: true });
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { preprocess: Record<string, unknown> };
    m.preprocess = { ...m.preprocess, align: true };
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    plain = await EmotionClassifier.load(join(MODELS, 'emotion-int8'), { threads: 1 });
    aligned = await EmotionClassifier.load(dir, { threads: 1 });
  });

  it('every face carries both eyes', () => {
    expect(faces.length).toBeGreaterThan(0);
    for (const f of faces) expect(landmarksOf(f.landmarks)).toBeDefined();
  });

  it('changes the crop of a tilted face, hardly that of an upright one', async () => {
    const rolls = faces.map((f) => headPose(landmarksOf(f.landmarks)!).roll);
    const tilted = rolls.findIndex((r) => Math.abs(r) > 10);
    const upright = rolls.findIndex((r) => Math.abs(r) < 3);
    expect(tilted).toBeGreaterThanOrEqual(0);
    expect(upright).toBeGreaterThanOrEqual(0);
    const a = await plain.classifyFaces(frame, faces);
    const b = await aligned.classifyFaces(frame, faces);
    const diff = (i: number): number =>
      Math.max(...a[i]!.probabilities.map((p, c) => Math.abs(p - b[i]!.probabilities[c]!)));
    expect(diff(tilted)).toBeGreaterThan(0.02);
    expect(diff(upright)).toBeLessThan(diff(tilted));
    // Without landmarks (an SSD-style face) the aligned bundle crops exactly as the plain one.
    const [c] = await aligned.classifyFaces(frame, [{ box: faces[tilted]!.box, score: 1 }]);
    c!.probabilities.forEach((p, k) => expect(p).toBeCloseTo(a[tilted]!.probabilities[k]!, 6));
  });
});
