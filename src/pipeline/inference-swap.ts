// The models behind the frame analysis, replaceable while frames flow: a swap loads the new bundle
// next to the serving one, then switches between two frames (a frame already running finishes on the
// model it started with), and releases the old session once no frame uses it. Also watches what the
// models give back, so a freshly activated model that misbehaves on real frames is noticed.
import { EventEmitter } from 'node:events';
import type * as ort from 'onnxruntime-node';
import { Analyzer, type AnalyzerOptions } from '../analyze/analyze.js';
import { createSession, readBundle, type SessionOptions } from '../models/bundle.js';
import { defaultBundleDir } from '../models/defaults.js';
import type { Task } from '../models/manifest.js';
import { EmotionClassifier } from '../vision/classifier.js';
import { FaceDetector } from '../vision/detector.js';
import type { Frame, Rect } from '../vision/image.js';
import { analyseFrame, type FrameAnalysis, type FrameAnalyzer } from './frame-analysis.js';

/** Something wrong with what inference gave back; task null when it cannot be told which model failed. */
export interface InferenceHealth { task: Task | null; problem: 'nan' | 'constant' | 'error'; message: string }

export type ModelNames = { detector: string; classifier: string };

/** Identical classifier outputs for this many faces in a row: no real camera gives that, a dead model does. */
const CONSTANT_STREAK = 30;

async function loadPart(task: Task, dir: string, opts: AnalyzerOptions, fallbacks: string[]): Promise<{ part: FaceDetector | EmotionClassifier; session: ort.InferenceSession }> {
  const so: SessionOptions = { executionProvider: opts.executionProvider ?? 'cpu', threads: opts.threads ?? 0, onProviderFallback: (m) => fallbacks.push(m) };
  const bundle = readBundle(dir, task);
  const session = await createSession(bundle, so);
  const part = task === 'face-detector'
    ? new FaceDetector(bundle, session, {
      ...(opts.scoreThreshold !== undefined ? { scoreThreshold: opts.scoreThreshold } : {}),
      ...(opts.minFaceSize !== undefined ? { minFaceSize: opts.minFaceSize } : {}),
    })
    : new EmotionClassifier(bundle, session, { flipTta: opts.flipTta ?? false });
  return { part, session };
}

export class SwappableAnalyzer extends EventEmitter<{ health: [InferenceHealth] }> {
  /** Frames running per Analyzer (a frame keeps the one it started with). */
  private readonly inflight = new Map<Analyzer, number>();
  /** Replaced sessions, released once no frame runs on the Analyzer that held them. */
  private retired: { analyzer: Analyzer; session: ort.InferenceSession }[] = [];
  private sameStreak = 0;
  private lastProbs = '';
  /** Why a model runs on the CPU although a GPU provider was asked for (as Analyzer.providerFallbacks). */
  readonly providerFallbacks: string[] = [];

  private constructor(private current: Analyzer, private sessions: Map<Task, ort.InferenceSession>, private readonly opts: AnalyzerOptions) {
    super();
  }

  /** Loads both models (the same defaults as Analyzer.load). */
  static async load(opts: AnalyzerOptions): Promise<SwappableAnalyzer> {
    const fallbacks: string[] = [];
    const d = await loadPart('face-detector', opts.detector ?? defaultBundleDir('face-detector'), opts, fallbacks);
    const c = await loadPart('emotion-classifier', opts.classifier ?? defaultBundleDir('emotion-classifier'), opts, fallbacks);
    const analyzer = new Analyzer(d.part as FaceDetector, c.part as EmotionClassifier, fallbacks);
    const s = new SwappableAnalyzer(analyzer, new Map([['face-detector', d.session], ['emotion-classifier', c.session]]), opts);
    s.providerFallbacks.push(...fallbacks);
    return s;
  }

  get models(): ModelNames {
    return { detector: this.current.detector.name, classifier: this.current.classifier.name };
  }

  async analyze(frame: Frame, roi: Rect | undefined, minFaceSize: number): Promise<FrameAnalysis> {
    const used = this.current;
    this.inflight.set(used, (this.inflight.get(used) ?? 0) + 1);
    try {
      const result = await analyseFrame(used, frame, roi, minFaceSize);
      this.watch(result);
      return result;
    } catch (err) {
      this.emit('health', { task: null, problem: 'error', message: (err as Error).message });
      throw err;
    } finally {
      const n = (this.inflight.get(used) ?? 1) - 1;
      if (n > 0) this.inflight.set(used, n);
      else this.inflight.delete(used);
      await this.releaseRetired();
    }
  }

  /** Loads `dir` for `task` and makes it serve from the next frame on; rejects (old model kept) when it cannot load. */
  async swap(task: Task, dir: string): Promise<ModelNames> {
    const { part, session } = await loadPart(task, dir, this.opts, this.providerFallbacks);
    const old = this.current;
    this.current = task === 'face-detector'
      ? new Analyzer(part as FaceDetector, old.classifier)
      : new Analyzer(old.detector, part as EmotionClassifier);
    this.retired.push({ analyzer: old, session: this.sessions.get(task)! });
    this.sessions.set(task, session);
    this.sameStreak = 0;
    await this.releaseRetired();
    return this.models;
  }

  private async releaseRetired(): Promise<void> {
    const free = this.retired.filter((r) => !this.inflight.has(r.analyzer));
    this.retired = this.retired.filter((r) => this.inflight.has(r.analyzer));
    for (const r of free) await r.session.release().catch(() => undefined);
  }

  private watch(r: FrameAnalysis): void {
    for (const f of r.faces) {
      if (f.probabilities.some((p) => !Number.isFinite(p))) {
        this.emit('health', { task: 'emotion-classifier', problem: 'nan', message: `the classifier gave ${JSON.stringify(f.probabilities.slice(0, 3))}… for a detected face` });
        return;
      }
      const key = f.probabilities.join(',');
      this.sameStreak = key === this.lastProbs ? this.sameStreak + 1 : 0;
      this.lastProbs = key;
      if (this.sameStreak >= CONSTANT_STREAK) {
        this.sameStreak = 0;
        this.emit('health', { task: 'emotion-classifier', problem: 'constant', message: `the classifier gave the same output for ${CONSTANT_STREAK} faces in a row` });
      }
    }
  }
}

/** In-thread inference with swaps (tests and tools that run agents in one process; see Agent). */
export class LocalSwappableAnalyzer implements FrameAnalyzer {
  constructor(readonly inner: SwappableAnalyzer) {}
  get models(): ModelNames { return this.inner.models; }
  analyze(frame: Frame, roi: Rect | undefined, minFaceSize: number): Promise<FrameAnalysis> { return this.inner.analyze(frame, roi, minFaceSize); }
  swap(task: Task, dir: string): Promise<ModelNames> { return this.inner.swap(task, dir); }
  on(event: 'health', fn: (h: InferenceHealth) => void): this { this.inner.on(event, fn); return this; }
  stop(): Promise<void> { return Promise.resolve(); }
}
