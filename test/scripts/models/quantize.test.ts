// Static INT8 QDQ quantization (scripts/models/quantize.ts): on a small Conv/Relu/Relu6/depthwise/Gemm
// network built here with real-ish weights, and on the real bundles (models/emotion-*, models/face-ssd-*).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { DataType, decodeModel, encodeModel, GraphBuilder, int, ints, type OnnxModel } from '../../../scripts/models/onnx/builder.js';
import { quantizeStatic } from '../../../scripts/models/quantize.js';
import { sha256 } from '../../../scripts/models/write-bundle.js';
import { MODELS, SHARED } from '../../helpers/paths.js';

type ITensor = onnxProto.onnx.ITensorProto;
type INode = onnxProto.onnx.INodeProto;

const tmp = mkdtempSync(join(tmpdir(), 'ea-quant-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SINGLE: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' };

// ------------------------------------------------------------------------------------------------
// Helpers

/** Deterministic normal samples (mulberry32 + Box-Muller). */
function gaussian(seed: number): () => number {
  let a = seed >>> 0;
  const u = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

function floats(t: ITensor): Float32Array {
  const raw = new Uint8Array(t.rawData!);
  return new Float32Array(raw.buffer, 0, raw.byteLength / 4);
}

function int32s(t: ITensor): Int32Array {
  const raw = new Uint8Array(t.rawData!);
  return new Int32Array(raw.buffer, 0, raw.byteLength / 4);
}

function opCounts(model: OnnxModel): Record<string, number> {
  const c: Record<string, number> = {};
  for (const n of model.graph!.node ?? []) {
    const k = n.domain ? `${n.domain}:${n.opType}` : (n.opType ?? '');
    c[k] = (c[k] ?? 0) + 1;
  }
  return c;
}

function cosine(u: ArrayLike<number>, v: ArrayLike<number>): number {
  let d = 0, a = 0, b = 0;
  for (let i = 0; i < u.length; i++) { d += u[i]! * v[i]!; a += u[i]! * u[i]!; b += v[i]! * v[i]!; }
  return d / Math.sqrt(a * b);
}

function argmax(v: ArrayLike<number>): number {
  let b = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[b]!) b = i;
  return b;
}

/** Per-row cosine similarity, argmax agreement and the signal-to-error ratio (dB) of two [N, K] outputs. */
function closeness(x: Float32Array, y: Float32Array, k: number): { cosMean: number; cosMin: number; agree: number; sqnr: number; rows: number } {
  const rows = x.length / k;
  let cosSum = 0, cosMin = 1, agree = 0, signal = 0, noise = 0;
  x.forEach((v, i) => { signal += v * v; noise += (v - y[i]!) ** 2; });
  for (let r = 0; r < rows; r++) {
    const u = x.subarray(r * k, (r + 1) * k);
    const v = y.subarray(r * k, (r + 1) * k);
    const c = cosine(u, v);
    cosSum += c;
    cosMin = Math.min(cosMin, c);
    agree += Number(argmax(u) === argmax(v));
  }
  return { cosMean: cosSum / rows, cosMin, agree: agree / rows, sqnr: 10 * Math.log10(signal / noise), rows };
}

/** Node -> the initializers it reads through DequantizeLinear: the quantized weight/bias layout. */
function dqInputsOf(model: OnnxModel, node: INode): { dq: INode; q: ITensor; scale: ITensor; zp?: ITensor }[] {
  const g = model.graph!;
  const inits = new Map((g.initializer ?? []).map((t) => [t.name ?? '', t]));
  const producer = new Map<string, INode>();
  for (const n of g.node ?? []) for (const o of n.output ?? []) producer.set(o, n);
  return (node.input ?? []).flatMap((i) => {
    const dq = producer.get(i);
    if (!dq || dq.opType !== 'DequantizeLinear') return [];
    const q = inits.get(dq.input![0]!);
    if (!q) return [];
    const zp = dq.input![2] ? inits.get(dq.input![2]) : undefined;
    return [{ dq, q, scale: inits.get(dq.input![1]!)!, ...(zp ? { zp } : {}) }];
  });
}

// ------------------------------------------------------------------------------------------------
// A small CNN: Conv+Relu -> Conv(stride 2)+Relu6 -> depthwise Conv+Relu -> GlobalAveragePool ->
// Flatten -> Gemm(transB) = 7 logits. He-initialised weights whose output channels differ in scale
// by up to 32x (as after batch-norm folding), biases of the size BN gives.

function tinyModel(): Uint8Array {
  const g = new GraphBuilder('tiny-cnn');
  const rnd = gaussian(7);
  const weight = (shape: number[], fanIn: number, spread: boolean): Float32Array => {
    const n = shape.reduce((a, b) => a * b, 1);
    const per = n / shape[0]!;
    const w = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const c = Math.floor(i / per);
      w[i] = rnd() * Math.sqrt(2 / fanIn) * (spread ? 2 ** ((c % 6) - 3) : 1);
    }
    return w;
  };
  const bias = (n: number, s: number): Float32Array => Float32Array.from({ length: n }, () => rnd() * s);
  const x = g.input('input', ['N', 1, 16, 16]);
  let t = g.node('Conv', [x, g.initializer('w1', weight([8, 1, 3, 3], 9, true), [8, 1, 3, 3]), g.initializer('b1', bias(8, 0.1), [8])], { pads: ints([1, 1, 1, 1]) });
  t = g.node('Relu', [t]);
  t = g.node('Conv', [t, g.initializer('w2', weight([16, 8, 3, 3], 72, true), [16, 8, 3, 3]), g.initializer('b2', bias(16, 0.1), [16])], {
    pads: ints([1, 1, 1, 1]),
    strides: ints([2, 2]),
  });
  t = g.node('Clip', [t, g.initializer('relu6_min', Float32Array.of(0), []), g.initializer('relu6_max', Float32Array.of(6), [])]);
  t = g.node('Conv', [t, g.initializer('w3', weight([16, 1, 3, 3], 9, true), [16, 1, 3, 3]), g.initializer('b3', bias(16, 0.05), [16])], {
    pads: ints([1, 1, 1, 1]),
    group: int(16),
  });
  t = g.node('Relu', [t]);
  t = g.node('GlobalAveragePool', [t]);
  t = g.node('Flatten', [t]);
  g.node('Gemm', [t, g.initializer('wf', weight([7, 16], 16, false), [7, 16]), g.initializer('bf', bias(7, 0.1), [7])], { transB: int(1) }, ['logits']);
  g.output('logits', ['N', 7]);
  return encodeModel(g.build({ producerName: 'quantize.test', producerVersion: '0', docString: '' }));
}

/** Image-like inputs normalised to [-1, 1]: a gradient, a bright or dark blob and a little noise. */
function tinyFeeds(count: number, batch: number, seed: number): Record<string, ort.Tensor>[] {
  const rnd = gaussian(seed);
  return Array.from({ length: count }, () => {
    const data = new Float32Array(batch * 256);
    for (let b = 0; b < batch; b++) {
      const [gx, gy, cx, cy, amp] = [rnd() * 0.05, rnd() * 0.05, 8 + 3 * rnd(), 8 + 3 * rnd(), rnd()];
      for (let y = 0; y < 16; y++) {
        for (let x = 0; x < 16; x++) {
          const v = gx * (x - 8) + gy * (y - 8) + amp * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 12) + 0.03 * rnd();
          data[b * 256 + y * 16 + x] = Math.max(-1, Math.min(1, v));
        }
      }
    }
    return { input: new ort.Tensor('float32', data, [batch, 1, 16, 16]) };
  });
}

async function runAll(bytes: Uint8Array, feeds: Record<string, ort.Tensor>[], output: string, opts = SINGLE): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes, opts);
  const parts: Float32Array[] = [];
  for (const f of feeds) parts.push((await s.run(f))[output]!.data as Float32Array);
  await s.release();
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

describe('quantizeStatic on a small CNN', async () => {
  const fp32 = tinyModel();
  const calib = tinyFeeds(8, 8, 101);
  const held = tinyFeeds(8, 8, 202); // never seen by the calibration
  const { bytes, report } = await quantizeStatic(fp32, calib);
  const model = decodeModel(bytes);

  it('reports what it quantized and calibrated', () => {
    expect(report.quantizedOps).toBe(4);
    expect(report.quantizedOpsByType).toEqual({ Conv: 3, Gemm: 1 });
    expect(report.fusedActivations).toHaveLength(3); // Relu, Relu6 (Clip 0..6), Relu
    // Pairs: input, the 3 activation outputs, the Gemm input (Flatten output); not the graph output.
    expect(report.tensorsCalibrated).toBe(5);
    expect(report.qdqPairs).toBe(5);
    expect(report.calibrationSamples).toBe(64);
    expect(report.fp32OpsByType).toEqual({ GlobalAveragePool: 1, Flatten: 1 });
    for (const r of Object.values(report.ranges)) {
      expect(r.rangeMin).toBeLessThanOrEqual(0);
      expect(r.rangeMax).toBeGreaterThanOrEqual(0);
      expect(r.scale).toBeGreaterThan(0);
      expect(r.zeroPoint).toBeGreaterThanOrEqual(0);
      expect(r.zeroPoint).toBeLessThanOrEqual(255);
    }
    // Relu6 output: range from 0, never past 6, uint8 zero point 0.
    const relu6 = Object.entries(report.ranges).find(([t]) => t.startsWith('clip'))![1];
    expect(relu6.rangeMin).toBe(0);
    expect(relu6.rangeMax).toBeLessThanOrEqual(6);
    expect(relu6.zeroPoint).toBe(0);
  });

  it('stores per-channel int8 weights, int32 biases and uint8 QDQ activation pairs', () => {
    const counts = opCounts(model);
    expect(counts.QuantizeLinear).toBe(5);
    expect(counts.DequantizeLinear).toBe(5 + 4 + 4); // activations + weights + biases
    expect((model.graph!.initializer ?? []).some((t) => t.dataType === DataType.FLOAT && (t.dims ?? []).length > 1)).toBe(false);
    const inits = new Map((model.graph!.initializer ?? []).map((t) => [t.name ?? '', t]));
    for (const node of (model.graph!.node ?? []).filter((n) => n.opType === 'Conv' || n.opType === 'Gemm')) {
      const [x, w, b] = [node.input![0]!, ...dqInputsOf(model, node)];
      // Weight: int8, per output channel (axis 0: Conv OIHW and Gemm with transB=1), zero point 0.
      expect(w!.q.dataType).toBe(DataType.INT8);
      const channels = Number(w!.q.dims![0]);
      expect(w!.scale.dims!.map(Number)).toEqual([channels]);
      expect(w!.zp!.dataType).toBe(DataType.INT8);
      expect([...new Int8Array(new Uint8Array(w!.zp!.rawData!).buffer)]).toEqual(new Array(channels).fill(0));
      expect(Number(w!.dq.attribute!.find((a) => a.name === 'axis')!.i)).toBe(0);
      const wScales = floats(w!.scale);
      expect(new Set(wScales).size).toBeGreaterThan(1);
      const wq = new Int8Array(new Uint8Array(w!.q.rawData!).buffer);
      expect(Math.max(...wq.map(Math.abs))).toBe(63); // symmetric: each channel's max hits 63 (7-bit weights by default)
      // Bias: int32, scale = input scale * weight scale[c].
      expect(b!.q.dataType).toBe(DataType.INT32);
      const xDq = (model.graph!.node ?? []).find((n) => n.output![0] === x)!;
      expect(xDq.opType).toBe('DequantizeLinear');
      const xScale = floats(inits.get(xDq.input![1]!)!)[0]!;
      const xZp = inits.get(xDq.input![2]!)!;
      expect(xZp.dataType).toBe(DataType.UINT8);
      const bScales = floats(b!.scale);
      bScales.forEach((s, c) => expect(s).toBe(Math.fround(xScale * wScales[c]!)));
      expect(int32s(b!.q).length).toBe(channels);
    }
  });

  it('loads in ONNX Runtime, which fuses every group into QLinearConv / QGemm kernels', async () => {
    const optimized = join(tmp, 'tiny-optimized.onnx');
    await ort.InferenceSession.create(bytes, { ...SINGLE, optimizedModelFilePath: optimized });
    const counts = opCounts(decodeModel(readFileSync(optimized)));
    expect(counts['com.microsoft:QLinearConv']).toBe(3);
    expect(counts['com.microsoft:QGemm']).toBe(1);
    expect(counts.Conv).toBeUndefined();
    expect(counts.Relu).toBeUndefined();
    expect(counts.Clip).toBeUndefined();
  });

  it('stays close to fp32 on inputs it was not calibrated on', async () => {
    const y32 = await runAll(fp32, held, 'logits');
    const y8 = await runAll(bytes, held, 'logits');
    const c = closeness(y32, y8, 7);
    // Four 8-bit layers: the logit error stays ~3% of the logits (30 dB measured).
    expect(c.sqnr).toBeGreaterThan(25);
    expect(c.cosMin).toBeGreaterThan(0.995);
    // The class may only change where fp32's two best logits are closer than 3x the rms error.
    let rmsErr = 0;
    y32.forEach((v, i) => (rmsErr += (v - y8[i]!) ** 2));
    rmsErr = Math.sqrt(rmsErr / y32.length);
    let clear = 0;
    for (let r = 0; r < y32.length / 7; r++) {
      const u = y32.subarray(r * 7, r * 7 + 7);
      const [a, b] = [...u].sort((p, q) => q - p);
      if (a! - b! < 3 * rmsErr) continue;
      clear++;
      expect(argmax(y8.subarray(r * 7, r * 7 + 7)), `row ${r}`).toBe(argmax(u));
    }
    expect(clear).toBeGreaterThan(40); // of 64
  });

  it('per-channel scales keep every channel of a weight within half of its own step', async () => {
    const original = new Map((decodeModel(fp32).graph!.initializer ?? []).map((t) => [t.name ?? '', floats(t)]));
    /** Worst over channels of max |w - dequantized w| / max |w| of that channel. */
    const worst = (q: Uint8Array): number => {
      const m = decodeModel(q);
      let out = 0;
      for (const node of m.graph!.node!.filter((n) => n.opType === 'Conv')) {
        const w = dqInputsOf(m, node)[0]!;
        const orig = original.get(w.q.name!.replace(/_quantized$/, ''))!;
        const qv = new Int8Array(new Uint8Array(w.q.rawData!).buffer);
        const scales = floats(w.scale);
        const C = Number(w.q.dims![0]);
        const inner = qv.length / C;
        for (let c = 0; c < C; c++) {
          let err = 0, max = 0;
          for (let i = c * inner; i < (c + 1) * inner; i++) {
            err = Math.max(err, Math.abs(orig[i]! - qv[i]! * scales[scales.length === 1 ? 0 : c]!));
            max = Math.max(max, Math.abs(orig[i]!));
          }
          out = Math.max(out, err / max);
        }
      }
      return out;
    };
    // Steps of 1/63 of each channel's range: the default 7-bit weights (quantize.ts reduceRange).
    expect(worst(bytes)).toBeLessThanOrEqual(0.5 / 63 + 1e-6);
    expect(worst((await quantizeStatic(fp32, calib, { reduceRange: false })).bytes)).toBeLessThanOrEqual(0.5 / 127 + 1e-6);
    // One scale per tensor: the smallest channels (32x below the largest) lose most of their bits.
    expect(worst((await quantizeStatic(fp32, calib, { perChannel: false })).bytes)).toBeGreaterThan(8 * (0.5 / 63));
  });

  it('bias correction and percentile ranges keep it close too', async () => {
    const y32 = await runAll(fp32, held, 'logits');
    const q = await quantizeStatic(fp32, calib, { biasCorrection: true, weightScale: 'mse', calibration: { method: 'percentile', percentile: 99.99 } });
    expect(q.report.biasCorrection).toMatchObject({ enabled: true, stages: 4, opsCorrected: 4, feeds: 8 });
    const c = closeness(y32, await runAll(q.bytes, held, 'logits'), 7);
    expect(c.sqnr).toBeGreaterThan(25);
    expect(c.cosMin).toBeGreaterThan(0.998);
  });

  it('gives the same bytes for the same inputs', async () => {
    expect(sha256((await quantizeStatic(fp32, calib)).bytes)).toBe(sha256(bytes));
  });

  it('can leave chosen ops in fp32', async () => {
    const q = await quantizeStatic(fp32, calib, { excludeNodes: ['logits'] });
    expect(q.report.quantizedOps).toBe(3);
    expect(q.report.skipped).toEqual([{ node: 'logits', opType: 'Gemm', reason: 'excluded by option' }]);
    const gemm = decodeModel(q.bytes).graph!.node!.find((n) => n.opType === 'Gemm')!;
    expect(gemm.input![1]).toBe('wf');
  });
});

// ------------------------------------------------------------------------------------------------
// The real bundles.

const EMOTION_FP32 = join(MODELS, 'emotion-fp32');
const EMOTION_INT8 = join(MODELS, 'emotion-int8');
const SSD_FP32 = join(MODELS, 'face-ssd-fp32');
const SSD_INT8 = join(MODELS, 'face-ssd-int8');
const have = (...dirs: string[]): boolean => dirs.every((d) => existsSync(join(d, 'manifest.json')));

describe.skipIf(!have(EMOTION_FP32, EMOTION_INT8))('models/emotion-int8', async () => {
  const { readBundle } = await import('../../../src/models/bundle.js');
  const { TARGETS, quantizeBundle } = await import('../../../scripts/models/quantize-models.js');
  const fp32 = readBundle(EMOTION_FP32);
  const int8 = readBundle(EMOTION_INT8); // validates the manifest and the file hashes
  const target = TARGETS.find((t) => t.key === 'emotion')!;

  it('is the fp32 bundle with precision int8 and its quantization recorded', () => {
    const m = int8.manifest;
    expect(m.precision).toBe('int8');
    expect([m.name, m.version, m.task]).toEqual([fp32.manifest.name, fp32.manifest.version, fp32.manifest.task]);
    expect(m.version).toBe('1.0.0');
    expect(m.input).toEqual(fp32.manifest.input);
    expect(m.labels).toEqual(fp32.manifest.labels);
    const q = m.provenance.quantization as Record<string, unknown> & { fp32Model: { sha256: string }; calibration: { images: unknown[] } };
    expect(q).toMatchObject({ format: 'QDQ', weightType: 'int8', activationType: 'uint8', perChannel: true });
    expect(q.calibration.images.length).toBeGreaterThan(5);
    // Made from the fp32 model that is there now (else: rerun scripts/models/quantize-models.ts).
    expect(q.fp32Model.sha256, 'emotion-fp32 changed since emotion-int8 was made').toBe(sha256(fp32.modelBytes));
  });

  it('holds per-channel int8 conv weights in QDQ form', () => {
    const model = decodeModel(int8.modelBytes);
    const counts = opCounts(model);
    expect(counts.QuantizeLinear).toBeGreaterThan(0);
    const convs = model.graph!.node!.filter((n) => n.opType === 'Conv');
    expect(convs.length).toBe(opCounts(decodeModel(fp32.modelBytes)).Conv);
    for (const conv of convs) {
      const w = dqInputsOf(model, conv)[0]!;
      expect(w.q.dataType).toBe(DataType.INT8);
      expect(w.scale.dims!.map(Number)).toEqual([Number(w.q.dims![0])]);
    }
  });

  it('classifies the calibration crops and FER-2013 like fp32', async () => {
    const { classifierCalibration } = await import('../../../scripts/models/calibration.js');
    const feeds = classifierCalibration(fp32.manifest).feeds;
    const out = fp32.manifest.decoding.type === 'classification' ? fp32.manifest.decoding.output : '';
    const c = closeness(await runAll(fp32.modelBytes, feeds, out), await runAll(int8.modelBytes, feeds, out), 7);
    // Measured: 95.0% same class, mean cosine of the probability vectors 0.995 (natural-photo faces
    // are often between two expressions, so a small change flips the top class).
    expect(c.agree).toBeGreaterThan(0.93);
    expect(c.cosMean).toBeGreaterThan(0.99);

    // FER-2013 PublicTest (evaluation data: only measured here): top-1 within 1 point of fp32.
    const fer = join(SHARED, 'fer2013-publictest');
    if (!existsSync(fer)) return;
    const { matToRaster, readImage } = await import('../../../src/vision/image.js');
    const { cv } = await import('../../../src/vision/opencv.js');
    const { rastersToTensor } = await import('../../../src/vision/preprocess.js');
    const spec = fp32.manifest.input;
    const order = fp32.manifest.labels!.modelOrder as string[];
    const labels: number[] = [];
    const batches: Record<string, ort.Tensor>[] = [];
    let mats: ReturnType<typeof matToRaster>[] = [];
    const files = readdirSync(fer).sort().flatMap((cls) => readdirSync(join(fer, cls)).sort().map((f) => ({ path: join(fer, cls, f), label: order.indexOf(cls) })));
    for (const [i, f] of files.entries()) {
      const fr = readImage(f.path);
      mats.push(matToRaster(new cv.Mat(fr.data, fr.height, fr.width, cv.CV_8UC3).resize(spec.height, spec.width, 0, 0, cv.INTER_LINEAR)));
      labels.push(f.label);
      if (mats.length === 64 || i === files.length - 1) { batches.push({ [spec.name]: rastersToTensor(mats, spec) }); mats = []; }
    }
    const y32 = await runAll(fp32.modelBytes, batches, out);
    const y8 = await runAll(int8.modelBytes, batches, out);
    const top1 = (y: Float32Array): number => labels.filter((l, r) => argmax(y.subarray(r * 7, r * 7 + 7)) === l).length / labels.length;
    expect(Math.abs(top1(y8) - top1(y32))).toBeLessThanOrEqual(0.01);
  });

  it('is re-made byte for byte by scripts/models/quantize-models.ts', async () => {
    const q = await quantizeBundle(target);
    expect(sha256(q.bytes)).toBe(int8.manifest.files[int8.manifest.model]!.sha256);
  });
});

describe.skipIf(!have(SSD_FP32, SSD_INT8))('models/face-ssd-int8', async () => {
  const { readBundle } = await import('../../../src/models/bundle.js');
  const fp32 = readBundle(SSD_FP32);
  const int8 = readBundle(SSD_INT8);

  it('is the fp32 bundle with precision int8, all convs quantized, decoding left in fp32', () => {
    expect(int8.manifest.precision).toBe('int8');
    expect([int8.manifest.name, int8.manifest.version]).toEqual([fp32.manifest.name, fp32.manifest.version]);
    const q = int8.manifest.provenance.quantization as { fp32Model: { sha256: string } };
    expect(q.fp32Model.sha256, 'face-ssd-fp32 changed since face-ssd-int8 was made').toBe(sha256(fp32.modelBytes));
    const counts = opCounts(decodeModel(int8.modelBytes));
    const before = opCounts(decodeModel(fp32.modelBytes));
    expect(counts.Conv).toBe(before.Conv);
    for (const op of ['Sigmoid', 'Exp', 'Concat']) expect(counts[op]).toBe(before[op]);
    expect(counts.QuantizeLinear).toBeGreaterThan(0);
  });

  it('gives the fp32 detections on real frames', async () => {
    const { detectorCalibration } = await import('../../../scripts/models/calibration.js');
    const frames = detectorCalibration(fp32.manifest).feeds.filter((_, i) => i % 18 === 0); // 6 frames
    const s32 = await ort.InferenceSession.create(fp32.modelBytes, SINGLE);
    const s8 = await ort.InferenceSession.create(int8.modelBytes, SINGLE);
    let diff = 0, n = 0, faces32 = 0, faces8 = 0;
    for (const f of frames) {
      const a = (await s32.run(f)).scores!.data as Float32Array;
      const b = (await s8.run(f)).scores!.data as Float32Array;
      for (let i = 0; i < a.length; i++) {
        if (a[i]! >= 0.05) { diff += Math.abs(a[i]! - b[i]!); n++; }
        faces32 += Number(a[i]! >= 0.5);
        faces8 += Number(b[i]! >= 0.5);
      }
    }
    // Measured on WIDER val images: mean |score diff| ~0.005 over anchors with fp32 score >= 0.05.
    expect(diff / n).toBeLessThan(0.02);
    expect(Math.abs(faces8 - faces32)).toBeLessThanOrEqual(Math.max(2, 0.1 * faces32));
  });
});
