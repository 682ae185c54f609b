// `emotion-agent analyze`: faces and emotions of an image, a video file or a stream, frame by frame.
import { extname } from 'node:path';
import { isStreamUrl, probeVideo, readFrames } from '../capture/ffmpeg.js';
import { redactString } from '../config/redact-url.js';
import type { SessionOptions } from '../models/bundle.js';
import { CANONICAL_LABELS, type Task } from '../models/manifest.js';
import { defaultBundleDir } from '../models/defaults.js';
import type { Emotion } from '../vision/classifier.js';
import { EmotionClassifier } from '../vision/classifier.js';
import { FaceDetector, type Face } from '../vision/detector.js';
import { readImage, writeImage, type Frame } from '../vision/image.js';
import type { QualityOptions } from '../vision/quality-options.js';
import { annotateFrame, VideoWriter } from './annotate.js';

export interface FaceResult extends Face {
  emotion: Emotion;
}

export interface FrameResult {
  frame: number;
  timeMs: number;
  width: number;
  height: number;
  faces: FaceResult[];
}

export interface AnalyzerOptions extends SessionOptions {
  detector?: string;
  classifier?: string;
  scoreThreshold?: number;
  minFaceSize?: number;
  flipTta?: boolean;
  /** The daemon's quality gate (faces not classified); default DEFAULT_QUALITY. */
  quality?: QualityOptions;
}

/**
 * One model of the analysis, loaded with the analyzer's options (also what a hot swap loads). Why a GPU
 * provider could not be used is pushed to `fallbacks`.
 */
export async function loadModel(task: 'face-detector', dir: string, opts: AnalyzerOptions, fallbacks: string[]): Promise<FaceDetector>;
export async function loadModel(task: 'emotion-classifier', dir: string, opts: AnalyzerOptions, fallbacks: string[]): Promise<EmotionClassifier>;
export async function loadModel(task: Task, dir: string, opts: AnalyzerOptions, fallbacks: string[]): Promise<FaceDetector | EmotionClassifier>;
export async function loadModel(task: Task, dir: string, opts: AnalyzerOptions, fallbacks: string[]): Promise<FaceDetector | EmotionClassifier> {
  const session: SessionOptions = { executionProvider: opts.executionProvider ?? 'cpu', threads: opts.threads ?? 0, onProviderFallback: (m) => fallbacks.push(m) };
  return task === 'face-detector'
    ? FaceDetector.load(dir, session, {
      ...(opts.scoreThreshold !== undefined ? { scoreThreshold: opts.scoreThreshold } : {}),
      ...(opts.minFaceSize !== undefined ? { minFaceSize: opts.minFaceSize } : {}),
    })
    : EmotionClassifier.load(dir, session, { flipTta: opts.flipTta ?? false });
}

/** Detector + classifier: the whole per-frame analysis. */
export class Analyzer {
  constructor(
    readonly detector: FaceDetector,
    readonly classifier: EmotionClassifier,
    /** Why a model runs on the CPU although a GPU provider was asked for (log these). */
    readonly providerFallbacks: readonly string[] = [],
  ) {}

  static async load(opts: AnalyzerOptions = {}): Promise<Analyzer> {
    const fallbacks: string[] = [];
    const detector = await loadModel('face-detector', opts.detector ?? defaultBundleDir('face-detector'), opts, fallbacks);
    const classifier = await loadModel('emotion-classifier', opts.classifier ?? defaultBundleDir('emotion-classifier'), opts, fallbacks);
    return new Analyzer(detector, classifier, fallbacks);
  }

  async analyze(frame: Frame): Promise<FaceResult[]> {
    const faces = await this.detector.detect(frame);
    const emotions = await this.classifier.classifyFaces(frame, faces);
    return faces.map((f, i) => ({ ...f, emotion: emotions[i]! }));
  }
}

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff']);

export interface AnalyzeRunOptions {
  annotate?: string;
  fps?: number;
  maxFrames?: number;
  signal?: AbortSignal;
}

/** Analyses `input`, calling `onFrame` per analysed frame. */
export async function analyzeSource(analyzer: Analyzer, input: string, opts: AnalyzeRunOptions, onFrame: (r: FrameResult) => void): Promise<number> {
  if (!isStreamUrl(input) && IMAGE_EXT.has(extname(input).toLowerCase())) {
    const frame = readImage(input);
    const faces = await analyzer.analyze(frame);
    onFrame({ frame: 0, timeMs: 0, width: frame.width, height: frame.height, faces });
    if (opts.annotate) writeImage(opts.annotate, annotateFrame(frame, faces));
    return 1;
  }
  const info = await probeVideo(input);
  const toVideo = opts.annotate && !IMAGE_EXT.has(extname(opts.annotate).toLowerCase());
  const writer = toVideo ? new VideoWriter(opts.annotate!, info.width, info.height, opts.fps ?? info.fps) : undefined;
  writer?.start();
  let n = 0;
  let lastAnnotated: Frame | undefined;
  try {
    for await (const frame of readFrames(input, info, { ...(opts.fps ? { fps: opts.fps } : {}), ...(opts.maxFrames ? { maxFrames: opts.maxFrames } : {}), ...(opts.signal ? { signal: opts.signal } : {}) })) {
      const faces = await analyzer.analyze(frame);
      onFrame({ frame: frame.index, timeMs: frame.timeMs, width: frame.width, height: frame.height, faces });
      if (opts.annotate) {
        const annotated = annotateFrame(frame, faces);
        if (writer) await writer.write(annotated);
        else lastAnnotated = annotated;
      }
      n++;
    }
  } finally {
    await writer?.stop();
  }
  // --annotate out.jpg on a video: the last frame, annotated.
  if (lastAnnotated && opts.annotate) writeImage(opts.annotate, lastAnnotated);
  if (n === 0) throw new Error(`no frames could be read from ${redactString(input)}`);
  return n;
}

export function formatFrame(r: FrameResult): string {
  const head = `frame ${r.frame} (${(r.timeMs / 1000).toFixed(2)} s): ${r.faces.length} face${r.faces.length === 1 ? '' : 's'}`;
  const lines = r.faces.map((f) => {
    const b = f.box;
    const top = f.emotion.probabilities
      .map((p, i) => [p, i] as const)
      .sort((a, b2) => b2[0] - a[0])
      .slice(1, 3)
      .map(([p, i]) => `${CANONICAL_LABELS[i]} ${(p * 100).toFixed(0)}%`)
      .join(', ');
    return `  [${Math.round(b.x)},${Math.round(b.y)} ${Math.round(b.width)}x${Math.round(b.height)}] face ${(f.score * 100).toFixed(0)}%  ${f.emotion.label} ${(f.emotion.score * 100).toFixed(0)}%  (${top})`;
  });
  return [head, ...lines].join('\n');
}

export function toJsonLine(r: FrameResult): string {
  const labels = CANONICAL_LABELS;
  return JSON.stringify({
    frame: r.frame,
    timeMs: r.timeMs,
    width: r.width,
    height: r.height,
    faces: r.faces.map((f) => ({
      box: { x: round(f.box.x), y: round(f.box.y), width: round(f.box.width), height: round(f.box.height) },
      score: round(f.score, 4),
      ...(f.landmarks ? { landmarks: f.landmarks } : {}),
      emotion: f.emotion.label,
      emotionScore: round(f.emotion.score, 4),
      probabilities: Object.fromEntries(labels.map((l, i) => [l, round(f.emotion.probabilities[i]!, 4)])),
    })),
  });
}

function round(v: number, digits = 1): number {
  const k = 10 ** digits;
  return Math.round(v * k) / k;
}
