#!/usr/bin/env -S npx tsx
// Makes the INT8 bundles from the fp32 ones: models/<name>-fp32 -> models/<name>-int8.
//
//   npx tsx scripts/models/quantize-models.ts                 # the shipped int8 bundles (emotion, face-ssd)
//   npx tsx scripts/models/quantize-models.ts --only emotion  # one (emotion | face-ssd | yunet: var/models/face-yunet-int8, not shipped)
//   npx tsx scripts/models/quantize-models.ts --check         # re-quantize, compare with the committed bytes
//   npx tsx scripts/models/quantize-models.ts --measure       # fp32 vs int8 latency (1 thread), closeness, FER top-1
//
// Same inputs give byte-identical model files (see quantize.ts); the manifest is the fp32 one with
// precision int8, the same name and version, and provenance.quantization describing the process.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as ort from 'onnxruntime-node';
import { readBundle } from '../../src/models/bundle.js';
import { MANIFEST_FILE, validateManifest, type Manifest } from '../../src/models/manifest.js';
import { matToRaster, readImage } from '../../src/vision/image.js';
import { cv } from '../../src/vision/opencv.js';
import { nms } from '../../src/vision/nms.js';
import { frameToDetectorInput, rastersToTensor } from '../../src/vision/preprocess.js';
import { classifierCalibration, detectorCalibration, REPO_ROOT, type CalibrationSet } from './calibration.js';
import { upgradeOpset11To13 } from './onnx/opset13.js';
import { quantizeStatic, type QuantizeOptions, type QuantizeReport } from './quantize.js';
import { sha256, writeBundle } from './write-bundle.js';

export interface QuantizeTarget {
  key: 'emotion' | 'face-ssd' | 'yunet';
  fp32: string;
  int8: string;
  calibrate: (m: Manifest) => CalibrationSet;
  options: QuantizeOptions;
  /** Why these options (recorded in the manifest). */
  notes: string;
  /** Rewrites the fp32 graph before quantization (YuNet: opset 11 -> 13, which per-channel DQ needs). */
  prepare?: (fp32: Uint8Array) => Uint8Array;
}

// Options chosen by measurement (see the notes; numbers from `--measure` and the report):
//   - uint8 activations (asymmetric) with int8 symmetric per-channel weights: the U8S8 pairing MLAS
//     runs with VNNI/AMX int8 dot products on x86, fused by ORT into QLinearConv. int8 activations
//     gave the same accuracy and no speed gain (ORT turns S8 QDQ activations into U8 on x86).
//   - bias correction: without it the SSD scores come out ~0.04 lower (fp32-matched detections at
//     0.5 drop to ~92%); with it ~99% and no score bias. For the emotion model it raises fp32/int8
//     agreement a little.
const DETECTOR_OPTIONS: QuantizeOptions = {
  activationType: 'uint8',
  calibration: { method: 'minmax' },
  weightScale: 'max',
  perChannel: true,
  biasCorrection: { feeds: 36 },
  // 8-bit weights kept for the SSD: its detections match fp32 on an AVX2-only CPU too
  // (test/scripts/models/quantize.test.ts); the quantizer's default is 7-bit (reduceRange).
  reduceRange: false,
};

/** The emotion classifiers' INT8 options: the borrowed model's, and every model we train (train-bundle.ts). */
export const EMOTION_INT8_OPTIONS: QuantizeOptions = {
  activationType: 'uint8',
  calibration: { method: 'percentile', percentile: 99.99 },
  weightScale: 'mse',
  perChannel: true,
  biasCorrection: true,
  // 7-bit weights: with 8 bits the borrowed model saturates AVX2 kernels (43.2 % top-1 on an AMD EPYC
  // without VNNI, 65.3 % with 7 bits; quantize.ts reduceRange).
  reduceRange: true,
};

export const TARGETS: QuantizeTarget[] = [
  {
    key: 'emotion',
    fp32: 'models/emotion-fp32',
    int8: 'models/emotion-int8',
    calibrate: (m) => classifierCalibration(m),
    options: EMOTION_INT8_OPTIONS,
    notes:
      'all 13 Conv quantized with 7-bit weights (4 of the 5 Relu folded into them); Transpose, MaxPool, Add, the Relu after the first Add, ReduceMean, Softmax stay fp32. Ranges: 99.99th percentile ' +
      '(fp32/int8 argmax agreement on FER-2013 PublicTest 97.2% vs 95.2% with min/max ranges), per-channel weight scale with the least squared error, ' +
      'bias correction over all calibration crops',
  },
  {
    key: 'face-ssd',
    fp32: 'models/face-ssd-fp32',
    int8: 'models/face-ssd-int8',
    calibrate: (m) => detectorCalibration(m),
    options: DETECTOR_OPTIONS,
    notes:
      'all 47 Conv quantized, the 35 Relu6 (Clip 0..6) folded into them; the NHWC->NCHW Transpose, box/score Reshape+Concat, ' +
      'Sigmoid and the anchor decoding (Slice/Div/Mul/Add/Exp/Sub/Concat) stay fp32. Min/max ranges (percentile gave no gain), ' +
      'max-abs weight scales, bias correction over 36 of the calibration frames (removes a -0.04 drift of the scores)',
  },
  {
    key: 'yunet',
    fp32: 'models/face-yunet-fp32',
    // Not shipped: within 0.1 point of fp32 AP but 1.4-1.6x SLOWER than fp32 at 1 thread (docs/models.md),
    // so the bundle is written under var/ for the measurement only.
    int8: 'var/models/face-yunet-int8',
    calibrate: (m) => detectorCalibration(m),
    options: DETECTOR_OPTIONS,
    prepare: upgradeOpset11To13,
    notes: 'YuNet, raised from opset 11 to 13 first (Unsqueeze axes as an input; scripts/models/onnx/opset13.ts): every Conv quantized (Relu folded); the heads\' Sigmoid, Reshape/Transpose/Concat stay fp32. Same options as face-ssd (min/max ranges, max-abs weight scales, bias correction over 36 calibration frames)',
  },
];

export interface Quantized {
  target: QuantizeTarget;
  fp32: ReturnType<typeof readBundle>;
  bytes: Uint8Array;
  report: QuantizeReport;
  calibration: CalibrationSet;
  manifest: Omit<Manifest, 'files'>;
}

/** Quantizes one fp32 bundle (nothing written). */
export async function quantizeBundle(target: QuantizeTarget): Promise<Quantized> {
  const fp32 = readBundle(join(REPO_ROOT, target.fp32));
  const calibration = target.calibrate(fp32.manifest);
  const { bytes, report } = await quantizeStatic(target.prepare ? target.prepare(fp32.modelBytes) : fp32.modelBytes, calibration.feeds, target.options);
  const base = Object.fromEntries(Object.entries(fp32.manifest).filter(([k]) => k !== 'files')) as Omit<Manifest, 'files'>;
  const { ranges, ...counts } = report;
  const manifest: Omit<Manifest, 'files'> = {
    ...base,
    precision: 'int8',
    description: `${base.description ?? ''} INT8 (static QDQ) variant of ${target.fp32.replace('models/', '')}.`.trim(),
    provenance: {
      ...base.provenance,
      converter: `${base.provenance.converter} + scripts/models/quantize-models.ts (scripts/models/quantize.ts)`,
      quantization: {
        tool: 'scripts/models/quantize.ts quantizeStatic (emotion-agent)',
        fp32Model: { bundle: target.fp32, sha256: sha256(fp32.modelBytes) },
        onnxruntime: ort.env.versions.node ?? ort.env.versions.common,
        notes: target.notes,
        options: target.options,
        ...counts,
        calibration: {
          description: calibration.description,
          samples: calibration.samples,
          runs: calibration.feeds.length,
          variants: calibration.variants,
          images: calibration.images,
          notEvaluationData: 'no image of ../shared/data (evaluation sets) is used for calibration',
        },
        ranges: Object.fromEntries(
          Object.entries(ranges).map(([t, r]) => [t, { observed: [r.min, r.max], range: [r.rangeMin, r.rangeMax], scale: r.scale, zeroPoint: r.zeroPoint }]),
        ),
      },
    },
  };
  validateManifest({ ...manifest, files: { [manifest.model]: { sha256: sha256(bytes), size: bytes.byteLength } } }, `${target.int8}/${MANIFEST_FILE}`);
  return { target, fp32, bytes, report, calibration, manifest };
}

// ------------------------------------------------------------------------------------------------
// Measurements (--measure)

const SINGLE_THREAD: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' };

/** Median over rounds of the mean ms per run; the two sessions alternate so load noise hits both. */
async function timePair(a: ort.InferenceSession, b: ort.InferenceSession, feed: Record<string, ort.Tensor>, runs: number, rounds = 5): Promise<[number, number]> {
  for (let i = 0; i < 3; i++) { await a.run(feed); await b.run(feed); }
  const ta: number[] = [];
  const tb: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const [s, out] of [[a, ta], [b, tb]] as const) {
      const t0 = performance.now();
      for (let i = 0; i < runs; i++) await s.run(feed);
      out.push((performance.now() - t0) / runs);
    }
  }
  const med = (v: number[]): number => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)]!;
  return [med(ta), med(tb)];
}

function listImages(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((x, y) => (x.name < y.name ? -1 : 1))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listImages(p));
    else if (/\.(jpe?g|png)$/i.test(e.name)) out.push(p);
  }
  return out;
}

async function measureClassifier(q: Quantized, s32: ort.InferenceSession, s8: ort.InferenceSession): Promise<void> {
  const spec = q.fp32.manifest.input;
  const one = q.calibration.feeds[0]![spec.name]!;
  const per = one.dims.slice(1).reduce((x, y) => x * y, 1);
  const batchOf = (n: number): Record<string, ort.Tensor> => ({
    [spec.name]: new ort.Tensor('float32', (one.data as Float32Array).slice(0, n * per), [n, ...one.dims.slice(1)]),
  });
  const [a1, b1] = await timePair(s32, s8, batchOf(1), 200);
  const [a8, b8] = await timePair(s32, s8, batchOf(8), 50);
  console.log(`  latency batch 1: fp32 ${a1.toFixed(3)} ms/face, int8 ${b1.toFixed(3)} ms/face (x${(a1 / b1).toFixed(2)})`);
  console.log(`  latency batch 8: fp32 ${(a8 / 8).toFixed(3)} ms/face, int8 ${(b8 / 8).toFixed(3)} ms/face (x${(a8 / b8).toFixed(2)})`);

  // Agreement on the calibration crops.
  const out = q.fp32.manifest.decoding.type === 'classification' ? q.fp32.manifest.decoding.output : '';
  let agree = 0;
  let n = 0;
  let cosSum = 0;
  let cosMin = 1;
  for (const feed of q.calibration.feeds) {
    const x = (await s32.run(feed))[out]!.data as Float32Array;
    const y = (await s8.run(feed))[out]!.data as Float32Array;
    const k = x.length / feed[spec.name]!.dims[0]!;
    for (let r = 0; r < x.length / k; r++) {
      const u = x.subarray(r * k, (r + 1) * k);
      const v = y.subarray(r * k, (r + 1) * k);
      agree += Number(argmax(u) === argmax(v));
      const c = cosine(u, v);
      cosSum += c;
      cosMin = Math.min(cosMin, c);
      n++;
    }
  }
  console.log(`  calibration crops: argmax agreement ${((100 * agree) / n).toFixed(2)}% of ${n}, output cosine mean ${(cosSum / n).toFixed(5)} min ${cosMin.toFixed(5)}`);

  // FER-2013 public test top-1 (evaluation data: measurement only, never calibration).
  const fer = join(REPO_ROOT, '..', 'shared', 'data', 'fer2013-publictest');
  if (!existsSync(fer)) { console.log(`  ${fer} not found: no top-1`); return; }
  const order = q.fp32.manifest.labels!.modelOrder;
  const files: { path: string; label: number }[] = [];
  for (const cls of readdirSync(fer).sort()) {
    const label = order.indexOf(cls as (typeof order)[number]);
    if (label < 0) continue;
    for (const p of listImages(join(fer, cls))) files.push({ path: p, label });
  }
  const correct = [0, 0];
  let ferAgree = 0;
  for (let i = 0; i < files.length; i += 64) {
    const chunk = files.slice(i, i + 64);
    const mats = chunk.map((f) => {
      const fr = readImage(f.path);
      // INTER_LINEAR, as EmotionClassifier.classifyImages does.
      return matToRaster(new cv.Mat(fr.data, fr.height, fr.width, cv.CV_8UC3).resize(spec.height, spec.width, 0, 0, cv.INTER_LINEAR));
    });
    const feed = { [spec.name]: rastersToTensor(mats, spec) };
    const ys = [(await s32.run(feed))[out]!.data as Float32Array, (await s8.run(feed))[out]!.data as Float32Array];
    const k = order.length;
    chunk.forEach((f, r) => {
      const p = ys.map((y) => argmax(y.subarray(r * k, (r + 1) * k)));
      p.forEach((c, m) => (correct[m]! += Number(c === f.label)));
      ferAgree += Number(p[0] === p[1]);
    });
  }
  const pct = (v: number): string => ((100 * v) / files.length).toFixed(2);
  console.log(`  FER-2013 PublicTest top-1 (${files.length} images): fp32 ${pct(correct[0]!)}%, int8 ${pct(correct[1]!)}% (delta ${(Number(pct(correct[1]!)) - Number(pct(correct[0]!))).toFixed(2)} points), fp32/int8 agreement ${pct(ferAgree)}%`);
}

function argmax(v: ArrayLike<number>): number {
  let b = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[b]!) b = i;
  return b;
}

function cosine(u: ArrayLike<number>, v: ArrayLike<number>): number {
  let d = 0, a = 0, b = 0;
  for (let i = 0; i < u.length; i++) { d += u[i]! * v[i]!; a += u[i]! * u[i]!; b += v[i]! * v[i]!; }
  return a === 0 || b === 0 ? (a === b ? 1 : 0) : d / Math.sqrt(a * b);
}

interface Det { box: [number, number, number, number]; score: number }

function detections(boxes: Float32Array, scores: Float32Array, thr: number): Det[] {
  const cand: number[] = [];
  const rects: { x: number; y: number; width: number; height: number }[] = [];
  for (let i = 0; i < scores.length; i++) {
    if (!(scores[i]! >= thr)) continue;
    const [y0, x0, y1, x1] = [boxes[i * 4]!, boxes[i * 4 + 1]!, boxes[i * 4 + 2]!, boxes[i * 4 + 3]!];
    rects[i] = { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
    cand.push(i);
  }
  cand.sort((p, q) => scores[q]! - scores[p]!);
  return nms(rects, cand, 0.5, 200).map((i) => ({ box: [rects[i]!.x, rects[i]!.y, rects[i]!.x + rects[i]!.width, rects[i]!.y + rects[i]!.height], score: scores[i]! }));
}

function iou(a: Det['box'], b: Det['box']): number {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const i = w * h;
  return i / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i);
}

async function measureDetector(q: Quantized, s32: ort.InferenceSession, s8: ort.InferenceSession): Promise<void> {
  const spec = q.fp32.manifest.input;
  const dec = q.fp32.manifest.decoding;
  if (dec.type !== 'boxes-scores') return;
  const [a, b] = await timePair(s32, s8, q.calibration.feeds[0]!, 5);
  console.log(`  latency: fp32 ${a.toFixed(1)} ms/frame, int8 ${b.toFixed(1)} ms/frame (x${(a / b).toFixed(2)}) at ${spec.width}x${spec.height}`);
  // Closeness on frames the quantizer never saw (WIDER FACE val images of the evaluation set; used
  // here only to compare int8 with fp32, not to tune anything).
  const dir = join(REPO_ROOT, '..', 'shared', 'data', 'facedet');
  const paths = existsSync(dir) ? listImages(dir) : [];
  if (paths.length === 0) { console.log(`  ${dir}: no images, no closeness figures`); return; }
  const thr = dec.scoreThreshold ?? 0.5;
  const compare = async (feeds: Iterable<Record<string, ort.Tensor>>, what: string): Promise<void> => {
    let ref = 0, got = 0, matched = 0, iouSum = 0, maxDs = 0, dsSum = 0, dsN = 0, signed = 0, signedN = 0, frames = 0;
    for (const feed of feeds) {
      frames++;
      const r32 = await s32.run(feed);
      const r8 = await s8.run(feed);
      const sc32 = r32[dec.scores]!.data as Float32Array;
      const sc8 = r8[dec.scores]!.data as Float32Array;
      for (let i = 0; i < sc32.length; i++) {
        const d = sc8[i]! - sc32[i]!;
        maxDs = Math.max(maxDs, Math.abs(d));
        if (sc32[i]! >= 0.05) { dsSum += Math.abs(d); dsN++; }
        if (sc32[i]! >= 0.3) { signed += d; signedN++; }
      }
      const d32 = detections(r32[dec.boxes]!.data as Float32Array, sc32, thr);
      const d8 = detections(r8[dec.boxes]!.data as Float32Array, sc8, thr);
      ref += d32.length;
      got += d8.length;
      const used = new Set<number>();
      for (const d of d32) {
        let best = -1, bestIou = 0.5;
        d8.forEach((e, k) => { const v = iou(d.box, e.box); if (!used.has(k) && v >= bestIou) { best = k; bestIou = v; } });
        if (best >= 0) { used.add(best); matched++; iouSum += bestIou; }
      }
    }
    console.log(
      `  ${what} (${frames} frames), detections at score >= ${thr} after NMS: fp32 ${ref}, int8 ${got}; ` +
        `${matched} matched at IoU >= 0.5 (${((100 * matched) / ref).toFixed(1)}% of fp32, ${((100 * matched) / got).toFixed(1)}% of int8), ` +
        `mean IoU of matches ${(iouSum / matched).toFixed(4)}; |score diff| mean ${(dsSum / dsN).toFixed(4)} over anchors with fp32 score >= 0.05, ` +
        `max ${maxDs.toFixed(4)}; mean signed diff where fp32 >= 0.3: ${(signed / signedN).toFixed(4)}`,
    );
  };
  const frames = paths.map((p) => readImage(p));
  await compare((function* () { for (const f of frames) yield { [spec.name]: frameToDetectorInput(f, spec).tensor }; })(), `${paths.length} WIDER FACE val images`);
  // Close-ups: square ROIs of 1.8x and 3x the height of the tallest fp32 face (>= 40 px) of each image.
  const rois: { f: (typeof frames)[number]; roi: { x: number; y: number; width: number; height: number } }[] = [];
  for (const f of frames) {
    const r = await s32.run({ [spec.name]: frameToDetectorInput(f, spec).tensor });
    const side = Math.max(f.width, f.height); // letterbox square
    const big = detections(r[dec.boxes]!.data as Float32Array, r[dec.scores]!.data as Float32Array, thr)
      .map((d) => ({ x: d.box[0] * side, y: d.box[1] * side, w: (d.box[2] - d.box[0]) * side, h: (d.box[3] - d.box[1]) * side }))
      .sort((a, b) => b.h - a.h)[0];
    if (!big || big.h < 40) continue;
    for (const k of [1.8, 3]) {
      const s = Math.round(big.h * k);
      rois.push({ f, roi: { x: Math.round(big.x + big.w / 2 - s / 2), y: Math.round(big.y + big.h / 2 - s / 2), width: s, height: s } });
    }
  }
  await compare((function* () { for (const { f, roi } of rois) yield { [spec.name]: frameToDetectorInput(f, spec, roi).tensor }; })(), 'close-ups cut from them');
}

// ------------------------------------------------------------------------------------------------

async function main(argv: string[]): Promise<void> {
  const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined;
  const check = argv.includes('--check');
  const measure = argv.includes('--measure');
  // Targets whose INT8 bundle is not shipped (written under var/) run only when named.
  const targets = TARGETS.filter((t) => (only ? t.key === only : t.int8.startsWith('models/')));
  if (targets.length === 0) throw new Error(`--only: expected one of ${TARGETS.map((t) => t.key).join(', ')}`);
  for (const target of targets) {
    if (!existsSync(join(REPO_ROOT, target.fp32, MANIFEST_FILE))) {
      console.log(`${target.fp32}: not there yet, skipped`);
      continue;
    }
    const t0 = performance.now();
    const q = await quantizeBundle(target);
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    const digest = sha256(q.bytes);
    const r = q.report;
    console.log(
      `${target.key}: ${r.quantizedOps} ops quantized ${JSON.stringify(r.quantizedOpsByType)}, ${r.tensorsCalibrated} tensors calibrated ` +
        `on ${q.calibration.samples} inputs (${r.method}), fp32 left: ${JSON.stringify(r.fp32OpsByType)}; ` +
        `${q.fp32.modelBytes.byteLength} -> ${q.bytes.byteLength} bytes, sha256 ${digest} (${secs} s)`,
    );
    if (check && !existsSync(join(REPO_ROOT, target.int8, MANIFEST_FILE))) {
      console.log(`  ${target.int8} does not exist: nothing to compare with`);
    } else if (check) {
      const committed = JSON.parse(readFileSync(join(REPO_ROOT, target.int8, MANIFEST_FILE), 'utf8')) as Manifest;
      const want = committed.files[committed.model]?.sha256;
      console.log(`  ${want === digest ? 'same bytes as' : 'DIFFERENT from'} ${target.int8} (${want})`);
      if (want !== digest) process.exitCode = 1;
    } else {
      writeBundle(join(REPO_ROOT, target.int8), q.manifest, { [q.manifest.model]: q.bytes });
      console.log(`  wrote ${target.int8}`);
    }
    if (measure) {
      const s32 = await ort.InferenceSession.create(q.fp32.modelBytes, SINGLE_THREAD);
      const s8 = await ort.InferenceSession.create(q.bytes, SINGLE_THREAD);
      if (q.fp32.manifest.task === 'emotion-classifier') await measureClassifier(q, s32, s8);
      else await measureDetector(q, s32, s8);
      await s32.release();
      await s8.release();
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(1);
  });
}
