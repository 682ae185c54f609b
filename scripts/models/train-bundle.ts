#!/usr/bin/env -S npx tsx
// The TypeScript half of `npm run train`'s export (training/emotion_train/export.py wrote the rest):
//
//   node --import tsx scripts/models/train-bundle.ts <run-dir> [--bundle NAME] [--val DIR] [--golden N] [--limit N]
//
// Bundles go to <run-dir>/bundle/<NAME>-fp32 and <NAME>-int8, ready to copy into models/ as they are.
//
// 1. `models pack` the fp32 bundle (file hashes, golden vectors);
// 2. parity: ONNX Runtime on the same real-face tensors PyTorch saw, max |difference| <= 1e-4 or fail;
// 3. INT8: our static QDQ quantizer, calibrated on the training crops export.py wrote (never on
//    evaluation data), packed the same way;
// 4. both bundles evaluated on the validation folder with the device's own preprocessing, the
//    figures written into each manifest's metrics.
// The last stdout line is a JSON summary (export.py reads it).
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { evaluateEmotion } from '../../src/evaluate/run.js';
import { MANIFEST_FILE } from '../../src/models/manifest.js';
import { packBundle } from '../../src/models/pack.js';
import { EmotionClassifier } from '../../src/vision/classifier.js';
import { quantizeStatic } from './quantize.js';
import { EMOTION_INT8_OPTIONS } from './quantize-models.js';
import { sha256, writeBundle } from './write-bundle.js';

export const PARITY_TOLERANCE = 1e-4;

function readF32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

type Json = Record<string, unknown>;
const readJson = (p: string): Json => JSON.parse(readFileSync(p, 'utf8')) as Json;

export async function parity(modelPath: string, parityDir: string): Promise<{ maxAbsDiff: number; samples: number }> {
  const meta = readJson(join(parityDir, 'parity.json')) as { shape: number[]; outputShape: number[] };
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1 });
  try {
    const input = new ort.Tensor('float32', readF32(join(parityDir, 'input.f32')), meta.shape);
    const got = (await session.run({ input })).probabilities!.data as Float32Array;
    const want = readF32(join(parityDir, 'torch-output.f32'));
    if (got.length !== want.length) throw new Error(`parity: ONNX gave ${got.length} values, PyTorch ${want.length}`);
    let max = 0;
    for (let i = 0; i < got.length; i++) max = Math.max(max, Math.abs(got[i]! - want[i]!));
    return { maxAbsDiff: max, samples: meta.shape[0]! };
  } finally {
    await session.release();
  }
}

async function evaluate(dir: string, val: string, limit?: number): Promise<Json> {
  const clf = await EmotionClassifier.load(dir, { threads: 1 }, { maxBatch: 64 });
  try {
    const r = await evaluateEmotion(clf, val, { batch: 64, ...(limit ? { limit } : {}) });
    return { data: resolve(val), samples: r.samples, accuracy: r.accuracy, macroF1: r.macroF1, msPerFace: r.msPerFace, perClass: r.perClass };
  } finally {
    await clf.release();
  }
}

function setMetrics(dir: string, key: string, value: unknown): void {
  const p = join(dir, MANIFEST_FILE);
  const m = readJson(p);
  m.metrics = { ...(m.metrics as Json | undefined), [key]: value };
  writeFileSync(p, `${JSON.stringify(m, null, 2)}\n`);
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { bundle: { type: 'string', default: 'emotion-mobilenet' }, val: { type: 'string' }, golden: { type: 'string', default: '2' }, limit: { type: 'string' } },
  });
  const run = resolve(positionals[0] ?? '');
  const golden = Number(values.golden);
  const limit = values.limit ? Number(values.limit) : undefined;
  const name = values.bundle;
  const fp32Dir = join(run, 'bundle', `${name}-fp32`);
  const int8Dir = join(run, 'bundle', `${name}-int8`);
  const log = (o: Json): void => console.error(JSON.stringify(o));

  const par = await parity(join(fp32Dir, 'model.onnx'), join(run, 'parity'));
  writeFileSync(join(run, 'parity', 'result.json'), `${JSON.stringify({ ...par, tolerance: PARITY_TOLERANCE }, null, 2)}\n`);
  log({ event: 'parity', ...par, tolerance: PARITY_TOLERANCE });
  if (!(par.maxAbsDiff <= PARITY_TOLERANCE)) throw new Error(`parity: ONNX Runtime differs from PyTorch by ${par.maxAbsDiff} (> ${PARITY_TOLERANCE})`);
  setMetrics(fp32Dir, 'exportParity', { ...par, tolerance: PARITY_TOLERANCE, against: 'PyTorch, real FER-2013 training faces' });

  // INT8 from training crops only.
  const fp32Manifest = readJson(join(fp32Dir, MANIFEST_FILE));
  const input = fp32Manifest.input as { width: number; height: number };
  const per = input.width * input.height;
  const cal = readF32(join(run, 'calibration.f32'));
  const n = cal.length / per;
  const feeds: Record<string, ort.Tensor>[] = [];
  for (let i = 0; i < n; i += 16) {
    const k = Math.min(16, n - i);
    feeds.push({ input: new ort.Tensor('float32', cal.slice(i * per, (i + k) * per), [k, 1, input.height, input.width]) });
  }
  const fp32Bytes = readFileSync(join(fp32Dir, 'model.onnx'));
  const { bytes, report } = await quantizeStatic(fp32Bytes, feeds, EMOTION_INT8_OPTIONS);
  const { ranges, ...counts } = report;
  const prov = fp32Manifest.provenance as Json;
  const int8Manifest: Json = {
    ...Object.fromEntries(Object.entries(fp32Manifest).filter(([k]) => k !== 'files' && k !== 'golden')),
    precision: 'int8',
    description: `${String(fp32Manifest.description)} INT8 (static QDQ) variant of ${name}-fp32.`,
    provenance: {
      ...prov,
      converter: `${String(prov.converter)} + scripts/models/train-bundle.ts (scripts/models/quantize.ts)`,
      quantization: {
        tool: 'scripts/models/quantize.ts quantizeStatic (emotion-agent)',
        fp32Model: { bundle: `models/${name}-fp32`, sha256: sha256(fp32Bytes) },
        onnxruntime: ort.env.versions.node ?? ort.env.versions.common,
        options: EMOTION_INT8_OPTIONS,
        ...counts,
        ranges: Object.fromEntries(Object.entries(ranges).map(([t, r]) => [t, { range: [r.rangeMin, r.rangeMax], scale: r.scale, zeroPoint: r.zeroPoint }])),
        calibration: {
          description: `${n} FER-2013 Training-split crops (seeded sample), preprocessed as the manifest says; no evaluation data`,
          samples: n,
          runs: feeds.length,
        },
      },
    },
  };
  delete (int8Manifest.metrics as Json | undefined)?.exportParity;
  writeBundle(int8Dir, int8Manifest, { 'model.onnx': bytes });
  await packBundle(fp32Dir, { golden });
  await packBundle(int8Dir, { golden });
  log({ event: 'int8', quantizedOps: report.quantizedOps });

  const summary: Json = { run, parityMaxAbsDiff: par.maxAbsDiff };
  for (const [key, dir] of [['fp32', fp32Dir], ['int8', int8Dir]] as const) {
    if (values.val) {
      const ev = await evaluate(dir, values.val, limit);
      setMetrics(dir, 'publicTest', ev);
      await packBundle(dir, {}); // the manifest changed: refresh nothing but keep the files list valid
      summary[key] = { dir, accuracy: ev.accuracy, macroF1: ev.macroF1, msPerFace: ev.msPerFace };
      log({ event: 'evaluated', precision: key, accuracy: ev.accuracy, macroF1: ev.macroF1 });
    } else summary[key] = { dir };
  }
  console.log(JSON.stringify(summary));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(`train-bundle: ${(err as Error).message}`);
    process.exit(1);
  });
}
