#!/usr/bin/env -S npx tsx
// Research measurement (not part of the conversion pipeline): what aligning the emotion crop by the
// eyes does to the expression classifier, end to end. Each FER-2013 PublicTest face is upscaled x3,
// centred on a grey canvas and rolled by an angle (the sign alternates from face to face); the shipped
// detector finds it and the classifier reads the crop twice, once cut along the detector's box and
// once rotated so the eyes are level (`preprocess.align`). Everything else is the device's code path
// (`EmotionClassifier.classifyFaces`). PublicTest is the validation split: this informs the manifest's
// choice, nothing is tuned on it.
//
//   node --import tsx scripts/models/alignment-effect.ts [--emotion models/emotion-int8] [--detector DIR]
//        [--angles 0,15,30] [--n 3588] [--out var/alignment/result.json]
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { classificationReport } from '../../src/evaluate/metrics.js';
import { createSession, readBundle } from '../../src/models/bundle.js';
import { defaultBundleDir } from '../../src/models/defaults.js';
import { CANONICAL_LABELS } from '../../src/models/manifest.js';
import { EmotionClassifier } from '../../src/vision/classifier.js';
import { FaceDetector } from '../../src/vision/detector.js';
import { frameToMat, matToFrame, readImage } from '../../src/vision/image.js';
import { cv } from '../../src/vision/opencv.js';
import { REPO_ROOT } from './calibration.js';

const { values } = parseArgs({
  options: {
    emotion: { type: 'string' },
    detector: { type: 'string' },
    angles: { type: 'string', default: '0,15,30' },
    n: { type: 'string', default: '3588' },
    out: { type: 'string', default: 'var/alignment/result.json' },
  },
});
const angles = values.angles.split(',').map(Number);
const data = join(REPO_ROOT, '..', 'shared', 'data', 'fer2013-publictest');
const det = await FaceDetector.load(values.detector ?? defaultBundleDir('face-detector'), { threads: 1 });
const bundle = readBundle(values.emotion ?? defaultBundleDir('emotion-classifier'), 'emotion-classifier');
const session = await createSession(bundle, { threads: 1 });
// One session, two manifests: the only difference between the two readers is `preprocess.align`.
const reader = (align: boolean): EmotionClassifier =>
  new EmotionClassifier({ dir: bundle.dir, manifest: { ...bundle.manifest, preprocess: { ...bundle.manifest.preprocess, align } } }, session);
const boxCrop = reader(false);
const aligned = reader(true);

const files: { path: string; label: number }[] = [];
CANONICAL_LABELS.forEach((name, label) => {
  for (const f of readdirSync(join(data, name)).sort()) files.push({ path: join(data, name, f), label });
});
const step = Math.max(1, files.length / Number(values.n));
const picked = files.filter((_, i) => Math.floor(i % step) === 0).slice(0, Number(values.n));

const SIDE = 144;
const CANVAS = 288;
const perAngle = [];
for (const angle of angles) {
  const truth: number[] = [];
  const predBox: number[] = [];
  const predAligned: number[] = [];
  let found = 0;
  for (const [i, f] of picked.entries()) {
    const face = frameToMat(readImage(f.path)).resize(SIDE, SIDE, 0, 0, cv.INTER_CUBIC);
    const bg = new cv.Mat(CANVAS, CANVAS, cv.CV_8UC3, [128, 128, 128]);
    face.copyTo(bg.getRegion(new cv.Rect((CANVAS - SIDE) / 2, (CANVAS - SIDE) / 2, SIDE, SIDE)));
    const roll = i % 2 === 0 ? angle : -angle;
    const m = cv.getRotationMatrix2D(new cv.Point2(CANVAS / 2, CANVAS / 2), roll, 1);
    const frame = matToFrame(bg.warpAffine(m, new cv.Size(CANVAS, CANVAS), cv.INTER_LINEAR, cv.BORDER_CONSTANT, new cv.Vec3(128, 128, 128)));
    const best = (await det.detect(frame)).sort((a, b) => b.score - a.score)[0];
    if (!best?.landmarks) continue;
    found++;
    truth.push(f.label);
    predBox.push(CANONICAL_LABELS.indexOf((await boxCrop.classifyFaces(frame, [best]))[0]!.label));
    predAligned.push(CANONICAL_LABELS.indexOf((await aligned.classifyFaces(frame, [best]))[0]!.label));
  }
  const score = (pred: number[]): { accuracy: number; macroF1: number } => {
    const r = classificationReport(truth, pred, CANONICAL_LABELS.length);
    return { accuracy: r.accuracy, macroF1: r.macroF1 };
  };
  const row = { rollDegrees: angle, faces: picked.length, found, boxCrop: score(predBox), aligned: score(predAligned) };
  console.log(JSON.stringify(row));
  perAngle.push(row);
}
const result = { emotion: `${bundle.manifest.name}@${bundle.manifest.version} (${bundle.dir})`, detector: det.name, data: 'fer2013-publictest', scale: SIDE / 48, perAngle };
mkdirSync(dirname(values.out), { recursive: true });
writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`wrote ${values.out}`);
