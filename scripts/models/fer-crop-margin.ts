#!/usr/bin/env -S npx tsx
// Research measurement (not part of the conversion pipeline): how much of a FER-2013 image the
// detector's face box covers, so the classifier's manifest can ask the device for a crop framed like
// the training images. Each 48x48 training face is upscaled x4 and centred on a grey canvas, the
// shipped detector finds it, and the crop margin that turns its box back into the whole image is
// margin = (side / max(box w, h) - 1) / 2. Training images only.
//
//   node --import tsx scripts/models/fer-crop-margin.ts [--detector models/face-ssd-int8] [--n 400]
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultBundleDir } from '../../src/models/defaults.js';
import { CANONICAL_LABELS } from '../../src/models/manifest.js';
import { FaceDetector } from '../../src/vision/detector.js';
import { frameToMat, matToFrame, readImage } from '../../src/vision/image.js';
import { cv } from '../../src/vision/opencv.js';
import { REPO_ROOT } from './calibration.js';

const { values } = parseArgs({ options: { detector: { type: 'string' }, n: { type: 'string', default: '400' } } });
const n = Number(values.n);
const data = join(REPO_ROOT, '..', 'shared', 'data', 'fer2013-train');
const det = await FaceDetector.load(values.detector ?? defaultBundleDir('face-detector'), { threads: 1 });
const SCALE = 4;
const side = 48 * SCALE;
const canvas = side * 3;
const margins: number[] = [];
let tried = 0;
for (const c of CANONICAL_LABELS) {
  const files = readdirSync(join(data, c)).sort();
  for (let i = 0; i < n / CANONICAL_LABELS.length && i < files.length; i++) {
    const face = frameToMat(readImage(join(data, c, files[Math.floor((i * files.length) / (n / 7))]!)));
    const big = face.resize(side, side, 0, 0, cv.INTER_CUBIC);
    const bg = new cv.Mat(canvas, canvas, cv.CV_8UC3, [128, 128, 128]);
    big.copyTo(bg.getRegion(new cv.Rect(side, side, side, side)));
    tried++;
    const faces = await det.detect(matToFrame(bg));
    const best = faces.sort((a, b) => b.score - a.score)[0];
    if (!best) continue;
    const s = Math.max(best.box.width, best.box.height);
    margins.push((side / s - 1) / 2);
  }
}
margins.sort((a, b) => a - b);
const q = (p: number): number => margins[Math.floor(p * (margins.length - 1))]!;
console.log(JSON.stringify({ detector: det.name, tried, found: margins.length, marginP25: q(0.25), marginMedian: q(0.5), marginP75: q(0.75) }));
