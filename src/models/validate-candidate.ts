// Validation of a candidate model before it may serve: it loads in ONNX Runtime with the inputs,
// outputs and labels its task needs, reproduces its golden vectors, gives finite and input-dependent
// outputs, and is not much slower than the model it would replace. ONNX Runtime's run() is synchronous,
// so the agent runs this in a child process (`models validate`, through src/updates/validate-in-child.ts),
// never on its main thread.
import type * as ort from 'onnxruntime-node';
import { createSession, readBundle, type Bundle } from './bundle.js';
import { checkGoldens, concreteShape, runOnce, syntheticInput } from './golden.js';
import { ManifestError, type Manifest, type Task } from './manifest.js';

export interface ValidateOptions {
  task: Task;
  /** The serving model's bundle: the latency reference, measured in the same process, interleaved. */
  baseline?: string;
  /** Refuse when the candidate's median latency exceeds this multiple of the baseline's. */
  latencyMultiple?: number;
  /** Timed runs per model. */
  runs?: number;
}

export interface ValidationResult {
  ok: boolean;
  error?: string;
  version?: string;
  goldens?: number;
  latencyMs?: number;
  baselineMs?: number;
}

/** The output a task's decoding reads scores from: what must be finite and vary with the input. */
function mainOutput(m: Manifest): string {
  if (m.decoding.type === 'classification') return m.decoding.output;
  return m.decoding.type === 'boxes-scores' ? m.decoding.scores : m.decoding.heads[0]!.cls;
}

/** NaN/Inf anywhere, or the main output identical for different inputs, is a broken model. */
async function probeOutputs(session: ort.InferenceSession, m: Manifest, where: string): Promise<void> {
  const seen: Float32Array[] = [];
  for (let seed = 1001; seed < 1005; seed++) {
    const shape = concreteShape(m.input.shape, m.input);
    const out = await runOnce(session, m, syntheticInput(m, seed, shape), shape);
    for (const [name, data] of Object.entries(out)) {
      const bad = data.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new ManifestError(where, `output "${name}" is ${data[bad]} at index ${bad} for a valid input (the model produces NaN/Inf)`);
    }
    seen.push(out[mainOutput(m)]!);
  }
  const first = seen[0]!;
  if (seen.every((s) => s.length === first.length && s.every((v, i) => v === first[i]))) {
    throw new ManifestError(where, `output "${mainOutput(m)}" is the same for ${seen.length} different inputs (the model gives a constant output)`);
  }
}

async function timeOnce(session: ort.InferenceSession, m: Manifest, input: Float32Array, shape: number[]): Promise<number> {
  const t0 = performance.now();
  await runOnce(session, m, input, shape);
  return performance.now() - t0;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function load(dir: string, task: Task): Promise<{ bundle: Bundle; session: ort.InferenceSession }> {
  const bundle = readBundle(dir, task);
  return { bundle, session: await createSession(bundle, { threads: 1 }) };
}

export async function validateCandidate(dir: string, opts: ValidateOptions): Promise<ValidationResult> {
  const opened: ort.InferenceSession[] = [];
  try {
    const cand = await load(dir, opts.task);
    opened.push(cand.session);
    const where = `model bundle ${cand.bundle.dir}`;
    const m = cand.bundle.manifest;
    if (m.task === 'emotion-classifier' && !m.labels) throw new ManifestError(where, 'labels: a classifier must map its outputs to the canonical labels');
    const goldens = await checkGoldens(cand.bundle.dir, m, cand.session, where);
    await probeOutputs(cand.session, m, where);
    const result: ValidationResult = { ok: true, version: m.version, goldens };
    const runs = opts.runs ?? 9;
    const shape = concreteShape(m.input.shape, m.input);
    const input = syntheticInput(m, 7, shape);
    if (opts.baseline) {
      const base = await load(opts.baseline, opts.task);
      opened.push(base.session);
      const bm = base.bundle.manifest;
      const bShape = concreteShape(bm.input.shape, bm.input);
      const bInput = syntheticInput(bm, 7, bShape);
      // Interleaved after a warm-up, so a busy moment on a shared box hits both models alike.
      await timeOnce(cand.session, m, input, shape);
      await timeOnce(base.session, bm, bInput, bShape);
      const c: number[] = [];
      const b: number[] = [];
      for (let i = 0; i < runs; i++) {
        c.push(await timeOnce(cand.session, m, input, shape));
        b.push(await timeOnce(base.session, bm, bInput, bShape));
      }
      result.latencyMs = median(c);
      result.baselineMs = median(b);
      const limit = opts.latencyMultiple ?? 3;
      if (result.latencyMs > limit * result.baselineMs) {
        throw new ManifestError(where, `too slow: ${result.latencyMs.toFixed(2)} ms per run, more than ${limit}x the serving model's ${result.baselineMs.toFixed(2)} ms (models.update.latencyMultiple)`);
      }
    }
    return result;
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  } finally {
    for (const s of opened) await s.release().catch(() => undefined);
  }
}
