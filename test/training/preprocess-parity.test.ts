// The training preprocessing (training/emotion_train/preprocess.py) and the device's (src/vision)
// turn the same image files into the same model input, within 1/255, by the same manifest sections.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { InputSpec } from '../../src/models/manifest.js';
import { cropResize, readImage } from '../../src/vision/image.js';
import { cv } from '../../src/vision/opencv.js';
import { rastersToTensor } from '../../src/vision/preprocess.js';
import { hasShared, ROOT, sample } from '../helpers/paths.js';
import { FER_TRAIN, PYTHON } from './helpers.js';

describe.skipIf(!hasShared)('preprocessing parity: training vs device', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'prep-parity-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('gives the same tensor within 1/255 on FER-2013 faces and on photo face crops of other sizes', () => {
    const images = ['angry', 'happy', 'surprise'].flatMap((c) => readdirSync(join(FER_TRAIN, c)).sort().slice(0, 5).map((f) => join(FER_TRAIN, c, f)));
    // Colour face crops at sizes other than 48 (up- and downscaled): sample photos cut with OpenCV.
    const photo = cv.imread(sample(1));
    for (const [i, [x, y, s]] of [[1035, 265, 180], [620, 290, 36], [250, 340, 64]].entries()) {
      const p = join(tmp, `crop${i}.png`);
      cv.imwrite(p, photo.getRegion(new cv.Rect(x!, y!, s!, s!)));
      images.push(p);
    }
    const out = join(tmp, 'py.f32');
    const manifestPath = join(tmp, 'sections.json');
    execFileSync(PYTHON, ['-m', 'training.emotion_train.tensors', '--config', 'training/configs/mobilenet.yaml', '--out', out, '--manifest', manifestPath, ...images], { cwd: ROOT });
    const b = readFileSync(out);
    const py = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    const spec = (JSON.parse(readFileSync(manifestPath, 'utf8')) as { input: InputSpec }).input;
    // The device's path for an image that is already a face crop (evaluate, classifyImages).
    const mats = images.map((p) => {
      const f = readImage(p);
      return cropResize(f, { x: 0, y: 0, width: f.width, height: f.height }, spec.width, spec.height, spec.resizeKernel);
    });
    const dev = rastersToTensor(mats, spec).data as Float32Array;
    expect(dev.length).toBe(py.length);
    // Compare in pixel units (x * std + mean = pixel * scale), where 1/255 is one grey level.
    const std = spec.normalization.std[0]!;
    let max = 0;
    for (let i = 0; i < py.length; i++) max = Math.max(max, Math.abs(py[i]! - dev[i]!) * std);
    expect(max).toBeLessThanOrEqual(1 / 255 + 1e-6);
    // Not a comparison of two blank tensors: real faces span most of the grey range.
    expect(Math.max(...dev) - Math.min(...dev)).toBeGreaterThan(0.5 / std);
  }, 120_000);
});
