// Face detection on full frames: one ONNX Runtime run per frame, then threshold, NMS and size filter
// in our code (the graph ends at decoded boxes and scores).
import type * as ort from 'onnxruntime-node';
import { createSession, readBundle, type BundleInfo, type SessionOptions } from '../models/bundle.js';
import type { BoxesScoresDecoding } from '../models/manifest.js';
import type { Frame, Rect } from './image.js';
import { nms } from './nms.js';
import { frameToDetectorInput, type Point } from './preprocess.js';

export interface Face {
  /** Pixels of the full frame. */
  box: Rect;
  score: number;
  /** Named points in frame pixels, when the model gives them (e.g. leftEye, rightEye). */
  landmarks?: Record<string, Point>;
}

export interface DetectorOptions {
  scoreThreshold?: number;
  iouThreshold?: number;
  /** Faces whose box height is below this many frame pixels are dropped. */
  minFaceSize?: number;
  maxFaces?: number;
}

export class FaceDetector {
  readonly scoreThreshold: number;
  readonly iouThreshold: number;
  private readonly decoding: BoxesScoresDecoding;

  constructor(readonly bundle: BundleInfo, private readonly session: ort.InferenceSession, private readonly opts: DetectorOptions = {}) {
    this.decoding = bundle.manifest.decoding as BoxesScoresDecoding;
    this.scoreThreshold = opts.scoreThreshold ?? this.decoding.scoreThreshold ?? 0.5;
    this.iouThreshold = opts.iouThreshold ?? this.decoding.iouThreshold ?? 0.4;
  }

  static async load(dir: string, session: SessionOptions = {}, opts: DetectorOptions = {}): Promise<FaceDetector> {
    const bundle = readBundle(dir, 'face-detector');
    return new FaceDetector({ dir: bundle.dir, manifest: bundle.manifest }, await createSession(bundle, session), opts);
  }

  /** Frees the ONNX Runtime session (after a swap, once no frame runs on it). */
  release(): Promise<void> {
    return this.session.release();
  }

  get name(): string {
    return `${this.bundle.manifest.name}@${this.bundle.manifest.version}`;
  }

  async detect(frame: Frame, roi?: Rect, scoreThreshold = this.scoreThreshold): Promise<Face[]> {
    const spec = this.bundle.manifest.input;
    const { tensor, mapping } = frameToDetectorInput(frame, spec, roi);
    const out = await this.session.run({ [spec.name]: tensor });
    const boxesT = out[this.decoding.boxes];
    const scoresT = out[this.decoding.scores];
    if (!boxesT || !scoresT) throw new Error(`${this.name}: model did not return its boxes/scores outputs`);
    const boxes = boxesT.data as Float32Array;
    const scores = scoresT.data as Float32Array;
    const marks = this.decoding.landmarks ? (out[this.decoding.landmarks]?.data as Float32Array | undefined) : undefined;
    const names = this.decoding.landmarkNames ?? [];
    const perMark = marks && scores.length > 0 ? marks.length / scores.length : 0;
    const yx = this.decoding.boxFormat === 'yxyx-normalized';
    const minSize = this.opts.minFaceSize ?? 0;

    const cand: number[] = [];
    const rects: Rect[] = [];
    for (let i = 0; i < scores.length; i++) {
      const s = scores[i]!;
      if (!(s >= scoreThreshold)) continue; // also drops NaN
      const a = boxes[i * 4]!, b = boxes[i * 4 + 1]!, c = boxes[i * 4 + 2]!, d = boxes[i * 4 + 3]!;
      const [x0, y0, x1, y1] = yx ? [b, a, d, c] : [a, b, c, d];
      // Clip to the analysed region: boxes past the border are partly outside the image.
      const px0 = Math.max(0, x0) * mapping.scaleX + mapping.offsetX;
      const py0 = Math.max(0, y0) * mapping.scaleY + mapping.offsetY;
      const px1 = Math.min(roi ? roi.x + roi.width : frame.width, Math.min(1, x1) * mapping.scaleX + mapping.offsetX);
      const py1 = Math.min(roi ? roi.y + roi.height : frame.height, Math.min(1, y1) * mapping.scaleY + mapping.offsetY);
      if (px1 <= px0 || py1 <= py0) continue;
      rects[i] = { x: px0, y: py0, width: px1 - px0, height: py1 - py0 };
      cand.push(i);
    }
    cand.sort((p, q) => scores[q]! - scores[p]!);
    // Size filter after NMS: filtering first would let a larger, weaker duplicate of a small face
    // survive once its better-scoring box is gone.
    const keep = nms(rects, cand, this.iouThreshold).filter((i) => rects[i]!.height >= minSize).slice(0, this.opts.maxFaces ?? 100);
    return keep.map((i) => {
      const face: Face = { box: rects[i]!, score: scores[i]! };
      if (marks && perMark >= 2) {
        face.landmarks = {};
        for (let k = 0; k < perMark / 2; k++) {
          const x = marks[i * perMark + 2 * k]! * mapping.scaleX + mapping.offsetX;
          const y = marks[i * perMark + 2 * k + 1]! * mapping.scaleY + mapping.offsetY;
          face.landmarks[names[k] ?? `p${k}`] = { x, y };
        }
      }
      return face;
    });
  }
}
