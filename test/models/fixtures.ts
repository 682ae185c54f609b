// Model bundles for the update tests, all made with our own ONNX code: a tiny classifier, and bad
// variants of the shipped emotion model (wrong input shape, NaN output, a slow chain of ops).
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { DataType, GraphBuilder, decodeModel, encodeModel, ints, tensorProto } from '../../scripts/models/onnx/builder.js';
import { packBundle } from '../../src/models/pack.js';
import { writeSignature } from '../../src/models/signed-bundle.js';
import { MODELS } from '../helpers/paths.js';

const { onnx } = onnxProto;
export const LABELS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'];

/** [N,64,64,1] -> mean over pixels -> 7 logits (Gemm) -> softmax; `weight` changes what it computes. */
export function tinyClassifier(weight = 1): Uint8Array {
  const g = new GraphBuilder('tiny');
  g.input('input', ['N', 64, 64, 1]);
  const flat = g.node('ReduceMean', ['input'], { axes: ints([1, 2]), keepdims: { t: 'int', v: 0 } });
  const w = g.initializer('w', Float32Array.from({ length: 7 }, (_, i) => (i - 3) * weight), [1, 7]);
  const b = g.initializer('b', Float32Array.from({ length: 7 }, (_, i) => i / 10), [7]);
  const logits = g.node('Gemm', [flat, w, b]);
  g.node('Softmax', [logits], { axis: { t: 'int', v: 1 } }, ['probs']);
  g.output('probs', ['N', 7], DataType.FLOAT);
  return encodeModel(g.build({ producerName: 'test', producerVersion: '0', docString: '' }));
}

export const tinyManifest = (version = '1.0.0'): Record<string, unknown> => ({
  schemaVersion: 1, name: 'tiny', version, task: 'emotion-classifier', precision: 'fp32', model: 'model.onnx',
  input: { name: 'input', shape: [-1, 64, 64, 1], layout: 'NHWC', colour: 'gray', width: 64, height: 64, normalization: { scale: 1 / 255, mean: [0], std: [1] } },
  outputs: [{ name: 'probs', shape: [-1, 7] }],
  decoding: { type: 'classification', output: 'probs', activation: 'none' },
  labels: { canonical: LABELS, modelOrder: LABELS },
  provenance: { source: 'test', license: 'MIT', converter: 'test' },
  files: {},
});

/** Writes manifest + files into a fresh folder, packs it (with golden vectors) and signs it when a key is given. */
export async function makeBundle(dir: string, manifest: Record<string, unknown>, files: Record<string, Uint8Array>, opts: { key?: string; golden?: number } = {}): Promise<string> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  await packBundle(dir, { golden: opts.golden ?? 2 });
  if (opts.key) writeSignature(dir, opts.key);
  return dir;
}

/** The shipped emotion bundle's manifest and model, to derive variants from. */
export function shippedEmotion(name = 'emotion-int8'): { manifest: Record<string, unknown>; model: Uint8Array } {
  const dir = join(MODELS, name);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  return { manifest, model: readFileSync(join(dir, 'model.onnx')) };
}

/** A copy of a shipped bundle folder with a new version, re-packed and signed. */
export async function shippedVariant(dir: string, name: string, version: string, key: string | undefined, edit: (m: Record<string, unknown>, model: Uint8Array) => Uint8Array = (_m, b) => b, golden = 2): Promise<string> {
  const { manifest, model } = shippedEmotion(name);
  manifest.version = version;
  delete manifest.golden;
  const bytes = edit(manifest, model);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return makeBundle(dir, manifest, { 'model.onnx': bytes }, { golden, ...(key ? { key } : {}) });
}

/** The graph input's dims changed (e.g. 64x64 -> 48x48): ONNX Runtime loads it, the manifest check refuses it. */
export function withInputSize(model: Uint8Array, size: number): Uint8Array {
  const m = decodeModel(model);
  const dims = m.graph!.input![0]!.type!.tensorType!.shape!.dim!;
  dims[1] = { dimValue: size };
  dims[2] = { dimValue: size };
  return encodeModel(m);
}

/** Renames the node output that produces `output` and appends `tail(g, renamed) -> output`. */
function appendToOutput(model: Uint8Array, output: string, tail: (add: (n: InstanceType<typeof onnx.NodeProto>) => void, init: (t: InstanceType<typeof onnx.TensorProto>) => void, raw: string) => void): Uint8Array {
  const m = decodeModel(model);
  const graph = m.graph!;
  const producer = graph.node!.find((n) => n.output!.includes(output))!;
  const raw = `${output}__raw`;
  producer.output = producer.output!.map((o) => (o === output ? raw : o));
  tail((n) => graph.node!.push(n), (t) => graph.initializer!.push(t), raw);
  return encodeModel(m);
}

/** Output + NaN: loads, matches its manifest, and produces NaN for every input. */
export function withNaNOutput(model: Uint8Array, output = 'probabilities'): Uint8Array {
  return appendToOutput(model, output, (add, init, raw) => {
    init(tensorProto('nan__c', Float32Array.of(Number.NaN), [1]));
    add(onnx.NodeProto.create({ opType: 'Add', input: [raw, 'nan__c'], output: [output], name: 'nan__add' }));
  });
}

/**
 * Output + 0 * (a chain of `steps` 256x256 MatMul+Tanh fed by the input): same results, much slower.
 * The chain depends on the input, so ONNX Runtime cannot fold it away at load time.
 */
// `steps` 256x256 MatMuls per 256 input values: 600 adds tens of ms per face, far past the 4x limit even on a
// CPU where the serving model itself is slow (150 was borderline on an AVX2-only EPYC: 4.5 ms/face serving).
export function withSlowChain(model: Uint8Array, steps: number, output = 'probabilities'): Uint8Array {
  const m = decodeModel(model);
  const inputName = m.graph!.input![0]!.name!;
  return appendToOutput(model, output, (add, init, raw) => {
    const w = Float32Array.from({ length: 256 * 256 }, (_, i) => Math.sin(i) / 64);
    init(tensorProto('slow__w', w, [256, 256]));
    init(tensorProto('slow__shape', BigInt64Array.of(-1n, 256n), [2]));
    init(tensorProto('slow__zero', Float32Array.of(0), [1]));
    add(onnx.NodeProto.create({ opType: 'Reshape', input: [inputName, 'slow__shape'], output: ['slow__x0'], name: 'slow__reshape' }));
    let x = 'slow__x0';
    for (let i = 0; i < steps; i++) {
      add(onnx.NodeProto.create({ opType: 'MatMul', input: [x, 'slow__w'], output: [`slow__mm${i}`], name: `slow__mm${i}` }));
      add(onnx.NodeProto.create({ opType: 'Tanh', input: [`slow__mm${i}`], output: [`slow__t${i}`], name: `slow__t${i}` }));
      x = `slow__t${i}`;
    }
    add(onnx.NodeProto.create({ opType: 'ReduceSum', input: [x], output: ['slow__sum'], name: 'slow__sum', attribute: [onnx.AttributeProto.create({ name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 })] }));
    add(onnx.NodeProto.create({ opType: 'Mul', input: ['slow__sum', 'slow__zero'], output: ['slow__nil'], name: 'slow__mul' }));
    add(onnx.NodeProto.create({ opType: 'Add', input: [raw, 'slow__nil'], output: [output], name: 'slow__add' }));
  });
}

export function copyDir(src: string, dst: string): string {
  rmSync(dst, { recursive: true, force: true });
  cpSync(src, dst, { recursive: true });
  return dst;
}

/** An 8th output class (a copy of the first): the 7 labels no longer match the model's classes. */
export function withExtraClass(model: Uint8Array, output = 'probabilities'): Uint8Array {
  const m = decodeModel(appendToOutput(model, output, (add, init, raw) => {
    init(tensorProto('extra__s', BigInt64Array.of(0n), [1]));
    init(tensorProto('extra__e', BigInt64Array.of(1n), [1]));
    init(tensorProto('extra__a', BigInt64Array.of(1n), [1]));
    add(onnx.NodeProto.create({ opType: 'Slice', input: [raw, 'extra__s', 'extra__e', 'extra__a'], output: ['extra__col'], name: 'extra__slice' }));
    add(onnx.NodeProto.create({ opType: 'Concat', input: [raw, 'extra__col'], output: [output], name: 'extra__concat', attribute: [onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 })] }));
  }));
  m.graph!.output![0]!.type!.tensorType!.shape!.dim![1] = { dimValue: 8 };
  return encodeModel(m);
}

/**
 * NaN only for smooth images: output + 0 * log(relu(roughness - 0.3)), where roughness is the mean
 * |difference| of horizontally adjacent input values. Random-pixel probes (golden vectors, validation)
 * are rough (about 0.67), real faces are smooth (well under 0.3): validation passes, real frames give
 * NaN. This is the model an automatic rollback exists for.
 */
export function withNaNOnRealImages(model: Uint8Array, output = 'probabilities'): Uint8Array {
  const m = decodeModel(model);
  const input = m.graph!.input![0]!.name!;
  const T = onnx.AttributeProto.AttributeType;
  return appendToOutput(model, output, (add, init, raw) => {
    init(tensorProto('gate__s1', BigInt64Array.of(1n), [1]));
    init(tensorProto('gate__e1', BigInt64Array.of(64n), [1]));
    init(tensorProto('gate__s0', BigInt64Array.of(0n), [1]));
    init(tensorProto('gate__e0', BigInt64Array.of(63n), [1]));
    init(tensorProto('gate__ax', BigInt64Array.of(2n), [1]));
    init(tensorProto('gate__shape', BigInt64Array.of(-1n, 1n), [2]));
    init(tensorProto('gate__t', Float32Array.of(0.3), [1]));
    init(tensorProto('gate__zero', Float32Array.of(0), [1]));
    const node = (opType: string, inputs: string[], out: string, attribute: InstanceType<typeof onnx.AttributeProto>[] = []): void => {
      add(onnx.NodeProto.create({ opType, input: inputs, output: [out], name: `gate__node_${out}`, attribute }));
    };
    node('Slice', [input, 'gate__s1', 'gate__e1', 'gate__ax'], 'gate__a');
    node('Slice', [input, 'gate__s0', 'gate__e0', 'gate__ax'], 'gate__b');
    node('Sub', ['gate__a', 'gate__b'], 'gate__d');
    node('Abs', ['gate__d'], 'gate__ad');
    node('ReduceMean', ['gate__ad'], 'gate__r', [onnx.AttributeProto.create({ name: 'axes', type: T.INTS, ints: [1, 2, 3] })]);
    node('Reshape', ['gate__r', 'gate__shape'], 'gate__r2');
    node('Sub', ['gate__r2', 'gate__t'], 'gate__m');
    node('Relu', ['gate__m'], 'gate__g');
    node('Log', ['gate__g'], 'gate__l');
    node('Mul', ['gate__l', 'gate__zero'], 'gate__z');
    node('Add', [raw, 'gate__z'], output);
  });
}
