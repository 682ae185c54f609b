// Runs a model bundle over an evaluation set and produces the report objects of metrics.ts and
// detection.ts. Timing covers inference (preprocessing + ONNX Runtime + decoding), not file decoding.
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { EmotionClassifier } from '../vision/classifier.js';
import type { FaceDetector } from '../vision/detector.js';
import { readImage, takeFrame, type Frame } from '../vision/image.js';
import { cv } from '../vision/opencv.js';
import { loadClassFolders, loadFer2013Csv, type Fer2013Usage } from './datasets.js';
import { evaluateDetections, parseBoxesJsonl, type Detection, type DetectionEvaluation } from './detection.js';
import { emotionReport, type EmotionReport, type EmotionSample } from './metrics.js';

export interface EmotionEvalOptions {
  batch?: number;
  usage?: Fer2013Usage;
  limit?: number;
  onProgress?: (done: number, total: number) => void;
}

interface Item {
  label: number;
  load: () => Frame;
}

function emotionItems(data: string, opts: EmotionEvalOptions): Item[] {
  if (data.toLowerCase().endsWith('.csv')) {
    return loadFer2013Csv(data, opts.usage ? { usage: opts.usage } : {}).map((s) => ({
      label: s.label,
      load: () => takeFrame(new cv.Mat(Buffer.from(s.pixels), s.height, s.width, cv.CV_8UC1)),
    }));
  }
  return loadClassFolders(data).map((s) => ({ label: s.label, load: () => readImage(s.path) }));
}

export async function evaluateEmotion(
  classifier: EmotionClassifier,
  data: string,
  opts: EmotionEvalOptions = {},
): Promise<EmotionReport> {
  let items = emotionItems(data, opts);
  if (opts.limit) items = items.slice(0, opts.limit);
  if (items.length === 0) throw new Error(`no labelled images found in ${data}`);
  const batch = Math.max(1, opts.batch ?? 32);
  const samples: EmotionSample[] = [];
  let inferMs = 0;
  for (let i = 0; i < items.length; i += batch) {
    const chunk = items.slice(i, i + batch);
    const frames = chunk.map((it) => it.load());
    const t0 = performance.now();
    const out = await classifier.classifyImages(frames);
    inferMs += performance.now() - t0;
    out.forEach((e, k) => samples.push({ label: chunk[k]!.label, probs: e.probabilities }));
    opts.onProgress?.(samples.length, items.length);
  }
  return emotionReport(samples, { msPerFace: inferMs / samples.length });
}

export interface DetectorEvalOptions {
  minFace?: number;
  limit?: number;
  /** Lowest score kept for the PR curve (AP needs the low-score tail). */
  minScore?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface DetectorEvalResult extends DetectionEvaluation {
  msPerImage: number;
}

export async function evaluateDetector(
  detector: FaceDetector,
  boxesJsonl: string,
  opts: DetectorEvalOptions = {},
): Promise<DetectorEvalResult> {
  let gt = parseBoxesJsonl(boxesJsonl);
  if (opts.limit) gt = gt.slice(0, opts.limit);
  if (gt.length === 0) throw new Error(`no images listed in ${boxesJsonl}`);
  const root = dirname(boxesJsonl);
  const preds = new Map<string, Detection[]>();
  let ms = 0;
  for (const img of gt) {
    const frame = readImage(join(root, img.image));
    const t0 = performance.now();
    const faces = await detector.detect(frame, undefined, opts.minScore ?? 0.05);
    ms += performance.now() - t0;
    preds.set(
      img.image,
      faces.map((f) => ({ box: [f.box.x, f.box.y, f.box.width, f.box.height], score: f.score })),
    );
    opts.onProgress?.(preds.size, gt.length);
  }
  const ev = evaluateDetections(gt, preds, {
    iou: 0.5,
    minFace: opts.minFace ?? 40,
    scoreThreshold: detector.scoreThreshold,
  });
  return { ...ev, msPerImage: ms / gt.length };
}
