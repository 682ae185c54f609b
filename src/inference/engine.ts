// The one interface to inference: what the Agent, its camera pipelines, the model updates and the
// `analyze` command use, whether the models run in the inference worker thread (the daemon,
// worker-engine.ts) or in the calling thread (tests, the analyze command, in-process.ts).
// Types (and one constant) only: importing this file loads neither ONNX Runtime nor OpenCV.
import type { Task } from '../models/manifest.js';
import type { HeadPose } from '../vision/head-pose.js';
import type { Frame, Rect } from '../vision/image.js';
import type { Point } from '../vision/preprocess.js';
import type { SkipReason } from '../vision/quality-options.js';

/** The serving models, as `name@version`. */
export type ModelNames = { detector: string; classifier: string };

/** What `models` says before start(). */
export const NOT_LOADED: ModelNames = Object.freeze({ detector: 'not loaded', classifier: 'not loaded' });

export interface AnalyzedFace {
  box: Rect;
  score: number;
  landmarks?: Record<string, Point>;
  /** Head pose, when the detector gives the five landmarks. */
  pose?: HeadPose;
  /** Canonical order; null when the quality gate kept the face from the classifier (see `skipped`). */
  probabilities: number[] | null;
  skipped?: SkipReason;
}

export interface FrameAnalysis {
  faces: AnalyzedFace[];
  detectMs: number;
  classifyMs: number;
}

/** Something wrong with what inference gave back; task null when it cannot be told which model failed. */
export interface InferenceHealth {
  task: Task | null;
  problem: 'nan' | 'constant' | 'error';
  message: string;
}

/** Detector + classifier, loaded by start(), replaceable per task while frames flow. */
export interface InferenceEngine {
  /** The serving models; `not loaded` before start(). */
  readonly models: ModelNames;
  /** Why a model runs on the CPU although a GPU provider was asked for (log these); set once started. */
  readonly providerFallbacks: readonly string[];
  /** Resolves once both models are loaded; rejects with the loading error. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Detect, drop faces lower than `minFaceSize`, gate the rest on quality, classify those that pass. */
  analyze(frame: Frame, roi: Rect | undefined, minFaceSize: number): Promise<FrameAnalysis>;
  /** Loads `dir` for `task` and switches to it between two frames; rejects (old model kept) on failure. */
  swap(task: Task, dir: string): Promise<ModelNames>;
  /** `health`: what a model gave back looks wrong (the rollback trigger); `error`: the engine cannot go on. */
  on(event: 'health', listener: (h: InferenceHealth) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
}

/** The events an engine emits (see InferenceEngine.on). */
export type InferenceEvents = { health: [InferenceHealth]; error: [Error] };
