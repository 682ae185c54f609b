// What the per-camera pipeline needs from inference, whether it runs in this thread (tests, the
// analyze command) or in the inference worker (the daemon).
import type { Analyzer } from '../analyze/analyze.js';
import type { HeadPose } from '../vision/head-pose.js';
import { frameToRaster, type Frame, type Rect } from '../vision/image.js';
import type { Point } from '../vision/preprocess.js';
import { DEFAULT_QUALITY, gateFace, type QualityOptions, type SkipReason } from '../vision/quality.js';

export interface AnalysedFace {
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
  faces: AnalysedFace[];
  detectMs: number;
  classifyMs: number;
}

export interface FrameAnalyzer {
  readonly models: { detector: string; classifier: string };
  analyze(frame: Frame, roi: Rect | undefined, minFaceSize: number): Promise<FrameAnalysis>;
}

/** Detect, drop faces below the minimum size, gate the rest on quality, classify those that pass in one batch. */
export async function analyseFrame(analyzer: Analyzer, frame: Frame, roi: Rect | undefined, minFaceSize: number, quality: QualityOptions = DEFAULT_QUALITY): Promise<FrameAnalysis> {
  const t0 = performance.now();
  const faces = (await analyzer.detector.detect(frame, roi)).filter((f) => f.box.height >= minFaceSize);
  const t1 = performance.now();
  const src = frameToRaster(frame);
  const gates = faces.map((f) => gateFace(src, f, quality));
  const passed = faces.filter((_, i) => !gates[i]!.skip);
  const emotions = await analyzer.classifier.classifyFaces(frame, passed);
  const t2 = performance.now();
  let next = 0;
  return {
    faces: faces.map((f, i) => {
      const g = gates[i]!;
      const probabilities = g.skip ? null : emotions[next++]!.probabilities;
      return {
        box: f.box,
        score: f.score,
        ...(f.landmarks ? { landmarks: f.landmarks } : {}),
        ...(g.pose ? { pose: g.pose } : {}),
        probabilities,
        ...(g.skip ? { skipped: g.skip } : {}),
      };
    }),
    detectMs: t1 - t0,
    classifyMs: t2 - t1,
  };
}
