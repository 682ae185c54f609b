// What the per-camera pipeline needs from inference, whether it runs in this thread (tests, the
// analyze command) or in the inference worker (the daemon).
import type { Analyzer } from '../analyze/analyze.js';
import type { Frame, Rect } from '../vision/image.js';
import type { Point } from '../vision/preprocess.js';

export interface AnalysedFace {
  box: Rect;
  score: number;
  landmarks?: Record<string, Point>;
  /** Canonical order. */
  probabilities: number[];
}

export interface FrameAnalysis {
  faces: AnalysedFace[];
  detectMs: number;
  classifyMs: number;
}

export interface FrameAnalyzer {
  readonly models: { detector: string; classifier: string };
  analyze(frame: Frame, roi: Rect | undefined, minFaceSize: number): Promise<FrameAnalysis>;
}

/** Detect, drop faces below the minimum size, classify the rest in one batch. */
export async function analyseFrame(analyzer: Analyzer, frame: Frame, roi: Rect | undefined, minFaceSize: number): Promise<FrameAnalysis> {
  const t0 = performance.now();
  const faces = (await analyzer.detector.detect(frame, roi)).filter((f) => f.box.height >= minFaceSize);
  const t1 = performance.now();
  const emotions = await analyzer.classifier.classifyFaces(frame, faces);
  const t2 = performance.now();
  return {
    faces: faces.map((f, i) => ({ box: f.box, score: f.score, ...(f.landmarks ? { landmarks: f.landmarks } : {}), probabilities: emotions[i]!.probabilities })),
    detectMs: t1 - t0,
    classifyMs: t2 - t1,
  };
}
