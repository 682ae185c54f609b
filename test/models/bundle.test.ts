// Manifest validation and bundle loading: each error names the field or file at fault. A tiny real
// ONNX classifier (built with our builder) stands in for a bundle so every case can be mutated cheaply.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataType, GraphBuilder, encodeModel, ints } from '../../scripts/models/onnx/builder.js';
import { writeBundle } from '../../scripts/models/write-bundle.js';
import { createSession, readBundle } from '../../src/models/bundle.js';
import { ManifestError, validateManifest } from '../../src/models/manifest.js';

const root = mkdtempSync(join(tmpdir(), 'ea-bundle-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** [N,64,64,1] -> mean over pixels -> 7 logits (Gemm) -> softmax. */
function tinyClassifier(opts: { inputName?: string; size?: number; classes?: number } = {}): Uint8Array {
  const size = opts.size ?? 64;
  const k = opts.classes ?? 7;
  const g = new GraphBuilder('tiny');
  g.input(opts.inputName ?? 'input', ['N', size, size, 1]);
  const flat = g.node('ReduceMean', [opts.inputName ?? 'input'], { axes: ints([1, 2]), keepdims: { t: 'int', v: 0 } });
  const w = g.initializer('w', Float32Array.from({ length: k }, (_, i) => i - 3), [1, k]);
  const b = g.initializer('b', new Float32Array(k), [k]);
  const logits = g.node('Gemm', [flat, w, b]);
  g.node('Softmax', [logits], { axis: { t: 'int', v: 1 } }, ['probs']);
  g.output('probs', ['N', k], DataType.FLOAT);
  return encodeModel(g.build({ producerName: 'test', producerVersion: '0', docString: '' }));
}

const manifest = (): Record<string, unknown> => ({
  schemaVersion: 1,
  name: 'tiny',
  version: '1.0.0',
  task: 'emotion-classifier',
  precision: 'fp32',
  model: 'model.onnx',
  input: { name: 'input', shape: [-1, 64, 64, 1], layout: 'NHWC', colour: 'gray', width: 64, height: 64, normalization: { scale: 1 / 255, mean: [0], std: [1] } },
  outputs: [{ name: 'probs', shape: [-1, 7] }],
  decoding: { type: 'classification', output: 'probs', activation: 'none' },
  labels: { canonical: ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'], modelOrder: ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'] },
  provenance: { source: 'test', license: 'MIT', converter: 'test' },
});

let n = 0;
function bundle(m: Record<string, unknown> = manifest(), model: Uint8Array = tinyClassifier()): string {
  const dir = join(root, `b${n++}`);
  writeBundle(dir, m, { 'model.onnx': model });
  return dir;
}

function withFiles(m: Record<string, unknown>): Record<string, unknown> {
  return { ...m, files: { 'model.onnx': { sha256: 'a'.repeat(64), size: 10 } } };
}

describe('validateManifest', () => {
  it('accepts a complete manifest', () => {
    expect(validateManifest(withFiles(manifest())).name).toBe('tiny');
  });

  const cases: [string, (m: Record<string, unknown>) => void, RegExp][] = [
    ['a missing field', (m) => delete m.version, /version: is required/],
    ['a non-semantic version', (m) => (m.version = '1.0'), /version: must match pattern/],
    ['an unknown task', (m) => (m.task = 'age-estimator'), /task: must be one of "face-detector", "emotion-classifier"/],
    ['an unknown field', (m) => (m.colour = 'rgb'), /colour: is not a known field/],
    ['a bad layout', (m) => ((m.input as Record<string, unknown>).layout = 'CHW'), /input\.layout: must be one of/],
    ['a shape that disagrees with the size', (m) => ((m.input as Record<string, unknown>).width = 48), /input\.shape: .* does not match input\.width\/height 48x64/],
    ['gray with three channels', (m) => ((m.input as Record<string, unknown>).shape = [-1, 64, 64, 3]), /input\.shape: 3 channels but colour "gray" needs 1/],
    ['a decoding output that does not exist', (m) => ((m.decoding as Record<string, unknown>).output = 'logits'), /decoding\.output: "logits" is not one of outputs/],
    ['a model file not listed in files', (m) => (m.model = 'other.onnx'), /model: "other\.onnx" is not listed in files/],
    ['labels that repeat', (m) => ((m.labels as Record<string, unknown>).modelOrder = ['angry', 'angry', 'fear', 'happy', 'sad', 'surprise', 'neutral']), /labels\.modelOrder/],
    ['canonical labels out of order', (m) => ((m.labels as Record<string, unknown>).canonical = ['disgust', 'angry', 'fear', 'happy', 'sad', 'surprise', 'neutral']), /labels\.canonical: must be/],
    ['a classifier without labels', (m) => delete m.labels, /labels: is required/],
    ['a missing licence', (m) => delete (m.provenance as Record<string, unknown>).license, /provenance\.license: is required/],
  ];
  for (const [what, mutate, message] of cases) {
    it(`rejects ${what}, naming the field`, () => {
      const m = withFiles(manifest());
      mutate(m);
      expect(() => validateManifest(m, 'bundle X')).toThrow(ManifestError);
      expect(() => validateManifest(m, 'bundle X')).toThrow(message);
      expect(() => validateManifest(m, 'bundle X')).toThrow(/^bundle X: /);
    });
  }
});

describe('readBundle + createSession', () => {
  it('loads a sound bundle and runs it', async () => {
    const b = readBundle(bundle(), 'emotion-classifier');
    const s = await createSession(b, { threads: 1 });
    expect(s.inputNames).toEqual(['input']);
    await s.release();
  });

  // This machine has no GPU and the npm ONNX Runtime has no CUDA libraries here: the real failure a
  // kiosk configured for a GPU it lacks would hit.
  it.each(['cuda', 'tensorrt'] as const)('falls back to the CPU, and says why, when %s cannot load (no GPU libraries here)', async (ep) => {
    const b = readBundle(bundle(), 'emotion-classifier');
    const notes: string[] = [];
    const s = await createSession(b, { threads: 1, executionProvider: ep, onProviderFallback: (m) => notes.push(m) });
    expect(s.inputNames).toEqual(['input']);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(new RegExp(`execution provider ${ep} unavailable .*running on the CPU`));
    await s.release();
  });

  it('names a missing manifest', () => {
    expect(() => readBundle(join(root, 'nowhere'))).toThrow(/manifest\.json is missing/);
  });

  it('names invalid JSON', () => {
    const dir = bundle();
    writeFileSync(join(dir, 'manifest.json'), '{ "name": ');
    expect(() => readBundle(dir)).toThrow(/manifest\.json is not valid JSON/);
  });

  it('rejects a tampered model file by its hash', () => {
    const dir = bundle();
    const bytes = readFileSync(join(dir, 'model.onnx'));
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    writeFileSync(join(dir, 'model.onnx'), bytes);
    expect(() => readBundle(dir)).toThrow(/files\.model\.onnx: sha256 [0-9a-f]{64} does not match/);
  });

  it('rejects a truncated model file by its size', () => {
    const dir = bundle();
    const bytes = readFileSync(join(dir, 'model.onnx'));
    writeFileSync(join(dir, 'model.onnx'), bytes.subarray(0, 100));
    expect(() => readBundle(dir)).toThrow(/files\.model\.onnx: size 100 does not match/);
  });

  it('rejects a bundle for the wrong task', () => {
    expect(() => readBundle(bundle(), 'face-detector')).toThrow(/task: is "emotion-classifier", expected "face-detector"/);
  });

  it('rejects a corrupt ONNX file that matches its manifest', async () => {
    const b = readBundle(bundle(manifest(), new TextEncoder().encode('this is not an onnx model')));
    await expect(createSession(b)).rejects.toThrow(/model\.onnx: ONNX Runtime cannot load it/);
  });

  it('rejects an ONNX input name that differs from the manifest', async () => {
    const b = readBundle(bundle(manifest(), tinyClassifier({ inputName: 'image' })));
    await expect(createSession(b)).rejects.toThrow(/input\.name: the ONNX model has no input "input" \(it has "image"\)/);
  });

  it('rejects an ONNX input shape that differs from the manifest', async () => {
    const b = readBundle(bundle(manifest(), tinyClassifier({ size: 48 })));
    await expect(createSession(b)).rejects.toThrow(/input\.shape: manifest says \[-1,64,64,1\], the ONNX model has \["N",48,48,1\]/);
  });

  it('rejects an output the model does not have', async () => {
    const m = manifest();
    m.outputs = [{ name: 'scores', shape: [-1, 7] }];
    (m.decoding as Record<string, unknown>).output = 'scores';
    await expect(createSession(readBundle(bundle(m)))).rejects.toThrow(/outputs\[0\]\.name: the ONNX model has no output "scores"/);
  });

  it('rejects labels that do not match the number of classes', async () => {
    const m = manifest();
    m.outputs = [{ name: 'probs', shape: [-1, 5] }];
    await expect(createSession(readBundle(bundle(m, tinyClassifier({ classes: 5 }))))).rejects.toThrow(/labels\.modelOrder: 7 labels but output "probs" has 5 classes/);
  });
});
