// TFJS graph model (model.json + weightsManifest + .bin shards) -> ONNX, written for the small
// convolutional graphs we ship (the emotion classifier, the BlazeFace detectors).
//
// Layout strategy: TF graphs are NHWC. Every rank-4 activation is kept physically NCHW inside the
// ONNX graph (one Transpose after an NHWC input), convolution weights are re-laid out once at
// conversion time (HWIO -> OIHW, depthwise HW(C*M) -> (C*M)1HW), and a Transpose back to NHWC is
// inserted only where TF semantics depend on the memory order (Reshape, Squeeze, a non-4D mix,
// graph outputs). Shapes are tracked in TF's logical (NHWC) order so TF 'SAME' padding can be turned
// into explicit, possibly asymmetric ONNX pads (TF puts the odd extra pixel at the bottom/right).
//
// Only nodes reachable from the graph outputs are converted, in a deterministic depth-first order,
// so the same model.json always gives the same ONNX bytes.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DataType, GraphBuilder, encodeModel, float, int, ints, str, type Attr, type OnnxModel } from './onnx/builder.js';

// ---------------------------------------------------------------------------------------------
// model.json types (the subset we read)

export interface TfAttrValue {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  shape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
  list?: { s?: string[]; i?: (string | number)[]; f?: number[]; b?: boolean[]; type?: string[] };
  tensor?: unknown;
  func?: unknown;
}

export interface TfNodeDef {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttrValue>;
  device?: string;
}

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; min?: number; scale?: number; original_dtype?: string };
}

export interface WeightsGroup { paths: string[]; weights: WeightSpec[] }

interface SignatureTensor { name: string; dtype?: string; tensorShape?: { dim?: { size?: string | number }[] } }
export interface TfSignature { inputs?: Record<string, SignatureTensor>; outputs?: Record<string, SignatureTensor> }

export interface TfjsModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  modelTopology: { node: TfNodeDef[]; library?: { function?: unknown[] }; versions?: unknown };
  weightsManifest: WeightsGroup[];
  signature?: TfSignature;
  userDefinedMetadata?: { signature?: TfSignature };
}

export type WeightDType = 'float32' | 'int32' | 'bool';

export interface Weight {
  name: string;
  dtype: WeightDType;
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

export interface TfjsGraphModel {
  json: TfjsModelJson;
  weights: Map<string, Weight>;
}

// ---------------------------------------------------------------------------------------------
// Loading and weight decoding

const QUANT_BYTES: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/** IEEE 754 half -> float (exact: every half is representable as a float). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero / subnormal
  if (exp === 0x1f) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/**
 * Decodes the weights of one manifest group from the concatenation of its shards. Handles plain
 * float32/int32/bool and the TFJS converter's quantized forms: uint8/uint16 with scale and min
 * (value = q * scale + min, rounded for int32 weights) and float16.
 */
export function decodeWeights(specs: readonly WeightSpec[], bytes: Uint8Array): Map<string, Weight> {
  const out = new Map<string, Weight>();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  for (const spec of specs) {
    const count = product(spec.shape);
    const dtype = spec.dtype;
    if (dtype !== 'float32' && dtype !== 'int32' && dtype !== 'bool') {
      throw new Error(`weight ${spec.name}: dtype ${dtype} is not supported`);
    }
    const q = spec.quantization;
    const bytesPer = q ? QUANT_BYTES[q.dtype] : DTYPE_BYTES[dtype];
    if (bytesPer === undefined) throw new Error(`weight ${spec.name}: unknown quantization dtype ${q?.dtype}`);
    const size = count * bytesPer;
    if (offset + size > bytes.byteLength) {
      throw new Error(`weight ${spec.name}: needs bytes ${offset}..${offset + size} but the shards hold ${bytes.byteLength}`);
    }
    let data: Float32Array | Int32Array | Uint8Array;
    if (!q) {
      if (dtype === 'float32') {
        data = new Float32Array(count);
        for (let i = 0; i < count; i++) data[i] = view.getFloat32(offset + 4 * i, true);
      } else if (dtype === 'int32') {
        data = new Int32Array(count);
        for (let i = 0; i < count; i++) data[i] = view.getInt32(offset + 4 * i, true);
      } else {
        data = bytes.slice(offset, offset + count);
      }
    } else if (q.dtype === 'float16') {
      if (dtype !== 'float32') throw new Error(`weight ${spec.name}: float16 quantization of ${dtype}`);
      data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = halfToFloat(view.getUint16(offset + 2 * i, true));
    } else {
      if (q.scale === undefined || q.min === undefined) throw new Error(`weight ${spec.name}: ${q.dtype} quantization without scale/min`);
      const read = (i: number): number => (q.dtype === 'uint8' ? view.getUint8(offset + i) : view.getUint16(offset + 2 * i, true));
      if (dtype === 'float32') {
        data = new Float32Array(count);
        for (let i = 0; i < count; i++) data[i] = read(i) * q.scale + q.min;
      } else if (dtype === 'int32') {
        data = new Int32Array(count);
        for (let i = 0; i < count; i++) data[i] = Math.round(read(i) * q.scale + q.min);
      } else {
        throw new Error(`weight ${spec.name}: quantized bool`);
      }
    }
    out.set(spec.name, { name: spec.name, dtype, shape: [...spec.shape], data });
    offset += size;
  }
  if (offset !== bytes.byteLength) throw new Error(`weights: ${bytes.byteLength - offset} unread bytes at the end of the shards`);
  return out;
}

/** Parses a model.json object plus a reader for its shard files (paths relative to the json). */
export function parseTfjsGraphModel(json: TfjsModelJson, readShard: (path: string) => Uint8Array): TfjsGraphModel {
  if (!json.modelTopology || !Array.isArray(json.modelTopology.node)) throw new Error('not a TFJS graph model: modelTopology.node is missing');
  if (json.format !== undefined && json.format !== 'graph-model') throw new Error(`not a TFJS graph model: format ${json.format}`);
  const weights = new Map<string, Weight>();
  for (const group of json.weightsManifest ?? []) {
    const shards = group.paths.map((p) => readShard(p));
    const total = shards.reduce((a, s) => a + s.byteLength, 0);
    const all = new Uint8Array(total);
    let at = 0;
    for (const s of shards) { all.set(s, at); at += s.byteLength; }
    for (const [k, v] of decodeWeights(group.weights, all)) {
      if (weights.has(k)) throw new Error(`weight ${k} appears twice in the manifest`);
      weights.set(k, v);
    }
  }
  return { json, weights };
}

export function loadTfjsGraphModel(jsonPath: string): TfjsGraphModel {
  const json = JSON.parse(readFileSync(jsonPath, 'utf8')) as TfjsModelJson;
  const dir = dirname(jsonPath);
  return parseTfjsGraphModel(json, (p) => new Uint8Array(readFileSync(join(dir, p))));
}

/** Op histogram of the whole topology, sorted by op name. */
export function opCounts(json: TfjsModelJson): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of json.modelTopology.node) counts[n.op] = (counts[n.op] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function signatureOf(json: TfjsModelJson): TfSignature | undefined {
  return json.signature ?? json.userDefinedMetadata?.signature;
}

// ---------------------------------------------------------------------------------------------
// Attribute helpers

const b64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

function attrStr(node: TfNodeDef, key: string): string | undefined {
  const a = node.attr?.[key];
  return a?.s === undefined ? undefined : b64(a.s);
}
function attrInts(node: TfNodeDef, key: string): number[] | undefined {
  const a = node.attr?.[key];
  if (!a?.list) return undefined;
  return (a.list.i ?? []).map(Number);
}
function attrStrs(node: TfNodeDef, key: string): string[] {
  return (node.attr?.[key]?.list?.s ?? []).map(b64);
}
function attrBool(node: TfNodeDef, key: string, dflt: boolean): boolean {
  const v = node.attr?.[key]?.b;
  return v === undefined ? dflt : v;
}
function attrFloat(node: TfNodeDef, key: string): number | undefined {
  const v = node.attr?.[key]?.f;
  return v === undefined ? undefined : Number(v);
}
function attrDtype(node: TfNodeDef, key: string): string | undefined {
  return node.attr?.[key]?.type;
}

// ---------------------------------------------------------------------------------------------
// Conversion

export class UnsupportedOpError extends Error {
  constructor(readonly op: string, readonly node: string, detail?: string) {
    super(`Unsupported TFJS op "${op}" at node "${node}"${detail ? `: ${detail}` : ''}. Supported ops: ${SUPPORTED_OPS.join(', ')}`);
    this.name = 'UnsupportedOpError';
  }
}

export const SUPPORTED_OPS = [
  'Add', 'AddV2', 'AvgPool', 'ConcatV2', 'Const', 'Conv2D', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2dNative',
  'Identity', 'LeakyRelu', 'MatMul', 'MaxPool', 'Maximum', 'Mean', 'Minimum', 'Mul', 'Pad', 'PadV2', 'Placeholder',
  'Prelu', 'RealDiv', 'Relu', 'Relu6', 'Reshape', 'Sigmoid', 'Softmax', 'Squeeze', 'StopGradient', 'Sub', 'Tanh', '_FusedConv2D', '_FusedMatMul',
] as const;

/** NHWC axis a lives at NCHW axis NHWC_TO_NCHW[a]; NCHW axis j holds NHWC axis NCHW_FROM_NHWC[j]. */
const NHWC_TO_NCHW = [0, 2, 3, 1] as const;
const NCHW_FROM_NHWC = [0, 3, 1, 2] as const;

interface Val {
  /** ONNX tensor name; empty for a constant not yet written as an initializer. */
  name: string;
  /** TF logical shape (NHWC order for rank 4); -1 where unknown. */
  shape: number[];
  /** Stored physically NCHW (rank 4 only). */
  nchw: boolean;
  dtype: WeightDType;
  /** Constant data in TF layout (Consts only). */
  constData?: Float32Array | Int32Array | Uint8Array;
  /** TF node this value came from, for messages and initializer names. */
  tfName: string;
}

export interface ConvertOptions {
  /** ONNX graph name; default 'tfjs_graph'. */
  graphName?: string;
  /** Layout of rank-4 ONNX inputs: NHWC (as the TFJS model takes them; default) or NCHW. */
  inputLayout?: 'NHWC' | 'NCHW';
  /** TF placeholder name -> ONNX input name. */
  inputNames?: Record<string, string>;
  /** TF output node name -> ONNX output name. */
  outputNames?: Record<string, string>;
  /** TF node names to expose as outputs, in order; default: the signature's outputs, else the sinks. */
  outputs?: string[];
  /** Replaces an unknown (-1) batch dimension: a fixed size or a symbolic name; default 'batch'. */
  batch?: number | string;
  docString?: string;
  metadata?: Record<string, string>;
}

export interface ConvertedIo {
  name: string;
  /** ONNX shape; -1 for symbolic dimensions. */
  shape: number[];
  tfName: string;
}

export interface ConvertResult {
  model: OnnxModel;
  bytes: Uint8Array;
  inputs: (ConvertedIo & { layout: 'NHWC' | 'NCHW' | 'plain' })[];
  outputs: ConvertedIo[];
  /** Ops of the converted (reachable) nodes, with counts. */
  ops: Record<string, number>;
}

/** Splits "node:1" / "^node" references; only output 0 of a node is supported. */
function parseRef(ref: string, consumer: string): string | null {
  if (ref.startsWith('^')) return null; // control dependency
  const m = /^(.*?)(?::(\d+))?$/.exec(ref);
  const name = m?.[1] ?? ref;
  const idx = Number(m?.[2] ?? 0);
  if (idx !== 0) throw new Error(`node ${consumer}: input ${ref} uses output ${idx}; only single-output producers are supported`);
  return name;
}

function permute<T extends Float32Array | Int32Array | Uint8Array>(data: T, shape: readonly number[], perm: readonly number[]): T {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) inStrides[i] = inStrides[i + 1]! * shape[i + 1]!;
  const out = new (data.constructor as new (n: number) => T)(data.length);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < data.length; o++) {
    let src = 0;
    for (let k = 0; k < rank; k++) src += idx[k]! * inStrides[perm[k]!]!;
    out[o] = data[src]!;
    for (let k = rank - 1; k >= 0; k--) {
      idx[k]!++;
      if (idx[k]! < outShape[k]!) break;
      idx[k] = 0;
    }
  }
  return out;
}

function broadcastShapes(a: readonly number[], b: readonly number[], where: string): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else if (x === -1 || y === -1) out.push(x === -1 ? y : x);
    else throw new Error(`${where}: shapes [${a.join(',')}] and [${b.join(',')}] do not broadcast`);
  }
  return out;
}

interface Spatial { outH: number; outW: number; pads: [number, number, number, number] }

/** Output size and ONNX pads [top, left, bottom, right] for TF padding on a fixed input size. */
export function tfSpatial(
  inH: number, inW: number, kH: number, kW: number, sH: number, sW: number, dH: number, dW: number,
  padding: string, explicit: number[] | undefined, where: string,
): Spatial {
  if (inH < 0 || inW < 0) throw new Error(`${where}: spatial size must be known (got ${inH}x${inW})`);
  const effH = (kH - 1) * dH + 1;
  const effW = (kW - 1) * dW + 1;
  if (padding === 'VALID') {
    return { outH: Math.floor((inH - effH) / sH) + 1, outW: Math.floor((inW - effW) / sW) + 1, pads: [0, 0, 0, 0] };
  }
  if (padding === 'SAME') {
    const outH = Math.ceil(inH / sH);
    const outW = Math.ceil(inW / sW);
    const totH = Math.max((outH - 1) * sH + effH - inH, 0);
    const totW = Math.max((outW - 1) * sW + effW - inW, 0);
    const top = Math.floor(totH / 2);
    const left = Math.floor(totW / 2);
    return { outH, outW, pads: [top, left, totH - top, totW - left] };
  }
  if (padding === 'EXPLICIT') {
    // explicit_paddings: NHWC pairs [n0,n1,h0,h1,w0,w1,c0,c1]
    const e = explicit ?? [];
    if (e.length !== 8 || e[0] || e[1] || e[6] || e[7]) throw new Error(`${where}: bad explicit_paddings [${e.join(',')}]`);
    const [t, b, l, r] = [e[2]!, e[3]!, e[4]!, e[5]!];
    return { outH: Math.floor((inH + t + b - effH) / sH) + 1, outW: Math.floor((inW + l + r - effW) / sW) + 1, pads: [t, l, b, r] };
  }
  throw new Error(`${where}: unknown padding ${padding}`);
}

class Converter {
  private readonly g: GraphBuilder;
  private readonly nodes = new Map<string, TfNodeDef>();
  private readonly vals = new Map<string, Val>();
  private readonly nhwcCache = new Map<string, string>();
  private readonly nchwCache = new Map<string, string>();
  private readonly shared = new Map<string, string>();
  private readonly ops: Record<string, number> = {};
  private reserved = new Set<string>();
  readonly inputs: ConvertResult['inputs'] = [];
  readonly outputs: ConvertedIo[] = [];

  constructor(private readonly model: TfjsGraphModel, private readonly opt: ConvertOptions) {
    this.g = new GraphBuilder(opt.graphName ?? 'tfjs_graph');
    for (const n of model.json.modelTopology.node) {
      if (this.nodes.has(n.name)) throw new Error(`duplicate node name ${n.name}`);
      this.nodes.set(n.name, n);
    }
  }

  // ---- graph traversal -----------------------------------------------------------------------

  private outputNodes(): string[] {
    if (this.opt.outputs) return this.opt.outputs;
    const sig = signatureOf(this.model.json);
    if (sig?.outputs && Object.keys(sig.outputs).length > 0) {
      return Object.values(sig.outputs).map((t) => parseRef(t.name, 'signature') ?? t.name);
    }
    const consumed = new Set<string>();
    for (const n of this.nodes.values()) for (const r of n.input ?? []) { const p = parseRef(r, n.name); if (p) consumed.add(p); }
    return [...this.nodes.values()].filter((n) => !consumed.has(n.name) && n.op !== 'Const' && n.op !== 'NoOp').map((n) => n.name);
  }

  /** Reachable nodes in a deterministic topological order (inputs first, left to right). */
  private order(outputs: string[]): TfNodeDef[] {
    const state = new Map<string, 1 | 2>();
    const order: TfNodeDef[] = [];
    for (const root of outputs) {
      const stack: { name: string; next: number }[] = [{ name: root, next: 0 }];
      while (stack.length > 0) {
        const top = stack[stack.length - 1]!;
        const node = this.nodes.get(top.name);
        if (!node) throw new Error(`graph references unknown node ${top.name}`);
        if (top.next === 0) {
          if (state.get(top.name) === 2) { stack.pop(); continue; }
          state.set(top.name, 1);
        }
        const refs = (node.input ?? []).map((r) => parseRef(r, node.name)).filter((r): r is string => r !== null);
        if (top.next < refs.length) {
          const dep = refs[top.next++]!;
          const s = state.get(dep);
          if (s === 1) throw new Error(`graph has a cycle through ${dep}`);
          if (s !== 2) stack.push({ name: dep, next: 0 });
          continue;
        }
        state.set(top.name, 2);
        order.push(node);
        stack.pop();
      }
    }
    return order;
  }

  // ---- value helpers ---------------------------------------------------------------------------

  private val(ref: string, consumer: TfNodeDef): Val {
    const name = parseRef(ref, consumer.name);
    const v = name === null ? undefined : this.vals.get(name);
    if (!v) throw new Error(`node ${consumer.name}: input ${ref} has no value`);
    return v;
  }

  private dataInputs(node: TfNodeDef): Val[] {
    return (node.input ?? []).filter((r) => !r.startsWith('^')).map((r) => this.val(r, node));
  }

  private constInts(v: Val, node: TfNodeDef, what: string): number[] {
    if (!v.constData || v.dtype !== 'int32') {
      throw new UnsupportedOpError(node.op, node.name, `${what} must be a constant int32 tensor`);
    }
    return Array.from(v.constData);
  }

  private constFloats(v: Val, node: TfNodeDef, what: string): Float32Array {
    if (!v.constData || v.dtype !== 'float32') throw new UnsupportedOpError(node.op, node.name, `${what} must be a constant float32 tensor`);
    return v.constData as Float32Array;
  }

  /** The ONNX name of a value in TF (plain) layout; writes a Const as an initializer on first use. */
  private plain(v: Val): string {
    if (v.constData) {
      if (!v.name) {
        if (v.dtype === 'bool') throw new Error(`bool constant ${v.tfName} is not supported`);
        v.name = this.g.initializer(v.tfName, v.constData, v.shape);
      }
      return v.name;
    }
    if (!v.nchw) return v.name;
    return this.transposed(v.name, NHWC_TO_NCHW, this.nhwcCache, '__nhwc');
  }

  /** One Transpose per value and direction, shared by every consumer. */
  private transposed(name: string, perm: readonly number[], cache: Map<string, string>, suffix: string): string {
    const cached = cache.get(name);
    if (cached) return cached;
    const t = this.g.node('Transpose', [name], { perm: ints([...perm]) }, [`${name}${suffix}`]);
    cache.set(name, t);
    return t;
  }

  /** The ONNX name of a rank-4 value in NCHW layout. */
  private nchw(v: Val, where: string): string {
    if (v.shape.length !== 4) throw new Error(`${where}: expected a rank-4 tensor, got [${v.shape.join(',')}]`);
    if (v.nchw) return v.name;
    if (v.constData) {
      const data = permute(v.constData as Float32Array, v.shape, NCHW_FROM_NHWC);
      return this.g.initializer(this.g.fresh(`${v.tfName}__nchw`), data, NCHW_FROM_NHWC.map((a) => v.shape[a]!));
    }
    return this.transposed(v.name, NCHW_FROM_NHWC, this.nchwCache, '__nchw');
  }

  /** A value of rank < 4 brought to rank 4 (leading 1s) and NCHW, for broadcasting against NCHW. */
  private nchwBroadcast(v: Val, where: string): string {
    if (v.shape.length === 4) return this.nchw(v, where);
    const shape4 = [...new Array<number>(4 - v.shape.length).fill(1), ...v.shape];
    if (v.constData) {
      const data = permute(v.constData as Float32Array, shape4, NCHW_FROM_NHWC);
      return this.g.initializer(this.g.fresh(`${v.tfName}__nchw`), data, NCHW_FROM_NHWC.map((a) => shape4[a]!));
    }
    const axes = this.int64(Array.from({ length: 4 - v.shape.length }, (_, i) => i));
    const u = this.g.node('Unsqueeze', [this.plain(v), axes]);
    return this.g.node('Transpose', [u], { perm: ints([...NCHW_FROM_NHWC]) });
  }

  private int64(values: number[]): string {
    const key = `i64:${values.join(',')}`;
    let name = this.shared.get(key);
    if (!name) {
      name = this.g.initializer(this.g.fresh('const_i64'), BigInt64Array.from(values.map((x) => BigInt(x))), [values.length]);
      this.shared.set(key, name);
    }
    return name;
  }

  private scalarF32(value: number): string {
    const key = `f32:${value}`;
    let name = this.shared.get(key);
    if (!name) {
      name = this.g.initializer(this.g.fresh('const_f32'), Float32Array.of(value), []);
      this.shared.set(key, name);
    }
    return name;
  }

  /** ONNX name for a node's result: its TF name, unless that name is reserved for a graph output. */
  private own(node: TfNodeDef): string {
    return this.reserved.has(node.name) ? `${node.name}__out` : node.name;
  }

  private set(node: TfNodeDef, v: Omit<Val, 'tfName'>): void {
    this.vals.set(node.name, { ...v, tfName: node.name });
  }

  // ---- main ----------------------------------------------------------------------------------

  run(): ConvertResult {
    const outs = this.outputNodes();
    if (outs.length === 0) throw new Error('graph has no outputs');
    this.reserved = new Set(outs.map((o) => this.opt.outputNames?.[o] ?? o));
    for (const node of this.order(outs)) {
      this.ops[node.op] = (this.ops[node.op] ?? 0) + 1;
      this.convertNode(node);
    }
    const used = new Set<string>();
    for (const tfName of outs) {
      const v = this.vals.get(tfName)!;
      const name = this.opt.outputNames?.[tfName] ?? tfName;
      if (used.has(name)) throw new Error(`output name ${name} used twice`);
      used.add(name);
      const src = this.plain(v);
      if (src !== name) {
        if (this.g.nodes.some((n) => (n.output ?? []).includes(name))) throw new Error(`output name ${name} collides with an internal tensor`);
        this.g.node('Identity', [src], {}, [name]);
      }
      const dims = this.onnxDims(v.shape);
      this.g.output(name, dims, v.dtype === 'int32' ? DataType.INT32 : DataType.FLOAT);
      this.outputs.push({ name, shape: dims.map((d) => (typeof d === 'number' ? d : -1)), tfName });
    }
    const meta = {
      producerName: 'emotion-agent/scripts/models/tfjs-graph.ts',
      producerVersion: '1',
      docString: this.opt.docString ?? '',
      opset: 13,
      ...(this.opt.metadata ? { metadata: this.opt.metadata } : {}),
    };
    const model = this.g.build(meta);
    const ops = Object.fromEntries(Object.entries(this.ops).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return { model, bytes: encodeModel(model), inputs: this.inputs, outputs: this.outputs, ops };
  }

  private onnxDims(shape: readonly number[]): (number | string)[] {
    const batch = this.opt.batch ?? 'batch';
    return shape.map((d, i) => (d >= 0 ? d : i === 0 ? batch : `dim${i}`));
  }

  private convertNode(node: TfNodeDef): void {
    const where = `${node.op} ${node.name}`;
    const df = attrStr(node, 'data_format');
    if (df !== undefined && df !== 'NHWC') throw new UnsupportedOpError(node.op, node.name, `data_format ${df} (only NHWC)`);
    switch (node.op) {
      case 'Placeholder': return this.placeholder(node);
      case 'Const': return this.constant(node);
      case 'Identity': case 'StopGradient': {
        const [x] = this.dataInputs(node);
        if (!x) throw new Error(`${where}: no input`);
        this.vals.set(node.name, x);
        return;
      }
      case 'Conv2D': case '_FusedConv2D': return this.conv(node, false);
      case 'DepthwiseConv2dNative': case 'FusedDepthwiseConv2dNative': return this.conv(node, true);
      case 'MaxPool': case 'AvgPool': return this.pool(node);
      case 'Add': case 'AddV2': case 'Sub': case 'Mul': case 'RealDiv': case 'Maximum': case 'Minimum': return this.binary(node);
      case 'Relu': case 'Relu6': case 'Sigmoid': case 'Tanh': case 'LeakyRelu': {
        const [x] = this.dataInputs(node);
        if (!x || x.constData) throw new UnsupportedOpError(node.op, node.name, 'constant input');
        const alpha = attrFloat(node, 'alpha') ?? 0.2;
        // fresh output name (not the TF name): keeps the bytes of already published conversions stable
        const y = this.activation(node.op, x.nchw ? x.name : this.plain(x), x.nchw, undefined, alpha, where);
        this.set(node, { name: y, shape: x.shape, nchw: x.nchw, dtype: 'float32' });
        return;
      }
      case 'Prelu': {
        const [x, a] = this.dataInputs(node);
        if (!x || !a) throw new Error(`${where}: needs 2 inputs`);
        const y = this.activation('Prelu', x.nchw ? x.name : this.plain(x), x.nchw, a, 0, where);
        this.set(node, { name: y, shape: x.shape, nchw: x.nchw, dtype: 'float32' });
        return;
      }
      case 'Softmax': {
        const [x] = this.dataInputs(node);
        if (!x) throw new Error(`${where}: no input`);
        const axis = x.nchw ? 1 : -1;
        const y = this.g.node('Softmax', [x.nchw ? x.name : this.plain(x)], { axis: int(axis) }, [this.own(node)]);
        this.set(node, { name: y, shape: x.shape, nchw: x.nchw, dtype: 'float32' });
        return;
      }
      case 'Pad': case 'PadV2': return this.pad(node);
      case 'Reshape': return this.reshape(node);
      case 'Squeeze': return this.squeeze(node);
      case 'Mean': return this.mean(node);
      case 'ConcatV2': return this.concat(node);
      case 'MatMul': case '_FusedMatMul': return this.matmul(node);
      default: throw new UnsupportedOpError(node.op, node.name);
    }
  }

  private placeholder(node: TfNodeDef): void {
    const dt = attrDtype(node, 'dtype');
    if (dt !== undefined && dt !== 'DT_FLOAT') throw new UnsupportedOpError(node.op, node.name, `dtype ${dt}`);
    const dims = node.attr?.shape?.shape?.dim;
    if (!dims) throw new Error(`Placeholder ${node.name}: unknown shape`);
    const shape = dims.map((d) => Number(d.size ?? -1));
    if (typeof this.opt.batch === 'number' && shape[0] === -1) shape[0] = this.opt.batch;
    const name = this.opt.inputNames?.[node.name] ?? node.name;
    if (shape.length === 4) {
      if (shape[1]! < 0 || shape[2]! < 0 || shape[3]! < 0) throw new Error(`Placeholder ${node.name}: H, W and C must be fixed`);
      const layout = this.opt.inputLayout ?? 'NHWC';
      if (layout === 'NHWC') {
        const dimsOnnx = this.onnxDims(shape);
        this.g.input(name, dimsOnnx);
        const t = this.g.node('Transpose', [name], { perm: ints([...NCHW_FROM_NHWC]) }, [`${name}__nchw`]);
        this.set(node, { name: t, shape, nchw: true, dtype: 'float32' });
        this.inputs.push({ name, shape: dimsOnnx.map((d) => (typeof d === 'number' ? d : -1)), tfName: node.name, layout });
      } else {
        const nchwShape = NCHW_FROM_NHWC.map((a) => shape[a]!);
        const dimsOnnx = this.onnxDims(nchwShape);
        this.g.input(name, dimsOnnx);
        this.set(node, { name, shape, nchw: true, dtype: 'float32' });
        this.inputs.push({ name, shape: dimsOnnx.map((d) => (typeof d === 'number' ? d : -1)), tfName: node.name, layout });
      }
    } else {
      const dimsOnnx = this.onnxDims(shape);
      this.g.input(name, dimsOnnx);
      this.set(node, { name, shape, nchw: false, dtype: 'float32' });
      this.inputs.push({ name, shape: dimsOnnx.map((d) => (typeof d === 'number' ? d : -1)), tfName: node.name, layout: 'plain' });
    }
  }

  private constant(node: TfNodeDef): void {
    const w = this.model.weights.get(node.name);
    if (!w) throw new Error(`Const ${node.name} has no entry in the weights manifest (inline constants are not supported)`);
    this.set(node, { name: '', shape: w.shape, nchw: false, dtype: w.dtype, constData: w.data });
  }

  /** Applies a (fused) activation to an ONNX tensor; returns the output name. */
  private activation(kind: string, x: string, isNchw: boolean, alphaVal: Val | undefined, leakyAlpha: number, where: string, outName?: string): string {
    const outs = outName ? [outName] : undefined;
    switch (kind) {
      case 'Relu': return this.g.node('Relu', [x], {}, outs);
      case 'Relu6': return this.g.node('Clip', [x, this.scalarF32(0), this.scalarF32(6)], {}, outs);
      case 'Sigmoid': return this.g.node('Sigmoid', [x], {}, outs);
      case 'Tanh': return this.g.node('Tanh', [x], {}, outs);
      case 'Elu': return this.g.node('Elu', [x], { alpha: float(1) }, outs);
      case 'LeakyRelu': return this.g.node('LeakyRelu', [x], { alpha: float(leakyAlpha) }, outs);
      case 'Prelu': {
        if (!alphaVal) throw new Error(`${where}: Prelu without alpha`);
        let alpha: string;
        if (isNchw) {
          if (alphaVal.constData && alphaVal.dtype === 'float32' && alphaVal.shape.length <= 1) {
            const c = product(alphaVal.shape);
            alpha = this.g.initializer(this.g.fresh(`${alphaVal.tfName}__c11`), (alphaVal.constData as Float32Array).slice(), [c, 1, 1]);
          } else {
            alpha = this.nchwBroadcast(alphaVal, where);
          }
        } else {
          alpha = this.plain(alphaVal);
        }
        return this.g.node('PRelu', [x, alpha], {}, outs);
      }
      default: throw new Error(`${where}: fused activation ${kind} is not supported`);
    }
  }

  private conv(node: TfNodeDef, depthwise: boolean): void {
    const where = `${node.op} ${node.name}`;
    const [x, filter, ...args] = this.dataInputs(node);
    if (!x || !filter) throw new Error(`${where}: needs input and filter`);
    if (x.constData) throw new UnsupportedOpError(node.op, node.name, 'constant input');
    const f = this.constFloats(filter, node, 'filter');
    if (filter.shape.length !== 4) throw new Error(`${where}: filter shape [${filter.shape.join(',')}]`);
    const [kH, kW, inC, m] = filter.shape as [number, number, number, number];
    const strides = attrInts(node, 'strides') ?? [1, 1, 1, 1];
    const dil = attrInts(node, 'dilations') ?? [1, 1, 1, 1];
    if (strides[0] !== 1 || strides[3] !== 1 || dil[0] !== 1 || dil[3] !== 1) throw new Error(`${where}: batch/channel strides or dilations`);
    const padding = attrStr(node, 'padding') ?? 'VALID';
    const sp = tfSpatial(x.shape[1]!, x.shape[2]!, kH, kW, strides[1]!, strides[2]!, dil[1]!, dil[2]!, padding, attrInts(node, 'explicit_paddings'), where);

    // fused ops: [BiasAdd] [activation]
    const fused = attrStrs(node, 'fused_ops');
    let bias: Val | undefined;
    let act: string | undefined;
    let alpha: Val | undefined;
    let argi = 0;
    for (const [i, op] of fused.entries()) {
      if (op === 'BiasAdd' && i === 0) bias = args[argi++];
      else if (['Relu', 'Relu6', 'Elu', 'Sigmoid', 'Tanh', 'LeakyRelu', 'Prelu'].includes(op) && i === fused.length - 1 && act === undefined) {
        act = op;
        if (op === 'Prelu') alpha = args[argi++];
      } else {
        throw new UnsupportedOpError(node.op, node.name, `fused_ops [${fused.join(', ')}]`);
      }
    }
    if ((node.op === '_FusedConv2D' || node.op === 'FusedDepthwiseConv2dNative') && fused.length === 0) {
      throw new UnsupportedOpError(node.op, node.name, 'no fused_ops');
    }
    if ((bias === undefined) !== !fused.includes('BiasAdd') || (act === 'Prelu' && !alpha)) throw new Error(`${where}: missing fused arguments`);

    let weight: Float32Array;
    let wDims: number[];
    let group = 1;
    let outC: number;
    if (depthwise) {
      // TF [kH, kW, C, M] (output channel c*M+m) -> ONNX [C*M, 1, kH, kW], group C
      weight = permute(f, filter.shape, [2, 3, 0, 1]);
      wDims = [inC * m, 1, kH, kW];
      group = inC;
      outC = inC * m;
      if (x.shape[3] !== inC) throw new Error(`${where}: input has ${x.shape[3]} channels, filter expects ${inC}`);
    } else {
      // TF HWIO -> ONNX OIHW
      weight = permute(f, filter.shape, [3, 2, 0, 1]);
      wDims = [m, inC, kH, kW];
      outC = m;
      if (x.shape[3] !== inC) throw new Error(`${where}: input has ${x.shape[3]} channels, filter expects ${inC}`);
    }
    const wName = this.g.initializer(this.g.fresh(`${filter.tfName}__${depthwise ? 'c1hw' : 'oihw'}`), weight, wDims);
    const inputs = [this.nchw(x, where), wName];
    if (bias) {
      const b = this.constFloats(bias, node, 'bias');
      if (b.length !== outC) throw new Error(`${where}: bias has ${b.length} values for ${outC} channels`);
      inputs.push(this.plain(bias));
    }
    const attrs: Record<string, Attr> = {
      kernel_shape: ints([kH, kW]),
      strides: ints([strides[1]!, strides[2]!]),
      dilations: ints([dil[1]!, dil[2]!]),
      pads: ints(sp.pads),
      group: int(group),
    };
    const convOut = act ? undefined : [this.own(node)];
    let y = this.g.node('Conv', inputs, attrs, convOut, act ? `${node.name}__conv` : node.name);
    if (act) y = this.activation(act, y, true, alpha, attrFloat(node, 'leakyrelu_alpha') ?? 0.2, where, this.own(node));
    this.set(node, { name: y, shape: [x.shape[0]!, sp.outH, sp.outW, outC], nchw: true, dtype: 'float32' });
  }

  private pool(node: TfNodeDef): void {
    const where = `${node.op} ${node.name}`;
    const [x] = this.dataInputs(node);
    if (!x || x.constData) throw new UnsupportedOpError(node.op, node.name, 'constant input');
    const k = attrInts(node, 'ksize') ?? [];
    const s = attrInts(node, 'strides') ?? [];
    if (k.length !== 4 || s.length !== 4 || k[0] !== 1 || k[3] !== 1 || s[0] !== 1 || s[3] !== 1) throw new Error(`${where}: ksize/strides must be [1,h,w,1]`);
    const padding = attrStr(node, 'padding') ?? 'VALID';
    const sp = tfSpatial(x.shape[1]!, x.shape[2]!, k[1]!, k[2]!, s[1]!, s[2]!, 1, 1, padding, undefined, where);
    const attrs: Record<string, Attr> = { kernel_shape: ints([k[1]!, k[2]!]), strides: ints([s[1]!, s[2]!]), pads: ints(sp.pads) };
    // TF AvgPool with SAME averages over the valid pixels only: count_include_pad = 0 (ONNX default).
    if (node.op === 'AvgPool') attrs.count_include_pad = int(0);
    const y = this.g.node(node.op === 'MaxPool' ? 'MaxPool' : 'AveragePool', [this.nchw(x, where)], attrs, [this.own(node)]);
    this.set(node, { name: y, shape: [x.shape[0]!, sp.outH, sp.outW, x.shape[3]!], nchw: true, dtype: 'float32' });
  }

  private binary(node: TfNodeDef): void {
    const where = `${node.op} ${node.name}`;
    const [a, b] = this.dataInputs(node);
    if (!a || !b) throw new Error(`${where}: needs 2 inputs`);
    if (a.constData && b.constData) throw new UnsupportedOpError(node.op, node.name, 'both inputs constant (constant folding is not implemented)');
    if (a.dtype !== 'float32' || b.dtype !== 'float32') throw new UnsupportedOpError(node.op, node.name, 'non-float operands');
    const onnxOp = { Add: 'Add', AddV2: 'Add', Sub: 'Sub', Mul: 'Mul', RealDiv: 'Div', Maximum: 'Max', Minimum: 'Min' }[node.op]!;
    const shape = broadcastShapes(a.shape, b.shape, where);
    const anyNchw = a.nchw || b.nchw;
    let ins: string[];
    let nchw = false;
    if (anyNchw && shape.length === 4) {
      ins = [a.nchw ? a.name : this.nchwBroadcast(a, where), b.nchw ? b.name : this.nchwBroadcast(b, where)];
      nchw = true;
    } else {
      ins = [this.plain(a), this.plain(b)];
    }
    const y = this.g.node(onnxOp, ins, {}, [this.own(node)]);
    this.set(node, { name: y, shape, nchw, dtype: 'float32' });
  }

  private pad(node: TfNodeDef): void {
    const where = `${node.op} ${node.name}`;
    const [x, p, cv] = this.dataInputs(node);
    if (!x || !p) throw new Error(`${where}: needs input and paddings`);
    if (x.constData) throw new UnsupportedOpError(node.op, node.name, 'constant input');
    const pads = this.constInts(p, node, 'paddings');
    const r = x.shape.length;
    if (pads.length !== 2 * r) throw new Error(`${where}: paddings of ${pads.length} values for rank ${r}`);
    const shape = x.shape.map((d, i) => (d < 0 ? d : d + pads[2 * i]! + pads[2 * i + 1]!));
    const order = x.nchw ? [...NCHW_FROM_NHWC] : Array.from({ length: r }, (_, i) => i);
    const onnxPads = [...order.map((a) => pads[2 * a]!), ...order.map((a) => pads[2 * a + 1]!)];
    const ins = [x.nchw ? x.name : this.plain(x), this.int64(onnxPads)];
    if (cv) {
      const c = this.constFloats(cv, node, 'constant_values');
      if (c.length !== 1) throw new Error(`${where}: constant_values must be a scalar`);
      ins.push(this.scalarF32(c[0]!));
    }
    const y = this.g.node('Pad', ins, { mode: str('constant') }, [this.own(node)]);
    this.set(node, { name: y, shape, nchw: x.nchw, dtype: 'float32' });
  }

  private reshape(node: TfNodeDef): void {
    const where = `${node.op} ${node.name}`;
    const [x, s] = this.dataInputs(node);
    if (!x || !s) throw new Error(`${where}: needs input and shape`);
    if (x.constData) throw new UnsupportedOpError(node.op, node.name, 'constant input');
    const target = this.constInts(s, node, 'shape');
    if (target.some((d) => d === 0 || d < -1) || target.filter((d) => d === -1).length > 1) throw new Error(`${where}: shape [${target.join(',')}]`);
    const known = x.shape.every((d) => d >= 0);
    const shape = [...target];
    const idx = shape.indexOf(-1);
    if (idx >= 0 && known) shape[idx] = product(x.shape) / product(target.filter((d) => d !== -1));
    const y = this.g.node('Reshape', [this.plain(x), this.int64(target)], {}, [this.own(node)]);
    this.set(node, { name: y, shape, nchw: false, dtype: x.dtype });
  }

  /** Axes mapped to NCHW when removing them leaves the other axes in the same order as in NHWC. */
  private nchwAxesIfOrderKept(axes: number[]): number[] | null {
    const kept = [0, 1, 2, 3].filter((a) => !axes.includes(a));
    const keptInNchw = NCHW_FROM_NHWC.filter((a) => kept.includes(a));
    return kept.every((a, i) => keptInNchw[i] === a) ? axes.map((a) => NHWC_TO_NCHW[a]!).sort((p, q) => p - q) : null;
  }

  private squeeze(node: TfNodeDef): void {
    const where = `${node.op} ${node.name}`;
    const [x] = this.dataInputs(node);
    if (!x || x.constData) throw new UnsupportedOpError(node.op, node.name, 'constant input');
    const r = x.shape.length;
    let axes = (attrInts(node, 'squeeze_dims') ?? attrInts(node, 'axis') ?? []).map((a) => (a < 0 ? a + r : a));
    if (axes.length === 0) {
      if (x.shape.some((d) => d < 0)) throw new Error(`${where}: squeeze of all unit dims needs a known shape`);
      axes = x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
    }
    axes = [...new Set(axes)].sort((p, q) => p - q);
    for (const a of axes) if (x.shape[a] !== 1 && x.shape[a] !== -1) throw new Error(`${where}: axis ${a} has size ${x.shape[a]}`);
    const shape = x.shape.filter((_, i) => !axes.includes(i));
    const mapped = x.nchw ? this.nchwAxesIfOrderKept(axes) : null;
    const y = mapped
      ? this.g.node('Squeeze', [x.name, this.int64(mapped)], {}, [this.own(node)])
      : this.g.node('Squeeze', [this.plain(x), this.int64(axes)], {}, [this.own(node)]);
    this.set(node, { name: y, shape, nchw: false, dtype: x.dtype });
  }

  private mean(node: TfNodeDef): void {
    const where = `${node.op} ${node.name}`;
    const [x, ax] = this.dataInputs(node);
    if (!x || !ax) throw new Error(`${where}: needs input and axes`);
    if (x.constData) throw new UnsupportedOpError(node.op, node.name, 'constant input');
    const r = x.shape.length;
    const axes = [...new Set(this.constInts(ax, node, 'reduction_indices').map((a) => (a < 0 ? a + r : a)))].sort((p, q) => p - q);
    const keep = attrBool(node, 'keep_dims', false);
    const shape = keep ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
    let y: string;
    let nchw = false;
    if (x.nchw && keep) {
      y = this.g.node('ReduceMean', [x.name], { axes: ints(axes.map((a) => NHWC_TO_NCHW[a]!).sort((p, q) => p - q)), keepdims: int(1) }, [this.own(node)]);
      nchw = true;
    } else {
      const mapped = x.nchw ? this.nchwAxesIfOrderKept(axes) : null;
      y = mapped
        ? this.g.node('ReduceMean', [x.name], { axes: ints(mapped), keepdims: int(0) }, [this.own(node)])
        : this.g.node('ReduceMean', [this.plain(x)], { axes: ints(axes), keepdims: int(keep ? 1 : 0) }, [this.own(node)]);
    }
    this.set(node, { name: y, shape, nchw, dtype: 'float32' });
  }

  private concat(node: TfNodeDef): void {
    const where = `${node.op} ${node.name}`;
    const all = this.dataInputs(node);
    const axisVal = all.pop();
    if (!axisVal || all.length === 0) throw new Error(`${where}: needs values and axis`);
    const [axisRaw] = this.constInts(axisVal, node, 'axis');
    const r = all[0]!.shape.length;
    const axis = axisRaw! < 0 ? axisRaw! + r : axisRaw!;
    if (all.some((v) => v.shape.length !== r)) throw new Error(`${where}: inputs of different ranks`);
    const shape = [...all[0]!.shape];
    shape[axis] = all.some((v) => v.shape[axis]! < 0) ? -1 : all.reduce((acc, v) => acc + v.shape[axis]!, 0);
    const allNchw = r === 4 && all.every((v) => v.nchw || v.constData);
    const y = allNchw
      ? this.g.node('Concat', all.map((v) => this.nchw(v, where)), { axis: int(NHWC_TO_NCHW[axis]!) }, [this.own(node)])
      : this.g.node('Concat', all.map((v) => this.plain(v)), { axis: int(axis) }, [this.own(node)]);
    this.set(node, { name: y, shape, nchw: allNchw, dtype: all[0]!.dtype });
  }

  private matmul(node: TfNodeDef): void {
    const where = `${node.op} ${node.name}`;
    const [a, b, ...args] = this.dataInputs(node);
    if (!a || !b) throw new Error(`${where}: needs 2 inputs`);
    if (a.shape.length !== 2 || b.shape.length !== 2) throw new UnsupportedOpError(node.op, node.name, 'only rank-2 operands');
    const ta = attrBool(node, 'transpose_a', false);
    const tb = attrBool(node, 'transpose_b', false);
    const transposed = (v: Val): string => {
      if (v.constData) {
        return this.g.initializer(this.g.fresh(`${v.tfName}__t`), permute(v.constData as Float32Array, v.shape, [1, 0]), [v.shape[1]!, v.shape[0]!]);
      }
      return this.g.node('Transpose', [this.plain(v)], { perm: ints([1, 0]) });
    };
    const ia = ta ? transposed(a) : this.plain(a);
    const ib = tb ? transposed(b) : this.plain(b);
    const rows = ta ? a.shape[1]! : a.shape[0]!;
    const cols = tb ? b.shape[0]! : b.shape[1]!;
    const fused = node.op === '_FusedMatMul' ? attrStrs(node, 'fused_ops') : [];
    let bias: Val | undefined;
    let act: string | undefined;
    let alpha: Val | undefined;
    let argi = 0;
    for (const [i, op] of fused.entries()) {
      if (op === 'BiasAdd' && i === 0) bias = args[argi++];
      else if (['Relu', 'Relu6', 'Elu', 'Sigmoid', 'Tanh', 'LeakyRelu', 'Prelu'].includes(op) && i === fused.length - 1) {
        act = op;
        if (op === 'Prelu') alpha = args[argi++];
      } else throw new UnsupportedOpError(node.op, node.name, `fused_ops [${fused.join(', ')}]`);
    }
    const last = !bias && !act;
    let y = this.g.node('MatMul', [ia, ib], {}, last ? [this.own(node)] : undefined);
    if (bias) y = this.g.node('Add', [y, this.plain(bias)], {}, act ? undefined : [this.own(node)]);
    if (act) y = this.activation(act, y, false, alpha, attrFloat(node, 'leakyrelu_alpha') ?? 0.2, where, this.own(node));
    this.set(node, { name: y, shape: [rows, cols], nchw: false, dtype: 'float32' });
  }
}

/** Converts a loaded TFJS graph model to ONNX (opset 13). Deterministic for a given input. */
export function convertTfjsGraph(model: TfjsGraphModel, options: ConvertOptions = {}): ConvertResult {
  return new Converter(model, options).run();
}

// CLI: print a graph's op list and convert it.
//   npx tsx scripts/models/tfjs-graph.ts <model.json> [out.onnx]
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const [jsonPath, outPath] = process.argv.slice(2);
  if (!jsonPath) {
    console.error('usage: tsx scripts/models/tfjs-graph.ts <model.json> [out.onnx]');
    process.exit(2);
  }
  const m = loadTfjsGraphModel(jsonPath);
  console.log(`ops of ${jsonPath}: ${JSON.stringify(opCounts(m.json))}`);
  if (outPath) {
    const r = convertTfjsGraph(m, { docString: `Converted from ${jsonPath} by scripts/models/tfjs-graph.ts` });
    mkdirSync(dirname(outPath), { recursive: true });
    writeFileSync(outPath, r.bytes);
    console.log(`wrote ${outPath} (${r.bytes.byteLength} bytes)`);
    console.log(`inputs: ${JSON.stringify(r.inputs)}`);
    console.log(`outputs: ${JSON.stringify(r.outputs)}`);
  }
}
