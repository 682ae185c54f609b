// Facial-expression classification: every face of a frame goes through ONE ONNX Runtime run, and the
// model's own label order is mapped to the canonical order here, so nothing downstream cares which
// model is loaded.
import type * as ort from 'onnxruntime-node';
import { createSession, readBundle, type BundleInfo, type SessionOptions } from '../models/bundle.js';
import { CANONICAL_LABELS, type ClassificationDecoding, type EmotionLabel } from '../models/manifest.js';
import type { Face } from './detector.js';
import { cropResize, frameToRaster, type Frame } from './image.js';
import { cropFace, faceCropRect, hflip, rastersToTensor } from './preprocess.js';
import type { Raster } from './raster.js';

export interface Emotion {
  label: EmotionLabel;
  score: number;
  /** Canonical order: angry, disgust, fear, happy, sad, surprise, neutral. */
  probabilities: number[];
}

export interface ClassifierOptions {
  /** Horizontal-flip test-time augmentation: average the face and its mirror image. */
  flipTta?: boolean;
  /** Largest batch per ONNX Runtime run (a crowd is split into several runs). */
  maxBatch?: number;
}

/** The most probable label of `probabilities` (canonical order; the first of equals). */
export function emotionOf(probabilities: number[]): Emotion {
  let best = 0;
  for (let c = 1; c < probabilities.length; c++) if (probabilities[c]! > probabilities[best]!) best = c;
  return { label: CANONICAL_LABELS[best]!, score: probabilities[best]!, probabilities };
}

export function softmax(logits: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const e = Array.from({ length: logits.length }, (_, i) => Math.exp(logits[i]! - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

export class EmotionClassifier {
  private readonly decoding: ClassificationDecoding;
  /** canonicalIndex[modelIndex] */
  private readonly toCanonical: number[];

  constructor(
    readonly bundle: BundleInfo,
    private readonly session: ort.InferenceSession,
    private readonly opts: ClassifierOptions = {},
  ) {
    this.decoding = bundle.manifest.decoding as ClassificationDecoding;
    const order = bundle.manifest.labels!.modelOrder;
    this.toCanonical = order.map((l) => CANONICAL_LABELS.indexOf(l));
  }

  static async load(
    dir: string,
    session: SessionOptions = {},
    opts: ClassifierOptions = {},
  ): Promise<EmotionClassifier> {
    const bundle = readBundle(dir, 'emotion-classifier');
    return new EmotionClassifier(
      { dir: bundle.dir, manifest: bundle.manifest },
      await createSession(bundle, session),
      opts,
    );
  }

  /** Frees the ONNX Runtime session (after a swap, once no frame runs on it). */
  release(): Promise<void> {
    return this.session.release();
  }

  get name(): string {
    return `${this.bundle.manifest.name}@${this.bundle.manifest.version}`;
  }

  /** Classifies the detected faces of one frame, cropping each from the full-resolution frame. */
  async classifyFaces(frame: Frame, faces: Face[]): Promise<Emotion[]> {
    if (faces.length === 0) return [];
    const { input, preprocess } = this.bundle.manifest;
    const src = frameToRaster(frame);
    const crops = faces.map((f) => {
      const rect = faceCropRect(f.box, preprocess?.margin ?? 0, preprocess?.square ?? true);
      const l = f.landmarks?.leftEye;
      const r = f.landmarks?.rightEye;
      const eyes = preprocess?.align && l && r ? { left: l, right: r } : undefined;
      return cropFace(src, rect, input.width, input.height, eyes, input.resizeKernel);
    });
    return this.classifyCrops(crops);
  }

  /** Classifies whole images that are already face crops (datasets such as FER-2013). */
  async classifyImages(frames: Frame[]): Promise<Emotion[]> {
    const { input } = this.bundle.manifest;
    const crops = frames.map((f) =>
      cropResize(f, { x: 0, y: 0, width: f.width, height: f.height }, input.width, input.height, input.resizeKernel),
    );
    return this.classifyCrops(crops);
  }

  /** `crops` are already input-sized (BGR or gray). */
  async classifyCrops(crops: Raster[]): Promise<Emotion[]> {
    const max = Math.max(1, this.opts.maxBatch ?? 32);
    const out: Emotion[] = [];
    for (let i = 0; i < crops.length; i += max) {
      const chunk = crops.slice(i, i + max);
      const probs = await this.run(chunk);
      if (this.opts.flipTta) {
        const flipped = await this.run(chunk.map(hflip));
        probs.forEach((p, k) => p.forEach((v, c) => (p[c] = (v + flipped[k]![c]!) / 2)));
      }
      for (const p of probs) out.push(emotionOf(p));
    }
    return out;
  }

  /** One batched run; returns canonical-order probabilities per crop. */
  private async run(crops: Raster[]): Promise<number[][]> {
    const { input } = this.bundle.manifest;
    const res = await this.session.run({ [input.name]: rastersToTensor(crops, input) });
    const t = res[this.decoding.output];
    if (!t) throw new Error(`${this.name}: model did not return output "${this.decoding.output}"`);
    const data = t.data as Float32Array;
    const k = this.toCanonical.length;
    return crops.map((_, n) => {
      const row = data.subarray(n * k, (n + 1) * k);
      const p = this.decoding.activation === 'softmax' ? softmax(row) : Array.from(row);
      const canon = new Array<number>(k).fill(0);
      p.forEach((v, m) => (canon[this.toCanonical[m]!] = v));
      return canon;
    });
  }
}
