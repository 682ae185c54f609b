// The emotion classifier converted by our TFJS-graph -> ONNX converter must compute what the TFJS
// reference computes (same real face crops, same preprocessing), and the conversion must be
// reproducible byte for byte. Also covers the converter on a synthetic graph using the ops the
// shipped models do not (so they are not dead code), weight dequantization, and the error for an
// unsupported op.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { Ajv } from 'ajv';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EMOTION_BUNDLE_DIR, EMOTION_MODEL_ORDER, EMOTION_SIZE, EMOTION_SOURCE_BIN, EMOTION_SOURCE_JSON, PROJECT_ROOT, convertEmotion,
  emotionCropRect, emotionInputFromGray, grayFromBgr, type Rect,
} from '../../../scripts/models/convert-emotion.js';
import {
  UnsupportedOpError, convertTfjsGraph, decodeWeights, parseTfjsGraphModel, type TfAttrValue, type TfNodeDef,
  type TfjsModelJson, type WeightSpec,
} from '../../../scripts/models/tfjs-graph.js';
import { sha256 } from '../../../scripts/models/write-bundle.js';
import { readImage } from '../../../src/vision/image.js';

const DEMO = join(PROJECT_ROOT, 'node_modules/@vladmandic/face-api/demo');

/** Hand-set boxes (detector-like, tight on the face) in the full-resolution demo photos. */
const FACES: { image: string; box: Rect }[] = [
  { image: 'sample1.jpg', box: { x: 393, y: 355, width: 202, height: 202 } },
  { image: 'sample1.jpg', box: { x: 836, y: 440, width: 191, height: 191 } },
  { image: 'sample1.jpg', box: { x: 1474, y: 223, width: 202, height: 202 } },
  { image: 'sample3.jpg', box: { x: 583, y: 355, width: 202, height: 202 } },
  { image: 'sample3.jpg', box: { x: 1082, y: 212, width: 225, height: 225 } },
  { image: 'sample3.jpg', box: { x: 1504, y: 304, width: 202, height: 202 } },
];

async function initTfjsWasm(): Promise<void> {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  setWasmPaths(join(PROJECT_ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist/'));
  await tf.setBackend('wasm');
  await tf.ready();
}

function tfjsFromMemory(json: TfjsModelJson, bin: Uint8Array): Promise<tf.GraphModel> {
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[];
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer;
  return tf.loadGraphModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData }));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function argmaxRows(d: ArrayLike<number>, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < d.length / cols; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (d[r * cols + c]! > d[r * cols + best]!) best = c;
    out.push(best);
  }
  return out;
}

beforeAll(initTfjsWasm);

describe('emotion: TFJS graph -> ONNX', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'emotion-conv-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('re-running the conversion reproduces the committed bundle byte for byte', () => {
    const committed = readFileSync(join(EMOTION_BUNDLE_DIR, 'manifest.json'), 'utf8');
    const { bytes } = convertEmotion(tmp);
    const m = JSON.parse(committed) as { files: Record<string, { sha256: string; size: number }> };
    expect(sha256(bytes)).toBe(m.files['model.onnx']!.sha256);
    expect(sha256(readFileSync(join(EMOTION_BUNDLE_DIR, 'model.onnx')))).toBe(m.files['model.onnx']!.sha256);
    expect(readFileSync(join(tmp, 'manifest.json'), 'utf8')).toBe(committed);
  });

  it('the committed manifest satisfies the bundle schema', () => {
    const schema = JSON.parse(readFileSync(join(PROJECT_ROOT, 'src/models/manifest.schema.json'), 'utf8')) as object;
    const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
    const manifest = JSON.parse(readFileSync(join(EMOTION_BUNDLE_DIR, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(validate(manifest), JSON.stringify(validate.errors)).toBe(true);
    expect(manifest.input).toMatchObject({ shape: [-1, 64, 64, 1], layout: 'NHWC', colour: 'gray', normalization: { scale: 1 / 255, mean: [0.5], std: [0.5] } });
    expect(manifest.decoding).toEqual({ type: 'classification', output: 'probabilities', activation: 'none' });
    expect(manifest.preprocess).toEqual({ margin: 0.2, square: true, align: false });
  });

  it('ONNX Runtime matches the TFJS reference on a batch of real face crops', async () => {
    const images = new Map<string, { gray: Float32Array; width: number; height: number }>();
    const n = FACES.length;
    const input = new Float32Array(n * EMOTION_SIZE * EMOTION_SIZE);
    for (const [k, face] of FACES.entries()) {
      let img = images.get(face.image);
      if (!img) {
        const frame = readImage(join(DEMO, face.image));
        img = { gray: grayFromBgr(frame.data, frame.width, frame.height), width: frame.width, height: frame.height };
        images.set(face.image, img);
      }
      input.set(emotionInputFromGray(img.gray, img.width, img.height, emotionCropRect(face.box)), k * EMOTION_SIZE * EMOTION_SIZE);
    }
    expect(Math.min(...input)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...input)).toBeLessThanOrEqual(1);

    const json = JSON.parse(readFileSync(EMOTION_SOURCE_JSON, 'utf8')) as TfjsModelJson;
    const ref = await tfjsFromMemory(json, readFileSync(EMOTION_SOURCE_BIN));
    const x = tf.tensor4d(input, [n, EMOTION_SIZE, EMOTION_SIZE, 1]);
    const y = ref.execute(x) as tf.Tensor;
    const expected = (await y.data()) as Float32Array;
    tf.dispose([x, y]);
    ref.dispose();

    const manifest = JSON.parse(readFileSync(join(EMOTION_BUNDLE_DIR, 'manifest.json'), 'utf8')) as { input: { name: string }; decoding: { output: string } };
    const session = await ort.InferenceSession.create(join(EMOTION_BUNDLE_DIR, 'model.onnx'), { intraOpNumThreads: 1 });
    const out = await session.run({ [manifest.input.name]: new ort.Tensor('float32', input, [n, EMOTION_SIZE, EMOTION_SIZE, 1]) });
    await session.release();
    const got = out[manifest.decoding.output]!;
    expect(got.dims).toEqual([n, 7]);
    const actual = got.data as Float32Array;

    const diff = maxAbsDiff(actual, expected);
    console.log(`emotion: max |onnx - tfjs| over ${n} faces = ${diff.toExponential(2)}; argmax ${JSON.stringify(argmaxRows(actual, 7))}`);
    expect(diff).toBeLessThanOrEqual(1e-4);
    expect(argmaxRows(actual, 7)).toEqual(argmaxRows(expected, 7));
    for (let r = 0; r < n; r++) expect(actual.slice(r * 7, r * 7 + 7).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    // sanity of the preprocessing: the three broad smiles are 'happy' (model order index 3)
    const happy = EMOTION_MODEL_ORDER.indexOf('happy');
    for (const r of [2, 4, 5]) expect(argmaxRows(actual, 7)[r], `face ${r}`).toBe(happy);
  });
});

// ---------------------------------------------------------------------------------------------
// Synthetic graphs: a tiny model.json written by hand in the TFJS format.

const enc = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const A = {
  s: (v: string): TfAttrValue => ({ s: enc(v) }),
  i: (v: number): TfAttrValue => ({ i: String(v) }),
  f: (v: number): TfAttrValue => ({ f: v }),
  b: (v: boolean): TfAttrValue => ({ b: v }),
  ints: (v: number[]): TfAttrValue => ({ list: { i: v.map(String) } }),
  strs: (v: string[]): TfAttrValue => ({ list: { s: v.map(enc) } }),
  type: (v: string): TfAttrValue => ({ type: v }),
};

class SyntheticGraph {
  readonly nodes: TfNodeDef[] = [];
  readonly specs: WeightSpec[] = [];
  private readonly chunks: Uint8Array[] = [];
  private seed = 12345;

  private rand(): number {
    // mulberry32
    let t = (this.seed += 0x6d2b79f5);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  input(name: string, shape: number[]): string {
    this.nodes.push({ name, op: 'Placeholder', attr: { dtype: A.type('DT_FLOAT'), shape: { shape: { dim: shape.map((d) => ({ size: String(d) })) } } } });
    return name;
  }

  constF(name: string, shape: number[], scale = 0.5): string {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n }, () => (this.rand() * 2 - 1) * scale);
    return this.constRaw(name, shape, 'float32', new Uint8Array(data.buffer));
  }

  constI(name: string, shape: number[], values: number[]): string {
    return this.constRaw(name, shape, 'int32', new Uint8Array(Int32Array.from(values).buffer));
  }

  private constRaw(name: string, shape: number[], dtype: string, bytes: Uint8Array): string {
    const dt = dtype === 'float32' ? 'DT_FLOAT' : 'DT_INT32';
    this.nodes.push({ name, op: 'Const', attr: { dtype: A.type(dt), value: { tensor: { dtype: dt, tensorShape: { dim: shape.map((d) => ({ size: String(d) })) } } } } });
    this.specs.push({ name, shape, dtype });
    this.chunks.push(bytes);
    return name;
  }

  op(name: string, op: string, input: string[], attr: Record<string, TfAttrValue> = {}): string {
    this.nodes.push({ name, op, input, attr: { T: A.type('DT_FLOAT'), ...attr } });
    return name;
  }

  build(): { json: TfjsModelJson; bin: Uint8Array } {
    const total = this.chunks.reduce((a, c) => a + c.byteLength, 0);
    const bin = new Uint8Array(total);
    let at = 0;
    for (const c of this.chunks) { bin.set(c, at); at += c.byteLength; }
    return {
      json: { format: 'graph-model', modelTopology: { node: this.nodes, versions: { producer: 1 } }, weightsManifest: [{ paths: ['w.bin'], weights: this.specs }] },
      bin,
    };
  }
}

describe('tfjs-graph converter on synthetic graphs', () => {
  it('converts the ops the shipped models do not use, matching TFJS (odd sizes, asymmetric SAME pads)', async () => {
    const g = new SyntheticGraph();
    const x = g.input('x', [1, 9, 11, 3]);
    const c1 = g.op('c1', 'Conv2D', [x, g.constF('w1', [3, 3, 3, 4])], { strides: A.ints([1, 2, 2, 1]), padding: A.s('SAME'), dilations: A.ints([1, 1, 1, 1]), data_format: A.s('NHWC') });
    const c2 = g.op('c2', '_FusedConv2D', [c1, g.constF('w2', [2, 2, 4, 4]), g.constF('b2', [4])], {
      strides: A.ints([1, 1, 1, 1]), padding: A.s('SAME'), dilations: A.ints([1, 1, 1, 1]), data_format: A.s('NHWC'),
      fused_ops: A.strs(['BiasAdd', 'Relu6']), num_args: A.i(1), epsilon: A.f(0),
    });
    const d1 = g.op('d1', 'FusedDepthwiseConv2dNative', [c2, g.constF('dw', [3, 3, 4, 2]), g.constF('db', [8]), g.constF('alpha', [8])], {
      strides: A.ints([1, 2, 2, 1]), padding: A.s('SAME'), dilations: A.ints([1, 1, 1, 1]), data_format: A.s('NHWC'),
      fused_ops: A.strs(['BiasAdd', 'Prelu']), num_args: A.i(2),
    });
    const d2 = g.op('d2', 'DepthwiseConv2dNative', [c2, g.constF('dw2', [2, 2, 4, 1])], {
      strides: A.ints([1, 1, 1, 1]), padding: A.s('VALID'), dilations: A.ints([1, 2, 2, 1]), data_format: A.s('NHWC'),
    });
    const p1 = g.op('p1', 'AvgPool', [d1], { ksize: A.ints([1, 2, 2, 1]), strides: A.ints([1, 2, 2, 1]), padding: A.s('SAME'), data_format: A.s('NHWC') });
    const m1 = g.op('m1', 'Mul', [p1, g.constF('mc', [8], 2)]);
    const s1 = g.op('s1', 'Sub', [m1, g.constF('sc', [1, 1, 1, 8])]);
    const pd = g.op('pd', 'PadV2', [s1, g.constI('pads', [4, 2], [0, 0, 1, 0, 0, 2, 0, 0]), g.constF('cv', [], 0.5)], { Tpaddings: A.type('DT_INT32') });
    const sg = g.op('sg', 'Sigmoid', [pd]);
    const cat = g.op('cat', 'ConcatV2', [pd, sg, g.constI('cax', [], [-1])], { N: A.i(2), Tidx: A.type('DT_INT32') });
    const mean = g.op('mean', 'Mean', [cat, g.constI('rax', [2], [1, 2])], { keep_dims: A.b(true), Tidx: A.type('DT_INT32') });
    const sq = g.op('sq', 'Squeeze', [mean], { squeeze_dims: A.ints([1, 2]) });
    const mm = g.op('mm', '_FusedMatMul', [sq, g.constF('wm', [5, 16]), g.constF('bm', [5])], {
      transpose_a: A.b(false), transpose_b: A.b(true), fused_ops: A.strs(['BiasAdd', 'Relu']), num_args: A.i(1),
    });
    g.op('probs', 'Softmax', [mm]);
    const lr = g.op('lr', 'LeakyRelu', [c1], { alpha: A.f(0.1) });
    g.op('flat', 'Reshape', [lr, g.constI('shape', [2], [1, -1])], { Tshape: A.type('DT_INT32') });
    const mx = g.op('mx', 'Maximum', [d2, g.constF('mxc', [4], 0.1)]);
    g.op('th', 'Tanh', [mx]);
    const { json, bin } = g.build();
    const outputs = ['probs', 'flat', 'pd', 'th'];

    const converted = convertTfjsGraph(parseTfjsGraphModel(json, () => bin), { outputs });
    expect(Object.keys(converted.ops)).toEqual(expect.arrayContaining(['Conv2D', '_FusedConv2D', 'FusedDepthwiseConv2dNative', 'AvgPool', 'PadV2', 'ConcatV2', 'Squeeze', '_FusedMatMul', 'LeakyRelu', 'Reshape', 'Maximum', 'Tanh']));

    const ref = await tfjsFromMemory(json, bin);
    const xs = tf.randomUniform([1, 9, 11, 3], -1, 1, 'float32', 7);
    const refOuts = ref.execute(xs, outputs) as tf.Tensor[];
    const session = await ort.InferenceSession.create(converted.bytes, { intraOpNumThreads: 1 });
    const got = await session.run({ x: new ort.Tensor('float32', (await xs.data()) as Float32Array, [1, 9, 11, 3]) });
    await session.release();
    for (const [i, name] of outputs.entries()) {
      const r = refOuts[i]!;
      expect(got[name]!.dims, name).toEqual(r.shape);
      expect(maxAbsDiff(got[name]!.data as Float32Array, (await r.data()) as Float32Array), name).toBeLessThanOrEqual(1e-5);
    }
    tf.dispose([xs, ...refOuts]);
    ref.dispose();
  });

  it('decodes uint8/uint16/float16-quantized weights as TFJS does', () => {
    const specs: WeightSpec[] = [
      { name: 'u8', shape: [4], dtype: 'float32', quantization: { dtype: 'uint8', min: -1, scale: 0.25 } },
      { name: 'u16', shape: [2], dtype: 'float32', quantization: { dtype: 'uint16', min: 0.5, scale: 0.001 } },
      { name: 'f16', shape: [3], dtype: 'float32', quantization: { dtype: 'float16' } },
      { name: 'i8', shape: [2], dtype: 'int32', quantization: { dtype: 'uint8', min: -3, scale: 1.5 } },
      { name: 'f32', shape: [1], dtype: 'float32' },
    ];
    const bytes = new Uint8Array([
      0, 1, 4, 255, // u8
      10, 0, 0xe8, 0x03, // u16 10, 1000
      0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, // f16 1, -2, smallest subnormal
      0, 3, // i8
      ...new Uint8Array(Float32Array.of(3.25).buffer),
    ]);
    const ours = decodeWeights(specs, bytes);
    const theirs = tf.io.decodeWeights(bytes.buffer.slice(0), specs as tf.io.WeightsManifestEntry[]);
    for (const s of specs) {
      const expected = theirs[s.name]!.dataSync();
      expect(Array.from(ours.get(s.name)!.data), s.name).toEqual(Array.from(expected));
    }
    expect(Array.from(ours.get('f16')!.data)).toEqual([1, -2, 2 ** -24]);
  });

  it('names the op and the node when an op is not supported', () => {
    const g = new SyntheticGraph();
    const x = g.input('x', [1, 4]);
    g.op('model/gelu/Erf', 'Erf', [x]);
    const { json, bin } = g.build();
    const model = parseTfjsGraphModel(json, () => bin);
    expect(() => convertTfjsGraph(model)).toThrow(UnsupportedOpError);
    expect(() => convertTfjsGraph(model)).toThrow(/Unsupported TFJS op "Erf" at node "model\/gelu\/Erf"/);
  });
});
