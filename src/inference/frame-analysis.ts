// The one frame analysis, whichever engine runs it (in this thread or in the inference worker).
import { frameToRaster, type Frame, type Rect } from '../vision/image.js';
import { DEFAULT_QUALITY, gateFace, type QualityOptions } from '../vision/quality.js';
import type { Analyzer } from './analyzer.js';
import type { FrameAnalysis } from './engine.js';

/** Detect, drop faces below the minimum size, gate the rest on quality, classify those that pass in one batch. */
export async function analyzeFrame(
  analyzer: Analyzer,
  frame: Frame,
  roi: Rect | undefined,
  minFaceSize: number,
  quality: QualityOptions = DEFAULT_QUALITY,
): Promise<FrameAnalysis> {
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
