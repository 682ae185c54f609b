// Inference in the calling thread, with the models replaceable while frames flow: a swap loads the
// new bundle next to the serving one, then switches between two frames (a frame already running
// finishes on the model it started with), and releases the old session once no frame uses it. Also
// watches what the models give back, so a freshly activated model that misbehaves on real frames is
// noticed. The inference worker thread runs one of these (worker.ts); tests that start several agents
// in one process, and the `analyze` command, use it directly.
import { EventEmitter } from 'node:events';
import type { InputSpec, Task } from '../models/manifest.js';
import type { EmotionClassifier } from '../vision/classifier.js';
import type { FaceDetector } from '../vision/detector.js';
import type { Frame, Rect } from '../vision/image.js';
import { Analyzer, loadModel, type AnalyzerOptions } from './analyzer.js';
import {
  NOT_LOADED,
  type FrameAnalysis,
  type InferenceEngine,
  type InferenceEvents,
  type ModelNames,
} from './engine.js';
import { analyzeFrame } from './frame-analysis.js';

/** Identical classifier outputs for this many faces in a row: no real camera gives that, a dead model does. */
const CONSTANT_STREAK = 30;

export class InProcessEngine extends EventEmitter<InferenceEvents> implements InferenceEngine {
  private current: Analyzer | undefined;
  /** Frames running per Analyzer (a frame keeps the one it started with). */
  private readonly inflight = new Map<Analyzer, number>();
  /** Replaced models, released once no frame runs on the Analyzer that held them. */
  private retired: { analyzer: Analyzer; model: FaceDetector | EmotionClassifier }[] = [];
  private sameStreak = 0;
  private lastProbs: number[] = [];
  /** Why a model runs on the CPU although a GPU provider was asked for (swaps add theirs). */
  private readonly fallbacks: string[] = [];

  constructor(private readonly opts: AnalyzerOptions) {
    super();
  }

  /** A started engine: both models loaded (as Analyzer.load). */
  static async load(opts: AnalyzerOptions): Promise<InProcessEngine> {
    const engine = new InProcessEngine(opts);
    await engine.start();
    return engine;
  }

  get models(): ModelNames {
    const c = this.current;
    return c ? { detector: c.detector.name, classifier: c.classifier.name } : NOT_LOADED;
  }

  /** The serving detector's input (its manifest's): what a detector-sized frame copy is scaled into. */
  get detectorInput(): InputSpec | undefined {
    return this.current?.detector.bundle.manifest.input;
  }

  get providerFallbacks(): readonly string[] {
    return this.fallbacks;
  }

  async start(): Promise<void> {
    if (this.current) return;
    const analyzer = await Analyzer.load(this.opts);
    this.fallbacks.push(...analyzer.providerFallbacks);
    this.current = analyzer;
  }

  /** The models stay loaded: they go with the process. */
  stop(): Promise<void> {
    return Promise.resolve();
  }

  async analyze(frame: Frame, roi: Rect | undefined, minFaceSize: number): Promise<FrameAnalysis> {
    const used = this.loaded();
    this.inflight.set(used, (this.inflight.get(used) ?? 0) + 1);
    try {
      const result = await analyzeFrame(used, frame, roi, minFaceSize, this.opts.quality);
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
    this.loaded();
    const model = await loadModel(task, dir, this.opts, this.fallbacks);
    const old = this.loaded();
    this.current =
      task === 'face-detector'
        ? new Analyzer(model as FaceDetector, old.classifier)
        : new Analyzer(old.detector, model as EmotionClassifier);
    this.retired.push({ analyzer: old, model: task === 'face-detector' ? old.detector : old.classifier });
    this.sameStreak = 0;
    await this.releaseRetired();
    return this.models;
  }

  private loaded(): Analyzer {
    if (!this.current) throw new Error('inference is not started');
    return this.current;
  }

  private async releaseRetired(): Promise<void> {
    if (this.retired.length === 0) return; // every frame comes here; a swap is rare
    const free = this.retired.filter((r) => !this.inflight.has(r.analyzer));
    this.retired = this.retired.filter((r) => this.inflight.has(r.analyzer));
    for (const r of free) await r.model.release().catch(() => undefined);
  }

  private watch(r: FrameAnalysis): void {
    for (const f of r.faces) {
      const p = f.probabilities;
      if (!p) continue; // not classified (quality gate)
      if (p.some((v) => !Number.isFinite(v))) {
        this.emit('health', {
          task: 'emotion-classifier',
          problem: 'nan',
          message: `the classifier gave ${JSON.stringify(p.slice(0, 3))}… for a detected face`,
        });
        return;
      }
      const same = p.length === this.lastProbs.length && p.every((v, i) => v === this.lastProbs[i]);
      this.sameStreak = same ? this.sameStreak + 1 : 0;
      this.lastProbs = p;
      if (this.sameStreak >= CONSTANT_STREAK) {
        this.sameStreak = 0;
        this.emit('health', {
          task: 'emotion-classifier',
          problem: 'constant',
          message: `the classifier gave the same output for ${CONSTANT_STREAK} faces in a row`,
        });
      }
    }
  }
}
