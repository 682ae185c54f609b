// Static post-training INT8 quantization to the ONNX QDQ format, written for our own two models.
//
// What it produces (the layout ONNX Runtime's CPU provider fuses into QLinearConv / QGemm /
// QLinearMatMul kernels at session start):
//   - weights: int8, symmetric, per output channel ([-127, 127]; zero point 0), stored as int8
//     initializers followed by DequantizeLinear(axis = output-channel axis) — opset 13;
//   - bias: int32 with scale = input_scale * weight_scale[c] (zero point 0), DequantizeLinear;
//   - activations: one QuantizeLinear -> DequantizeLinear pair per tensor, on the input and the
//     output of every quantized op, shared by all consumers. When a Conv/Gemm/MatMul output is
//     consumed only by a Relu or Clip(0, x) (Relu6), the pair goes after the activation instead,
//     with a range that starts at 0: ORT then drops the activation (Q saturation does the same
//     clamping) and the DQ -> Conv -> Q group becomes one QLinearConv;
//   - everything else (Transpose, Reshape, Concat, MaxPool, Add, Softmax, Sigmoid, Exp, the SSD
//     decoding, ...) stays fp32; a quantized op's output pair is dequantized before any of them.
//
// Calibration: a copy of the model whose outputs include every activation tensor to be quantized
// is run with onnxruntime-node over the calibration feeds; ranges are min/max (or a histogram
// percentile). Ranges are widened to include 0, clamped to a following Clip's bounds, and
// rounded outward to 8 significant bits, so that last-bit differences in fp32 kernels between
// machines do not change the scales (and the file bytes) of a re-run.
//
// Bias correction (optional, `biasCorrection`): weight rounding and quantization noise that goes
// through a Relu shift the mean of every later layer (here: SSD scores come out lower). The
// quantized ops are corrected stage by stage in depth order (stage k = ops with k quantized ops on
// their longest input path): for each stage, the QDQ model with the earlier stages already
// corrected, cut down to what the stage needs, is run over (a subset of) the calibration feeds;
// the per-channel mean of each op's output minus the fp32 model's mean is subtracted from the op's
// bias (a bias is added where there was none) before it is quantized to int32. Correcting all ops
// at once from one measurement does not work: downstream ops would also compensate an upstream
// shift that the upstream correction already removes.
//
// Determinism: nothing depends on time, randomness or map iteration order we do not control; the
// output is a pure function of (model bytes, calibration feeds, options) on a given ORT build.
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { DataType, decodeModel, encodeModel, type OnnxModel, tensorProto, type TensorData } from './onnx/builder.js';

const { onnx } = onnxProto;
type INode = onnxProto.onnx.INodeProto;
type ITensor = onnxProto.onnx.ITensorProto;
type IAttr = onnxProto.onnx.IAttributeProto;

export type ActivationType = 'uint8' | 'int8';

export type CalibrationMethod =
  | { method: 'minmax' }
  /** Clip each populated tail at `percentile` (e.g. 99.99) of a `bins`-bin histogram over the min/max range. */
  | { method: 'percentile'; percentile: number; bins?: number };

export interface QuantizeOptions {
  /** Op types to quantize. Default: Conv, MatMul, Gemm. */
  opTypes?: string[];
  /** Node names (or output tensor names) to keep in fp32. */
  excludeNodes?: string[];
  /** Activation integer type. Default uint8. */
  activationType?: ActivationType;
  /** Calibration range method. Default minmax. */
  calibration?: CalibrationMethod;
  /** Per-channel weight scales (default true); false gives one scale per weight tensor. */
  perChannel?: boolean;
  /** Weight scale per channel: max |w| / 127 ('max', default) or the clipping that minimises the squared rounding error ('mse'). */
  weightScale?: 'max' | 'mse';
  /**
   * 7-bit weights ([-63, 63]) for CPUs without VNNI, whose AVX2 u8*s8 kernels add pairs of products in
   * saturating int16. Default true: with full 8-bit weights the emotion model fell from 65.5 % to 43.2 %
   * top-1 on an AMD EPYC with AVX2 only (65.3 % with 7 bits), and a kiosk's CPU is not known in advance.
   */
  reduceRange?: boolean;
  /** Put the output pair after a Relu/Clip that is the sole consumer (default true). */
  fuseActivations?: boolean;
  /** For outputs of a folded Clip with finite bounds (Relu6), use the Clip's range instead of the calibrated one. */
  clipBoundsAsRange?: boolean;
  /** Empirical bias correction, stage by stage (default off); `feeds`: how many calibration feeds it uses (evenly spaced, default all). */
  biasCorrection?: boolean | { feeds?: number };
  /** Threads of the calibration sessions. Default 1 (deterministic and cheap on small boxes). */
  intraOpNumThreads?: number;
  /** Significant bits kept when rounding calibrated range ends outward (default 8; 0 = no rounding). */
  rangeMantissaBits?: number;
}

export interface TensorRange {
  /** Observed over the calibration set. */
  min: number;
  max: number;
  /** Range used for the quantization parameters (after percentile, 0-inclusion, clip, rounding). */
  rangeMin: number;
  rangeMax: number;
  scale: number;
  zeroPoint: number;
}

export interface QuantizeReport {
  method: string;
  format: 'QDQ';
  opset: number;
  activationType: ActivationType;
  weightType: 'int8';
  weightRange: [number, number];
  biasType: 'int32';
  perChannel: boolean;
  symmetricWeights: true;
  calibrationSamples: number;
  /** Number of ops quantized, and per op type. */
  quantizedOps: number;
  quantizedOpsByType: Record<string, number>;
  quantizedNodes: string[];
  /** Relu/Clip nodes whose output carries the pair (ORT folds them into the quantized op). */
  fusedActivations: string[];
  /** Candidate nodes left fp32, with the reason. */
  skipped: { node: string; opType: string; reason: string }[];
  /** Ops left in fp32, by type (not counting quantized ops, folded Relu/Clip and Q/DQ nodes). */
  fp32OpsByType: Record<string, number>;
  tensorsCalibrated: number;
  weightsQuantized: number;
  biasesQuantized: number;
  qdqPairs: number;
  /** Bias correction: stages, feeds used, ops corrected, and the largest |mean shift| / output rms met (before correcting). */
  biasCorrection: { enabled: boolean; stages: number; feeds: number; opsCorrected: number; largestShiftOverRms: number };
  ranges: Record<string, TensorRange>;
}

export interface QuantizeResult {
  bytes: Uint8Array;
  report: QuantizeReport;
}

// ----------------------------------------------------------------------------------------------
// Small helpers

/** int64 proto fields decode as number or Long. */
function num(v: unknown): number {
  if (v == null) return 0;
  return typeof v === 'number' ? v : (v as { toNumber(): number }).toNumber();
}

function attr(node: INode, name: string): IAttr | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}
function attrInt(node: INode, name: string, dflt: number): number {
  const a = attr(node, name);
  return a ? num(a.i) : dflt;
}
function attrFloat(node: INode, name: string, dflt: number): number {
  const a = attr(node, name);
  return a ? (a.f ?? dflt) : dflt;
}

function dimsOf(t: ITensor): number[] {
  return (t.dims ?? []).map((d) => num(d));
}

/** The float values of a FLOAT tensor (raw little-endian bytes or the float_data field). */
function floatsOf(t: ITensor): Float32Array {
  if (t.dataType !== DataType.FLOAT) throw new Error(`tensor ${t.name}: expected FLOAT, got data type ${t.dataType}`);
  if (t.rawData && t.rawData.length > 0) {
    const copy = new Uint8Array(t.rawData); // copies into a fresh, aligned buffer
    return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
  }
  return Float32Array.from(t.floatData ?? []);
}

/** Rounds |v| up to `bits` significant bits (outward), so tiny fp32 noise cannot change it. */
function roundOutward(v: number, bits: number): number {
  if (bits <= 0 || v === 0 || !Number.isFinite(v)) return v;
  const step = 2 ** (Math.floor(Math.log2(Math.abs(v))) - bits);
  return Math.sign(v) * Math.ceil(Math.abs(v) / step - 1e-9) * step;
}

/** Rounds v to the nearest value with `bits` significant bits. */
function roundSignificant(v: number, bits: number): number {
  if (v === 0 || !Number.isFinite(v)) return v;
  const step = 2 ** (Math.floor(Math.log2(Math.abs(v))) - bits);
  return Math.round(v / step) * step;
}

/** Round half to even, as ONNX QuantizeLinear does. */
function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

interface QParams { scale: number; zeroPoint: number }

function activationParams(rmin: number, rmax: number, type: ActivationType): QParams {
  const lo = Math.min(0, rmin);
  const hi = Math.max(0, rmax);
  const [qmin, qmax] = type === 'uint8' ? [0, 255] : [-128, 127];
  if (hi - lo <= 0) return { scale: 1, zeroPoint: type === 'uint8' ? 0 : -128 };
  const scale = Math.fround((hi - lo) / (qmax - qmin));
  const zeroPoint = Math.min(qmax, Math.max(qmin, roundEven(qmin - lo / scale)));
  return { scale, zeroPoint };
}

function withOutputs(model: OnnxModel, names: string[]): Uint8Array {
  const copy = decodeModel(encodeModel(model));
  const graph = copy.graph!;
  const existing = new Set((graph.output ?? []).map((o) => o.name));
  for (const t of names) {
    if (!existing.has(t)) graph.output!.push(onnx.ValueInfoProto.create({ name: t, type: { tensorType: { elemType: DataType.FLOAT } } }));
  }
  return encodeModel(copy);
}

/** `model` (changed in place) cut down to what computes `outputs`, encoded. */
function truncated(model: OnnxModel, outputs: string[]): Uint8Array {
  const graph = model.graph!;
  const need = new Set(outputs);
  const keep: INode[] = [];
  for (const n of [...(graph.node ?? [])].reverse()) {
    if (!(n.output ?? []).some((o) => need.has(o))) continue;
    keep.push(n);
    for (const i of n.input ?? []) if (i) need.add(i);
  }
  graph.node = keep.reverse();
  graph.initializer = (graph.initializer ?? []).filter((t) => need.has(t.name ?? ''));
  graph.input = (graph.input ?? []).filter((i) => need.has(i.name ?? ''));
  graph.output = outputs.map((name) => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: DataType.FLOAT } } }));
  graph.valueInfo = [];
  return encodeModel(model);
}

async function session(bytes: Uint8Array, threads: number): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'basic',
  });
}

// ----------------------------------------------------------------------------------------------
// Graph analysis

interface Plan {
  node: INode;
  opType: string;
  /** Activation input tensor. */
  x: string;
  /** Weight constant and the output-channel axis of it. */
  w: string;
  wAxis: number;
  /** Bias constant (Conv input 2 / Gemm input C), if any. */
  b?: string;
  /** Whether a bias input can be added (Conv, Gemm). */
  canHaveBias: boolean;
  /** The op's own output, and its channel axis (for bias correction). */
  out: string;
  outAxis: number;
  /** The tensor that gets the output pair (the op output, or the fused activation's output), if any. */
  y?: string;
  fusedAct?: INode;
}

interface Analysis {
  model: OnnxModel;
  opset: number;
  consts: Map<string, ITensor>;
  graphOutputs: Set<string>;
  plans: Plan[];
  skipped: QuantizeReport['skipped'];
  /** Activation tensors that get a pair, in first-appearance order. */
  tensors: string[];
  /** Tensors whose pair replaces them for every consumer (outputs of quantized ops). */
  outputPairs: Set<string>;
  clipOf: Map<string, [number, number]>;
}

const ACT_CLIP_OPS = new Set(['Relu', 'Clip']);

function defaultOpset(model: OnnxModel): number {
  const e = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  return e ? num(e.version) : 0;
}

/** Clip bounds (constant), or undefined when not constant. */
function clipBounds(node: INode, consts: Map<string, ITensor>): [number, number] | undefined {
  if (node.opType === 'Relu') return [0, Infinity];
  if (attr(node, 'min') || attr(node, 'max')) return [attrFloat(node, 'min', -Infinity), attrFloat(node, 'max', Infinity)];
  const ins = node.input ?? [];
  const read = (name: string | undefined, dflt: number): number | undefined => {
    if (!name) return dflt;
    const t = consts.get(name);
    if (!t) return undefined;
    const v = floatsOf(t);
    return v.length === 1 ? v[0] : undefined;
  };
  const lo = read(ins[1], -Infinity);
  const hi = read(ins[2], Infinity);
  return lo === undefined || hi === undefined ? undefined : [lo, hi];
}

function analyze(fp32Bytes: Uint8Array, opTypes: Set<string>, exclude: Set<string>, fuseActs: boolean): Analysis {
  const model = decodeModel(fp32Bytes);
  const graph = model.graph;
  if (!graph) throw new Error('model has no graph');
  const opset = defaultOpset(model);
  if (opset < 13) throw new Error(`opset ${opset}: per-axis DequantizeLinear needs opset >= 13`);
  const nodes = graph.node ?? [];

  // Constants: initializers and Constant nodes holding a tensor.
  const consts = new Map<string, ITensor>();
  for (const t of graph.initializer ?? []) consts.set(t.name ?? '', t);
  for (const n of nodes) {
    const v = n.opType === 'Constant' ? attr(n, 'value') : undefined;
    if (v?.t && n.output?.[0]) consts.set(n.output[0], v.t);
  }
  const graphOutputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  const consumers = new Map<string, INode[]>();
  for (const n of nodes) for (const i of n.input ?? []) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);

  const plans: Plan[] = [];
  const skipped: QuantizeReport['skipped'] = [];
  nodes.forEach((node, index) => {
    const opType = node.opType ?? '';
    if (!opTypes.has(opType) || (node.domain && node.domain !== 'ai.onnx')) return;
    const name = node.name || node.output?.[0] || `${opType}_${index}`;
    const skip = (reason: string): void => { skipped.push({ node: name, opType, reason }); };
    if (exclude.has(name) || exclude.has(node.output?.[0] ?? '')) return skip('excluded by option');
    const ins = node.input ?? [];
    const x = ins[0] ?? '';
    const w = ins[1] ?? '';
    if (!x || consts.has(x)) return skip('activation input is constant');
    const wt = consts.get(w);
    if (!wt || wt.dataType !== DataType.FLOAT) return skip('weight is not a float constant');
    const wd = dimsOf(wt);
    let wAxis = 0;
    let outAxis = 1;
    let bias: string | undefined;
    if (opType === 'Conv') {
      if (wd.length < 3) return skip('weight rank < 3');
      bias = ins[2] || undefined;
    } else if (opType === 'Gemm') {
      if (attrInt(node, 'transA', 0) !== 0) return skip('transA');
      if (attrFloat(node, 'alpha', 1) !== 1 || attrFloat(node, 'beta', 1) !== 1) return skip('alpha/beta != 1');
      if (wd.length !== 2) return skip('weight rank != 2');
      wAxis = attrInt(node, 'transB', 0) ? 0 : 1;
      bias = ins[2] || undefined;
    } else if (opType === 'MatMul') {
      if (wd.length !== 2) return skip('weight rank != 2');
      wAxis = 1;
      outAxis = -1;
    } else {
      return skip('unsupported op type');
    }
    const channels = wd[wAxis]!;
    if (bias) {
      const bt = consts.get(bias);
      if (!bt || bt.dataType !== DataType.FLOAT) return skip('bias is not a float constant');
      const bd = dimsOf(bt);
      if (bd.length !== 1 || bd[0] !== channels) return skip('bias is not 1-D per output channel');
    }
    const out = node.output?.[0] ?? '';
    let y: string | undefined = out;
    let fusedAct: INode | undefined;
    const cons = consumers.get(out) ?? [];
    if (fuseActs && !graphOutputs.has(out) && cons.length === 1 && ACT_CLIP_OPS.has(cons[0]!.opType ?? '')) {
      const act = cons[0]!;
      const bounds = clipBounds(act, consts);
      if (bounds && bounds[0] === 0 && act.output?.[0]) {
        fusedAct = act;
        y = act.output[0];
      }
    }
    // A graph output keeps its name and its fp32 values: no pair on it.
    if (y && graphOutputs.has(y)) y = undefined;
    plans.push({
      node, opType, x, w, wAxis, canHaveBias: opType !== 'MatMul', out, outAxis,
      ...(bias ? { b: bias } : {}), ...(y ? { y } : {}), ...(fusedAct ? { fusedAct } : {}),
    });
  });
  if (plans.length === 0) throw new Error('no quantizable ops found');

  const tensors: string[] = [];
  const seen = new Set<string>();
  const add = (t: string): void => { if (!seen.has(t)) { seen.add(t); tensors.push(t); } };
  for (const p of plans) { add(p.x); if (p.y) add(p.y); }
  const outputPairs = new Set(plans.flatMap((p) => (p.y ? [p.y] : [])));
  const clipOf = new Map<string, [number, number]>();
  for (const p of plans) if (p.fusedAct && p.y) clipOf.set(p.y, clipBounds(p.fusedAct, consts)!);
  return { model, opset, consts, graphOutputs, plans, skipped, tensors, outputPairs, clipOf };
}

// ----------------------------------------------------------------------------------------------
// Calibration

interface Observed { min: number; max: number; hist?: Float64Array }

interface ChannelStats { sum: Float64Array; sq: Float64Array; n: number }

function channelAccumulate(t: ort.Tensor, axis: number, stats: ChannelStats | undefined): ChannelStats {
  const dims = t.dims;
  const ax = axis < 0 ? dims.length + axis : axis;
  const C = dims[ax]!;
  const inner = dims.slice(ax + 1).reduce((a, b) => a * b, 1);
  const s = stats ?? { sum: new Float64Array(C), sq: new Float64Array(C), n: 0 };
  const data = t.data as Float32Array;
  for (let i = 0; i < data.length; i++) {
    const c = Math.floor(i / inner) % C;
    const v = data[i]!;
    s.sum[c]! += v;
    s.sq[c]! += v * v;
  }
  s.n += data.length / C;
  return s;
}

/** Min/max (and histograms for percentile) of `tensors`; per-channel sums of `channelOutputs`. */
async function calibrate(
  model: OnnxModel,
  tensors: string[],
  channelOutputs: { name: string; axis: number }[],
  channelFeeds: Set<number>,
  feeds: Record<string, ort.Tensor>[],
  method: CalibrationMethod,
  threads: number,
): Promise<{ observed: Map<string, Observed>; channels: Map<string, ChannelStats> }> {
  const names = [...new Set([...tensors, ...channelOutputs.map((c) => c.name)])];
  const s = await session(withOutputs(model, names), threads);
  const observed = new Map<string, Observed>(tensors.map((t) => [t, { min: Infinity, max: -Infinity }]));
  const channels = new Map<string, ChannelStats>();
  try {
    for (const [fi, feed] of feeds.entries()) {
      const out = await s.run(feed, names);
      for (const t of tensors) {
        const data = out[t]!.data as Float32Array;
        const o = observed.get(t)!;
        let mn = o.min;
        let mx = o.max;
        for (let i = 0; i < data.length; i++) {
          const v = data[i]!;
          if (v < mn) mn = v;
          if (v > mx) mx = v;
        }
        o.min = mn;
        o.max = mx;
      }
      if (channelFeeds.has(fi)) for (const c of channelOutputs) channels.set(c.name, channelAccumulate(out[c.name]!, c.axis, channels.get(c.name)));
    }
    if (method.method === 'percentile') {
      const bins = method.bins ?? 2048;
      for (const o of observed.values()) o.hist = new Float64Array(bins);
      for (const feed of feeds) {
        const out = await s.run(feed, tensors);
        for (const t of tensors) {
          const data = out[t]!.data as Float32Array;
          const o = observed.get(t)!;
          const h = o.hist!;
          const width = o.max - o.min;
          if (!(width > 0)) { h[0]! += data.length; continue; }
          const k = bins / width;
          for (let i = 0; i < data.length; i++) {
            const b = Math.min(bins - 1, Math.floor((data[i]! - o.min) * k));
            h[b]! += 1;
          }
        }
      }
    }
  } finally {
    await s.release();
  }
  return { observed, channels };
}

/** The [lo, hi] range a histogram keeps when each populated tail loses (100 - p)% of the mass. */
function percentileRange(o: Observed, percentile: number): [number, number] {
  const h = o.hist;
  if (!h || !(o.max > o.min)) return [o.min, o.max];
  const bins = h.length;
  const total = h.reduce((a, b) => a + b, 0);
  const tails = o.min < 0 && o.max > 0 ? 2 : 1;
  const drop = (total * (100 - percentile)) / 100 / tails;
  const width = (o.max - o.min) / bins;
  let hi = o.max;
  let acc = 0;
  for (let b = bins - 1; b >= 0; b--) {
    acc += h[b]!;
    if (acc > drop) { hi = o.min + (b + 1) * width; break; }
  }
  let lo = o.min;
  if (o.min < 0) {
    acc = 0;
    for (let b = 0; b < bins; b++) {
      acc += h[b]!;
      if (acc > drop) { lo = o.min + b * width; break; }
    }
  }
  return [Math.max(o.min, lo), Math.min(o.max, hi)];
}

// ----------------------------------------------------------------------------------------------
// Rewriting

interface QuantizedWeight { q: Int8Array; scales: Float32Array; dims: number[]; channels: number }

interface RewriteOptions {
  /** Quantized weights by `${name}\0${axis}`, shared by the rewrites of one quantizeStatic call. */
  weights: Map<string, QuantizedWeight>;
  actType: ActivationType;
  weightScale: 'max' | 'mse';
  perChannel: boolean;
  wq: number;
  methodName: string;
}

interface Rewritten {
  model: OnnxModel;
  weightsQuantized: number;
  biasesQuantized: number;
}

/** int8 symmetric weights: one scale per output channel (or per tensor), zero point 0. */
function quantizeWeight(wt: ITensor, wAxis: number, o: RewriteOptions): QuantizedWeight {
  const dims = dimsOf(wt);
  const values = floatsOf(wt);
  const channels = dims[wAxis]!;
  const inner = dims.slice(wAxis + 1).reduce((x, y) => x * y, 1);
  const chanOf = (i: number): number => (o.perChannel ? Math.floor(i / inner) % channels : 0);
  const nScales = o.perChannel ? channels : 1;
  const maxAbs = new Float64Array(nScales);
  for (let i = 0; i < values.length; i++) {
    const c = chanOf(i);
    maxAbs[c] = Math.max(maxAbs[c]!, Math.abs(values[i]!));
  }
  const scales = new Float32Array(nScales);
  for (let c = 0; c < nScales; c++) scales[c] = maxAbs[c]! > 0 ? Math.fround(maxAbs[c]! / o.wq) : 1;
  if (o.weightScale === 'mse') {
    // Per scale group, the clipping ratio (1.00 down to 0.50) with the least squared rounding error.
    const members: number[][] = Array.from({ length: nScales }, () => []);
    for (let i = 0; i < values.length; i++) members[chanOf(i)]!.push(i);
    for (let c = 0; c < nScales; c++) {
      if (!(maxAbs[c]! > 0)) continue;
      let best = scales[c]!;
      let bestErr = Infinity;
      for (let r = 100; r >= 50; r--) {
        const sc = Math.fround((maxAbs[c]! * r) / 100 / o.wq);
        let err = 0;
        for (const i of members[c]!) {
          const v = values[i]!;
          const d = v - Math.max(-o.wq, Math.min(o.wq, roundEven(v / sc))) * sc;
          err += d * d;
        }
        // Strictly better by a relative margin, so float noise cannot flip the choice.
        if (r === 100 || err < bestErr * (1 - 1e-9)) { bestErr = err; best = sc; }
      }
      scales[c] = best;
    }
  }
  const q = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) q[i] = Math.max(-o.wq, Math.min(o.wq, roundEven(values[i]! / scales[chanOf(i)]!)));
  return { q, scales, dims, channels };
}

/**
 * Writes the QDQ model into `a.model` (which it mutates). `corrections[k]` (per output channel) is
 * subtracted from plan k's bias before quantization.
 */
function rewrite(a: Analysis, qp: Map<string, QParams>, corrections: Map<number, Float64Array>, o: RewriteOptions): Rewritten {
  const { model, consts, plans, tensors, outputPairs, graphOutputs } = a;
  const graph = model.graph!;
  const nodes = graph.node ?? [];

  const usedNames = new Set<string>();
  for (const n of nodes) { usedNames.add(n.name ?? ''); for (const out of n.output ?? []) usedNames.add(out); }
  for (const t of graph.initializer ?? []) usedNames.add(t.name ?? '');
  for (const i of graph.input ?? []) usedNames.add(i.name ?? '');
  const unique = (base: string): string => {
    let n = base;
    for (let k = 1; usedNames.has(n); k++) n = `${base}_${k}`;
    usedNames.add(n);
    return n;
  };
  const newInits: ITensor[] = [];
  const init = (name: string, data: TensorData, dims: number[]): string => {
    const n = unique(name);
    newInits.push(tensorProto(n, data, dims));
    return n;
  };
  const mk = (opType: string, inputs: string[], outputs: string[], name: string, attrs: IAttr[] = []): INode =>
    onnx.NodeProto.create({ opType, input: inputs, output: outputs, name: unique(name), attribute: attrs });
  const axisAttr = (axis: number): IAttr => onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: axis });

  // One Q -> DQ pair per activation tensor.
  const actZp = (zp: number): TensorData => (o.actType === 'uint8' ? Uint8Array.of(zp) : Int8Array.of(zp));
  const dq = new Map<string, string>();
  const qdqNodes = new Map<string, INode[]>();
  for (const t of tensors) {
    const p = qp.get(t)!;
    const s = init(`${t}_scale`, Float32Array.of(p.scale), []);
    const z = init(`${t}_zero_point`, actZp(p.zeroPoint), []);
    const qOut = unique(`${t}_quantized`);
    const dqOut = unique(`${t}_dequantized`);
    dq.set(t, dqOut);
    qdqNodes.set(t, [mk('QuantizeLinear', [t, s, z], [qOut], `${t}_QuantizeLinear`), mk('DequantizeLinear', [qOut, s, z], [dqOut], `${t}_DequantizeLinear`)]);
  }

  // Weight and bias DequantizeLinear nodes, emitted right before the op using them.
  const weightCache = new Map<string, { out: string; scales: Float32Array }>();
  const preNodes = new Map<INode, INode[]>();
  let weightsQuantized = 0;
  let biasesQuantized = 0;
  plans.forEach((p, k) => {
    const pre: INode[] = [];
    const key = `${p.w}\u0000${p.wAxis}`;
    let wq8 = weightCache.get(key);
    if (!wq8) {
      const qw = o.weights.get(key) ?? quantizeWeight(consts.get(p.w)!, p.wAxis, o);
      o.weights.set(key, qw);
      const { q, scales, dims, channels } = qw;
      const qName = init(`${p.w}_quantized`, q, dims);
      const sName = init(`${p.w}_scale`, scales, o.perChannel ? [channels] : []);
      const zName = init(`${p.w}_zero_point`, new Int8Array(scales.length), o.perChannel ? [channels] : []);
      const out = unique(`${p.w}_dequantized`);
      pre.push(mk('DequantizeLinear', [qName, sName, zName], [out], `${p.w}_DequantizeLinear`, o.perChannel ? [axisAttr(p.wAxis)] : []));
      wq8 = { out, scales };
      weightCache.set(key, wq8);
      weightsQuantized++;
    }
    const newInputs = [...(p.node.input ?? [])];
    newInputs[0] = dq.get(p.x)!;
    newInputs[1] = wq8.out;
    const corr = corrections.get(k);
    if (p.b || (corr && p.canHaveBias)) {
      const channels = dimsOf(consts.get(p.w)!)[p.wAxis]!;
      const bv = p.b ? Float64Array.from(floatsOf(consts.get(p.b)!)) : new Float64Array(channels);
      if (corr) for (let c = 0; c < channels; c++) bv[c] = bv[c]! - corr[c]!;
      const xs = qp.get(p.x)!.scale;
      const bScales = new Float32Array(channels);
      const bq = new Int32Array(channels);
      for (let c = 0; c < channels; c++) {
        const s = Math.fround(xs * wq8.scales[o.perChannel ? c : 0]!);
        bScales[c] = s > 0 ? s : 1;
        bq[c] = Math.max(-2147483647, Math.min(2147483647, roundEven(bv[c]! / bScales[c]!)));
      }
      const base = `${p.b ?? `${p.out}_bias`}_${p.node.name || p.out}`;
      const qName = init(`${base}_quantized`, bq, [channels]);
      const sName = init(`${base}_scale`, bScales, [channels]);
      const zName = init(`${base}_zero_point`, new Int32Array(channels), [channels]);
      const out = unique(`${base}_dequantized`);
      pre.push(mk('DequantizeLinear', [qName, sName, zName], [out], `${base}_DequantizeLinear`, [axisAttr(0)]));
      newInputs[2] = out;
      biasesQuantized++;
    }
    p.node.input = newInputs;
    preNodes.set(p.node, pre);
  });

  // Consumers of an output pair read its DQ (inputs 0/1/2 of quantized ops were set above).
  const planned = new Set(plans.map((p) => p.node));
  for (const n of nodes) {
    const ins = n.input ?? [];
    for (let k = planned.has(n) ? 3 : 0; k < ins.length; k++) if (outputPairs.has(ins[k] ?? '')) ins[k] = dq.get(ins[k]!)!;
  }

  // Topological order: pairs on graph inputs first, then each node preceded by its weight/bias DQs
  // and followed by the pairs of the tensors it produces.
  const realInputs = new Set((graph.input ?? []).map((i) => i.name ?? '').filter((n) => !consts.has(n)));
  const out: INode[] = [];
  const emitted = new Set<string>();
  const emitPair = (t: string): void => {
    const pair = qdqNodes.get(t);
    if (pair && !emitted.has(t)) { out.push(...pair); emitted.add(t); }
  };
  for (const t of tensors) if (realInputs.has(t)) emitPair(t);
  for (const n of nodes) {
    out.push(...(preNodes.get(n) ?? []), n);
    for (const t of n.output ?? []) emitPair(t);
  }
  if (emitted.size !== tensors.length) {
    throw new Error(`no producer found for tensors ${tensors.filter((t) => !emitted.has(t)).join(', ')}`);
  }

  // Drop float weights/biases and Constant nodes nobody reads any more.
  const used = new Set<string>(graphOutputs);
  for (const n of out) for (const i of n.input ?? []) used.add(i);
  graph.node = out.filter((n) => n.opType !== 'Constant' || (n.output ?? []).some((t) => used.has(t)));
  graph.initializer = [...(graph.initializer ?? []).filter((t) => used.has(t.name ?? '')), ...newInits];
  graph.input = (graph.input ?? []).filter((i) => realInputs.has(i.name ?? '') || used.has(i.name ?? ''));
  model.metadataProps = [
    ...(model.metadataProps ?? []).filter((m) => m.key !== 'quantization'),
    { key: 'quantization', value: `emotion-agent static QDQ: int8 per-${o.perChannel ? 'channel' : 'tensor'} weights, ${o.actType} activations, ${o.methodName}` },
  ];
  return { model, weightsQuantized, biasesQuantized };
}

// ----------------------------------------------------------------------------------------------
// The quantizer

export async function quantizeStatic(
  fp32Bytes: Uint8Array,
  calibrationFeeds: Record<string, ort.Tensor>[],
  opts: QuantizeOptions = {},
): Promise<QuantizeResult> {
  if (calibrationFeeds.length === 0) throw new Error('quantizeStatic: no calibration feeds');
  const opTypes = new Set(opts.opTypes ?? ['Conv', 'MatMul', 'Gemm']);
  const exclude = new Set(opts.excludeNodes ?? []);
  const actType: ActivationType = opts.activationType ?? 'uint8';
  const method: CalibrationMethod = opts.calibration ?? { method: 'minmax' };
  const perChannel = opts.perChannel ?? true;
  const wq = (opts.reduceRange ?? true) ? 63 : 127;
  const fuseActs = opts.fuseActivations ?? true;
  const mantissaBits = opts.rangeMantissaBits ?? 8;
  const bc = opts.biasCorrection ?? false;
  const bcFeedCount = Math.min(calibrationFeeds.length, (typeof bc === 'object' ? bc.feeds : undefined) ?? calibrationFeeds.length);
  // Evenly spaced feed indices for bias correction.
  const bcFeeds = new Set(Array.from({ length: bc ? bcFeedCount : 0 }, (_, i) => Math.floor((i * calibrationFeeds.length) / bcFeedCount)));
  const threads = opts.intraOpNumThreads ?? 1;
  const methodName = method.method === 'percentile' ? `percentile ${method.percentile} (${method.bins ?? 2048} bins)` : 'minmax';
  const fresh = (): Analysis => analyze(fp32Bytes, opTypes, exclude, fuseActs);

  const a0 = fresh();
  const correctable = a0.plans.map((p, k) => ({ k, p })).filter(({ p }) => p.canHaveBias);
  const channelOutputs = bc ? correctable.map(({ p }) => ({ name: p.out, axis: p.outAxis })) : [];
  const { observed, channels: fp32Channels } = await calibrate(a0.model, a0.tensors, channelOutputs, bcFeeds, calibrationFeeds, method, threads);

  // Quantization parameters per activation tensor.
  const ranges: Record<string, TensorRange> = {};
  const qp = new Map<string, QParams>();
  for (const t of a0.tensors) {
    const o = observed.get(t)!;
    let [lo, hi] = method.method === 'percentile' ? percentileRange(o, method.percentile) : [o.min, o.max];
    const clip = a0.clipOf.get(t);
    if (clip && opts.clipBoundsAsRange && Number.isFinite(clip[0]) && Number.isFinite(clip[1])) [lo, hi] = clip;
    lo = roundOutward(Math.min(0, lo), mantissaBits);
    hi = roundOutward(Math.max(0, hi), mantissaBits);
    if (clip) { lo = Math.max(lo, clip[0]); hi = Math.min(hi, clip[1]); }
    const p = activationParams(lo, hi, actType);
    qp.set(t, p);
    ranges[t] = { min: o.min, max: o.max, rangeMin: lo, rangeMax: hi, scale: p.scale, zeroPoint: p.zeroPoint };
  }

  const ro: RewriteOptions = { weights: new Map(), actType, weightScale: opts.weightScale ?? 'max', perChannel, wq, methodName };
  const corrections = new Map<number, Float64Array>();
  let stages = 0;
  let largestShift = 0;
  if (bc) {
    // Depth of each quantized op: the most quantized ops on any path from the inputs, itself included.
    const depthOf = new Map<string, number>();
    const planOf = new Map(a0.plans.map((p, k) => [p.node, k]));
    const depth = new Map<number, number>();
    for (const n of a0.model.graph!.node ?? []) {
      let d = 0;
      for (const i of n.input ?? []) d = Math.max(d, depthOf.get(i) ?? 0);
      const k = planOf.get(n);
      if (k !== undefined) { d += 1; depth.set(k, d); }
      for (const o of n.output ?? []) depthOf.set(o, d);
    }
    stages = Math.max(0, ...depth.values());
    const feedList = [...bcFeeds].sort((x, y) => x - y).map((i) => calibrationFeeds[i]!);
    for (let stage = 1; stage <= stages; stage++) {
      const group = correctable.filter(({ k }) => depth.get(k) === stage);
      if (group.length === 0) continue;
      const names = group.map(({ p }) => p.out);
      const model = rewrite(fresh(), qp, corrections, ro).model;
      const s = await session(truncated(model, names), threads);
      const qStats = new Map<string, ChannelStats>();
      try {
        for (const feed of feedList) {
          const out = await s.run(feed, names);
          for (const { p } of group) qStats.set(p.out, channelAccumulate(out[p.out]!, p.outAxis, qStats.get(p.out)));
        }
      } finally {
        await s.release();
      }
      for (const { k, p } of group) {
        const f = fp32Channels.get(p.out)!;
        const q = qStats.get(p.out)!;
        const C = f.sum.length;
        let rms = 0;
        for (let c = 0; c < C; c++) rms += f.sq[c]! / f.n;
        rms = Math.sqrt(rms / C) || 1;
        const corr = new Float64Array(C);
        for (let c = 0; c < C; c++) {
          const shift = q.sum[c]! / q.n - f.sum[c]! / f.n;
          largestShift = Math.max(largestShift, Math.abs(shift) / rms);
          // 8 significant bits: machine-level float noise in the means cannot change the int32 bias.
          corr[c] = roundSignificant(shift, 8);
        }
        corrections.set(k, corr);
      }
    }
  }
  const result = rewrite(fresh(), qp, corrections, ro);

  const plans = a0.plans;
  const quantizedOpsByType: Record<string, number> = {};
  for (const p of plans) quantizedOpsByType[p.opType] = (quantizedOpsByType[p.opType] ?? 0) + 1;
  const skipTypes = new Set(['QuantizeLinear', 'DequantizeLinear']);
  const quantizedNames = new Set(plans.map((p) => p.node.name || p.out));
  const foldedNames = new Set(plans.flatMap((p) => (p.fusedAct ? [p.fusedAct.name || p.fusedAct.output?.[0] || ''] : [])));
  const fp32OpsByType: Record<string, number> = {};
  for (const n of result.model.graph!.node ?? []) {
    const t = n.opType ?? '';
    const name = n.name || n.output?.[0] || '';
    if (skipTypes.has(t) || quantizedNames.has(name) || foldedNames.has(name)) continue;
    fp32OpsByType[t] = (fp32OpsByType[t] ?? 0) + 1;
  }
  const report: QuantizeReport = {
    method: methodName,
    format: 'QDQ',
    opset: a0.opset,
    activationType: actType,
    weightType: 'int8',
    weightRange: [-wq, wq],
    biasType: 'int32',
    perChannel,
    symmetricWeights: true,
    calibrationSamples: calibrationFeeds.reduce((n, f) => n + (Object.values(f)[0]?.dims[0] ?? 1), 0),
    quantizedOps: plans.length,
    quantizedOpsByType,
    quantizedNodes: plans.map((p) => p.node.name || p.out),
    fusedActivations: [...foldedNames],
    skipped: a0.skipped,
    fp32OpsByType,
    tensorsCalibrated: a0.tensors.length,
    weightsQuantized: result.weightsQuantized,
    biasesQuantized: result.biasesQuantized,
    qdqPairs: a0.tensors.length,
    biasCorrection: { enabled: Boolean(bc), stages, feeds: bcFeeds.size, opsCorrected: corrections.size, largestShiftOverRms: largestShift },
    ranges,
  };
  return { bytes: encodeModel(result.model), report };
}
