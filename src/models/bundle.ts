// Loading a model bundle: manifest (schema + integrity) and an ONNX Runtime session whose real
// inputs and outputs are checked against what the manifest promises.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { MANIFEST_FILE, ManifestError, readVerifiedFile, validateManifest, type Manifest, type Task } from './manifest.js';
import { CPU_PROVIDER, providerChain, type ExecutionProvider } from './providers.js';

export interface Bundle {
  dir: string;
  manifest: Manifest;
  modelBytes: Buffer;
}

/** What a loaded model keeps of its bundle: not the model bytes, which ONNX Runtime has copied. */
export type BundleInfo = Pick<Bundle, 'dir' | 'manifest'>;

export interface SessionOptions {
  /** One of EXECUTION_PROVIDERS, where the ONNX Runtime build has it; default the CPU. */
  executionProvider?: ExecutionProvider;
  /** Intra-op threads; 0 lets ONNX Runtime choose. */
  threads?: number;
  /** Called when the GPU provider cannot load (no CUDA libraries, a CPU-only build) and CPU serves instead. */
  onProviderFallback?: (message: string) => void;
}

/** A bundle's manifest, validated, without reading or verifying its files (see readBundle for that). */
export function readBundleManifest(dir: string, expectTask?: Task): Manifest {
  const abs = resolve(dir);
  const where = `model bundle ${abs}`;
  const manifestPath = join(abs, MANIFEST_FILE);
  if (!existsSync(manifestPath)) throw new ManifestError(where, `${MANIFEST_FILE} is missing (is this a bundle folder?)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (err) {
    throw new ManifestError(where, `${MANIFEST_FILE} is not valid JSON: ${(err as Error).message}`);
  }
  const manifest = validateManifest(parsed, where);
  if (expectTask && manifest.task !== expectTask) {
    throw new ManifestError(where, `task: is "${manifest.task}", expected "${expectTask}"`);
  }
  return manifest;
}

export function readBundle(dir: string, expectTask?: Task): Bundle {
  const abs = resolve(dir);
  const where = `model bundle ${abs}`;
  const manifest = readBundleManifest(abs, expectTask);
  let modelBytes: Buffer | undefined;
  for (const [name, entry] of Object.entries(manifest.files)) {
    const bytes = readVerifiedFile(abs, name, entry, where);
    if (name === manifest.model) modelBytes = bytes;
  }
  return { dir: abs, manifest, modelBytes: modelBytes! };
}

function dimsMatch(actual: readonly (number | string)[], expected: number[]): boolean {
  if (actual.length !== expected.length) return false;
  // -1 in the manifest means "dynamic": the ONNX dim must be symbolic (a string) or -1.
  return expected.every((e, i) => {
    const a = actual[i];
    if (e === -1) return typeof a === 'string' || a === -1;
    return a === e;
  });
}

type Meta = { name: string; isTensor: boolean; type?: string; shape?: readonly (number | string)[] };

/** Checks the session's real inputs/outputs against the manifest; errors name the field. */
export function checkSessionAgainstManifest(session: ort.InferenceSession, manifest: Manifest, where: string): void {
  const inputs = (session as unknown as { inputMetadata: readonly Meta[] }).inputMetadata;
  const outputs = (session as unknown as { outputMetadata: readonly Meta[] }).outputMetadata;
  const inMeta = inputs.find((m) => m.name === manifest.input.name);
  if (!inMeta) {
    throw new ManifestError(where, `input.name: the ONNX model has no input "${manifest.input.name}" (it has ${inputs.map((m) => `"${m.name}"`).join(', ')})`);
  }
  if (inputs.length !== 1) throw new ManifestError(where, `input: the ONNX model has ${inputs.length} inputs; bundles must have exactly one`);
  if (inMeta.type && inMeta.type !== 'float32') throw new ManifestError(where, `input: the ONNX input is ${inMeta.type}, expected float32`);
  if (inMeta.shape && !dimsMatch(inMeta.shape, manifest.input.shape)) {
    throw new ManifestError(where, `input.shape: manifest says ${JSON.stringify(manifest.input.shape)}, the ONNX model has ${JSON.stringify(inMeta.shape)}`);
  }
  manifest.outputs.forEach((o, i) => {
    const meta = outputs.find((m) => m.name === o.name);
    if (!meta) {
      throw new ManifestError(where, `outputs[${i}].name: the ONNX model has no output "${o.name}" (it has ${outputs.map((m) => `"${m.name}"`).join(', ')})`);
    }
    if (meta.shape && !dimsMatch(meta.shape, o.shape)) {
      throw new ManifestError(where, `outputs[${i}].shape: manifest says ${JSON.stringify(o.shape)}, the ONNX model has ${JSON.stringify(meta.shape)}`);
    }
  });
  if (manifest.task === 'emotion-classifier' && manifest.decoding.type === 'classification') {
    const out = manifest.outputs.find((o) => o.name === (manifest.decoding as { output: string }).output);
    const classes = out?.shape[out.shape.length - 1];
    if (classes !== manifest.labels?.modelOrder.length) {
      throw new ManifestError(where, `labels.modelOrder: ${manifest.labels?.modelOrder.length} labels but output "${out?.name}" has ${classes} classes`);
    }
  }
}

export async function createSession(bundle: Bundle, opts: SessionOptions = {}): Promise<ort.InferenceSession> {
  const where = `model bundle ${bundle.dir}`;
  let session: ort.InferenceSession;
  try {
    session = await createWithFallback(bundle, opts);
  } catch (err) {
    throw new ManifestError(where, `${bundle.manifest.model}: ONNX Runtime cannot load it: ${(err as Error).message}`);
  }
  checkSessionAgainstManifest(session, bundle.manifest, where);
  return session;
}

/**
 * ONNX Runtime skips a listed provider it lacks only at run time; one whose shared library cannot load
 * (the npm build for arm64 is CPU-only, an x86 box without CUDA) fails the whole session instead. A box
 * configured for the GPU then still analyses, on the CPU, and says so.
 */
async function createWithFallback(bundle: Bundle, opts: SessionOptions): Promise<ort.InferenceSession> {
  const ep = opts.executionProvider ?? CPU_PROVIDER;
  try {
    return await createWith(bundle, opts, providerChain(ep));
  } catch (err) {
    if (ep === CPU_PROVIDER) throw err;
    const session = await createWith(bundle, opts, [CPU_PROVIDER]);
    opts.onProviderFallback?.(`${bundle.manifest.name}: execution provider ${ep} unavailable (${(err as Error).message.split('\n')[0]}); running on the CPU`);
    return session;
  }
}

function createWith(bundle: Bundle, opts: SessionOptions, executionProviders: string[]): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bundle.modelBytes, {
    executionProviders,
    intraOpNumThreads: opts.threads ?? 0,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    // The arena keeps the peak of concurrent runs; the daemon's worker runs one frame at a time, so that
    // is one run's activations, allocated once. Without it every run allocates them afresh, and with
    // glibc's mmap threshold pinned (deploy files) each is page-faulted and zeroed again: one 1080p
    // camera at 5 fps measured 34,000 page faults/s without the arena, 7,000 with it (frame buffers
    // also reused), 0.24 -> 0.20 CPU-s per frame, at the same RSS. The memory pattern would add about
    // 30 MB (4 cameras) for no measurable gain (docs/performance.md).
    enableCpuMemArena: true,
    enableMemPattern: false,
    // No busy-waiting between runs: at 5 fps per camera the pool idles most of the time, and
    // spinning threads would burn a core of a small box for nothing.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
}
