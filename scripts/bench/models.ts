// Model latency benchmark: ms per frame (detector) and per face (classifier) for every shipped
// bundle, at 1 thread and at the default thread count, on real photos. Prints a table, returns rows.
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MODELS_DIR } from '../../src/models/defaults.js';
import { MANIFEST_FILE } from '../../src/models/manifest.js';
import { readBundle } from '../../src/models/bundle.js';
import { EmotionClassifier } from '../../src/vision/classifier.js';
import { FaceDetector } from '../../src/vision/detector.js';
import { readImage, type Frame } from '../../src/vision/image.js';
import { faceCropRect, cropFace } from '../../src/vision/preprocess.js';

export interface ModelBenchRow {
  bundle: string;
  task: string;
  precision: string;
  threads: number;
  /** Detector: ms per frame (1920 px photos, preprocessing + inference + decode). */
  msPerFrame?: number;
  /** Classifier: ms per face at batch 1 and at batch 8 (inference on ready crops). */
  msPerFaceBatch1?: number;
  msPerFaceBatch8?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timeIt(fn: () => Promise<unknown>, runs: number): Promise<number> {
  for (let i = 0; i < 3; i++) await fn(); // warm-up: first runs allocate and JIT
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}

export async function benchModels(photos: string[], runs = 20): Promise<ModelBenchRow[]> {
  const frames: Frame[] = photos.map((p) => readImage(p));
  const bundles = readdirSync(MODELS_DIR)
    .filter((d) => existsSync(join(MODELS_DIR, d, MANIFEST_FILE)))
    .sort();
  const refDet = await FaceDetector.load(join(MODELS_DIR, 'face-ssd-fp32'), { threads: 1 });
  const faces = await Promise.all(frames.map((f) => refDet.detect(f)));
  const rows: ModelBenchRow[] = [];
  for (const threads of [1, 0]) {
    for (const name of bundles) {
      const dir = join(MODELS_DIR, name);
      const m = readBundle(dir).manifest;
      const row: ModelBenchRow = { bundle: name, task: m.task, precision: m.precision, threads };
      if (m.task === 'face-detector') {
        const det = await FaceDetector.load(dir, { threads });
        let i = 0;
        row.msPerFrame = await timeIt(() => det.detect(frames[i++ % frames.length]!), runs);
      } else {
        const clf = await EmotionClassifier.load(dir, { threads }, { maxBatch: 8 });
        const { input, preprocess } = m;
        const crops = frames.flatMap((f, k) =>
          faces[k]!.map((face) =>
            cropFace(
              f,
              faceCropRect(face.box, preprocess?.margin ?? 0, true),
              input.width,
              input.height,
              undefined,
              input.resizeKernel,
            ),
          ),
        );
        const one = [crops[0]!];
        const eight = Array.from({ length: 8 }, (_, j) => crops[j % crops.length]!);
        row.msPerFaceBatch1 = await timeIt(() => clf.classifyCrops(one), runs * 5);
        row.msPerFaceBatch8 = (await timeIt(() => clf.classifyCrops(eight), runs * 2)) / 8;
      }
      rows.push(row);
    }
  }
  const fmt = (v?: number): string => (v === undefined ? '' : v.toFixed(2));
  console.log('\nModel latency (median ms; detector per 1920 px frame incl. preprocessing; classifier per face)');
  console.log('bundle                  task                precision threads  ms/frame  ms/face@1  ms/face@8');
  for (const r of rows) {
    console.log(
      `${r.bundle.padEnd(23)} ${r.task.padEnd(19)} ${r.precision.padEnd(9)} ${String(r.threads || 'auto').padEnd(7)} ${fmt(r.msPerFrame).padStart(9)} ${fmt(r.msPerFaceBatch1).padStart(10)} ${fmt(r.msPerFaceBatch8).padStart(10)}`,
    );
  }
  return rows;
}
