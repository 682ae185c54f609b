// Model loading for inference: the detector + classifier pair (`Analyzer`) and one model of it
// (`loadModel`, also what a hot swap and `evaluate` load).
import type { SessionOptions } from '../models/bundle.js';
import type { Task } from '../models/manifest.js';
import { defaultBundleDir } from '../models/defaults.js';
import { EmotionClassifier } from '../vision/classifier.js';
import { FaceDetector } from '../vision/detector.js';
import type { QualityOptions } from '../vision/quality-options.js';

export interface AnalyzerOptions extends SessionOptions {
  detector?: string;
  classifier?: string;
  scoreThreshold?: number;
  minFaceSize?: number;
  flipTta?: boolean;
  /** Faces per classifier run (default: the classifier's). */
  maxBatch?: number;
  /** The daemon's quality gate (faces not classified); default DEFAULT_QUALITY. */
  quality?: QualityOptions;
}

/**
 * One model of the analysis, loaded with the analyzer's options (also what a hot swap loads). Why a GPU
 * provider could not be used is pushed to `fallbacks`.
 */
export async function loadModel(
  task: 'face-detector',
  dir: string,
  opts: AnalyzerOptions,
  fallbacks: string[],
): Promise<FaceDetector>;
export async function loadModel(
  task: 'emotion-classifier',
  dir: string,
  opts: AnalyzerOptions,
  fallbacks: string[],
): Promise<EmotionClassifier>;
export async function loadModel(
  task: Task,
  dir: string,
  opts: AnalyzerOptions,
  fallbacks: string[],
): Promise<FaceDetector | EmotionClassifier>;
export async function loadModel(
  task: Task,
  dir: string,
  opts: AnalyzerOptions,
  fallbacks: string[],
): Promise<FaceDetector | EmotionClassifier> {
  const session: SessionOptions = {
    executionProvider: opts.executionProvider ?? 'cpu',
    threads: opts.threads ?? 0,
    onProviderFallback: (m) => fallbacks.push(m),
  };
  return task === 'face-detector'
    ? FaceDetector.load(dir, session, {
        ...(opts.scoreThreshold !== undefined ? { scoreThreshold: opts.scoreThreshold } : {}),
        ...(opts.minFaceSize !== undefined ? { minFaceSize: opts.minFaceSize } : {}),
      })
    : EmotionClassifier.load(dir, session, {
        flipTta: opts.flipTta ?? false,
        ...(opts.maxBatch !== undefined ? { maxBatch: opts.maxBatch } : {}),
      });
}

/** Detector + classifier: the models of the per-frame analysis (frame-analysis.ts runs them). */
export class Analyzer {
  constructor(
    readonly detector: FaceDetector,
    readonly classifier: EmotionClassifier,
    /** Why a model runs on the CPU although a GPU provider was asked for (log these). */
    readonly providerFallbacks: readonly string[] = [],
  ) {}

  static async load(opts: AnalyzerOptions = {}): Promise<Analyzer> {
    const fallbacks: string[] = [];
    const detector = await loadModel(
      'face-detector',
      opts.detector ?? defaultBundleDir('face-detector'),
      opts,
      fallbacks,
    );
    const classifier = await loadModel(
      'emotion-classifier',
      opts.classifier ?? defaultBundleDir('emotion-classifier'),
      opts,
      fallbacks,
    );
    return new Analyzer(detector, classifier, fallbacks);
  }
}
