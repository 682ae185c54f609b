// Golden test vectors: inputs and the outputs the model gave for them when it was packed. The device
// runs them before activating a model, so a file that loads but computes something else (a wrong
// export, a broken quantization, a tampered graph that still matches the manifest) is refused.
// Files are raw little-endian float32, flat names listed in the manifest's files like any other.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ManifestError, type GoldenSpec, type InputSpec, type Manifest } from './manifest.js';

/**
 * The concrete shape used for a manifest input: a dynamic (-1) batch becomes 1, dynamic height and
 * width (resize 'fit' detectors) become the manifest's input.height and input.width.
 */
export function concreteShape(shape: readonly number[], input?: Pick<InputSpec, 'layout' | 'width' | 'height'>): number[] {
  const [hAt, wAt] = input?.layout === 'NHWC' ? [1, 2] : [2, 3];
  return shape.map((d, i) => (d >= 0 ? d : i === hAt && input ? input.height : i === wAt && input ? input.width : 1));
}

/**
 * A deterministic pseudo-random input in the range the model really sees: random pixels 0..255 put
 * through the manifest's normalization (so int8 models are probed inside their calibrated range).
 */
export function syntheticInput(manifest: Manifest, seed: number, shape = concreteShape(manifest.input.shape, manifest.input)): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const { scale, mean, std } = manifest.input.normalization;
  const channels = manifest.input.colour === 'gray' ? 1 : 3;
  const nchw = manifest.input.layout === 'NCHW';
  const plane = n / (shape[0] ?? 1) / channels;
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    // xorshift32: cheap, and the same numbers on every machine.
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    const c = nchw ? Math.floor(i / plane) % channels : i % channels;
    const pixel = s % 256;
    out[i] = (pixel * scale - (mean[c] ?? mean[0]!)) / (std[c] ?? std[0]!);
  }
  return out;
}

export async function runOnce(session: ort.InferenceSession, manifest: Manifest, data: Float32Array, shape: number[]): Promise<Record<string, Float32Array>> {
  const out = await session.run({ [manifest.input.name]: new ort.Tensor('float32', data, shape) });
  const result: Record<string, Float32Array> = {};
  for (const o of manifest.outputs) {
    const t = out[o.name];
    if (!t || t.type !== 'float32') throw new ManifestError('model', `output "${o.name}" is missing or not float32`);
    result[o.name] = t.data as Float32Array;
  }
  return result;
}

function readF32(path: string): Float32Array {
  const b = readFileSync(path);
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return new Float32Array(copy.buffer, 0, Math.floor(b.byteLength / 4));
}

const f32Bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Runs `count` synthetic inputs and writes them and the outputs into the bundle folder. */
export async function writeGoldens(dir: string, manifest: Manifest, session: ort.InferenceSession, count: number, tolerance: number): Promise<GoldenSpec> {
  const vectors: GoldenSpec['vectors'] = [];
  for (let i = 0; i < count; i++) {
    const shape = concreteShape(manifest.input.shape, manifest.input);
    const input = syntheticInput(manifest, i + 1, shape);
    const outputs = await runOnce(session, manifest, input, shape);
    const names: Record<string, string> = {};
    writeFileSync(join(dir, `golden-${i}.input.f32`), f32Bytes(input));
    for (const [name, data] of Object.entries(outputs)) {
      if (data.some((v) => !Number.isFinite(v))) throw new Error(`golden vector ${i}: output "${name}" has NaN or infinite values; refusing to pack a broken model`);
      const file = `golden-${i}.${name.replace(/[^A-Za-z0-9._-]/g, '_')}.f32`;
      writeFileSync(join(dir, file), f32Bytes(data));
      names[name] = file;
    }
    vectors.push({ input: `golden-${i}.input.f32`, shape, outputs: names });
  }
  return { tolerance, vectors };
}

/** Runs the bundle's golden vectors; throws naming the vector, output and index that differ. */
export async function checkGoldens(dir: string, manifest: Manifest, session: ort.InferenceSession, where: string): Promise<number> {
  const g = manifest.golden;
  if (!g) return 0;
  for (const [i, v] of g.vectors.entries()) {
    const input = readF32(join(dir, v.input));
    if (input.length !== v.shape.reduce((a, b) => a * b, 1)) throw new ManifestError(where, `golden.vectors[${i}].input: ${input.length} values for shape ${JSON.stringify(v.shape)}`);
    const got = await runOnce(session, manifest, input, v.shape);
    for (const [name, file] of Object.entries(v.outputs)) {
      const want = readF32(join(dir, file));
      const have = got[name];
      if (!have || have.length !== want.length) throw new ManifestError(where, `golden.vectors[${i}].outputs.${name}: the model gives ${have?.length ?? 0} values, expected ${want.length}`);
      for (let j = 0; j < want.length; j++) {
        const d = Math.abs(have[j]! - want[j]!);
        if (!(d <= g.tolerance)) {
          throw new ManifestError(where, `golden.vectors[${i}].outputs.${name}[${j}]: got ${have[j]}, expected ${want[j]} (tolerance ${g.tolerance})`);
        }
      }
    }
  }
  return g.vectors.length;
}
