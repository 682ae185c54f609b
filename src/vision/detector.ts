// Face detection on full frames: one ONNX Runtime run per frame, then decoding (SSD: boxes decoded in
// the graph; YuNet: prior grids, src/vision/yunet.ts), threshold, NMS and size filter in our code.
import type * as ort from 'onnxruntime-node';
import { createSession, readBundle, type BundleInfo, type SessionOptions } from '../models/bundle.js';
import type { BoxesScoresDecoding, DetectorDecoding } from '../models/manifest.js';
import type { Frame, Rect } from './image.js';
import { nms } from './nms.js';
import { frameToDetectorInput, type Point } from './preprocess.js';
import { decodeYunet, type Candidate } from './yunet.js';

export interface Face {
  /** Pixels of the full frame. */
  box: Rect;
  score: number;
  /**
   * Named points in frame pixels, when the model gives them. Sides are as seen in the image: leftEye is
   * the eye nearer the image's left edge (the person's right eye), as cropFace's alignment expects.
   */
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
  private readonly decoding: DetectorDecoding;
  /** The largest input buffer so far, written again by the next run (a 960x544 input is 6 MB). */
  private inputBuffer: Float32Array | undefined;

  constructor(
    readonly bundle: BundleInfo,
    private readonly session: ort.InferenceSession,
    private readonly opts: DetectorOptions = {},
  ) {
    this.decoding = bundle.manifest.decoding as DetectorDecoding;
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
    // The input buffer of the last run is written again (taken, so a concurrent call makes its own).
    const reuse = this.inputBuffer;
    this.inputBuffer = undefined;
    const { tensor, mapping } = frameToDetectorInput(frame, spec, roi, reuse);
    const out = await this.session.run({ [spec.name]: tensor });
    // The whole buffer, not the view the tensor used: the next photo may be taller.
    if (tensor.data instanceof Float32Array) this.inputBuffer = new Float32Array(tensor.data.buffer);
    const output = (name: string): Float32Array => {
      const t = out[name];
      if (!t) throw new Error(`${this.name}: model did not return its "${name}" output`);
      return t.data as Float32Array;
    };
    // Candidates in normalised input coordinates (0..1 of the tensor fed), whatever the model's format.
    let cand: Candidate[];
    let names: readonly string[];
    if (this.decoding.type === 'yunet') {
      const [h, w] = tensor.dims.slice(2) as [number, number];
      cand = decodeYunet(this.decoding.heads, output, w, h, scoreThreshold).map((c) => normalise(c, w, h));
      names = this.decoding.landmarkNames;
    } else {
      cand = decodeBoxesScores(this.decoding, output, scoreThreshold);
      names = this.decoding.landmarkNames ?? [];
    }
    const right = roi ? roi.x + roi.width : frame.width;
    const bottom = roi ? roi.y + roi.height : frame.height;
    const rects: Rect[] = [];
    const kept: number[] = [];
    cand.forEach((c, i) => {
      // Clip to the analysed region: boxes past the border are partly outside the image.
      const px0 = Math.max(0, c.x0) * mapping.scaleX + mapping.offsetX;
      const py0 = Math.max(0, c.y0) * mapping.scaleY + mapping.offsetY;
      const px1 = Math.min(right, Math.min(1, c.x1) * mapping.scaleX + mapping.offsetX);
      const py1 = Math.min(bottom, Math.min(1, c.y1) * mapping.scaleY + mapping.offsetY);
      if (px1 <= px0 || py1 <= py0) return;
      rects[i] = { x: px0, y: py0, width: px1 - px0, height: py1 - py0 };
      kept.push(i);
    });
    kept.sort((p, q) => cand[q]!.score - cand[p]!.score);
    // Size filter after NMS: filtering first would let a larger, weaker duplicate of a small face
    // survive once its better-scoring box is gone.
    const minSize = this.opts.minFaceSize ?? 0;
    const keep = nms(rects, kept, this.iouThreshold)
      .filter((i) => rects[i]!.height >= minSize)
      .slice(0, this.opts.maxFaces ?? 100);
    return keep.map((i) => {
      const c = cand[i]!;
      const face: Face = { box: rects[i]!, score: c.score };
      if (c.points.length >= 2) {
        face.landmarks = {};
        for (let k = 0; k < c.points.length / 2; k++) {
          face.landmarks[names[k] ?? `p${k}`] = {
            x: c.points[2 * k]! * mapping.scaleX + mapping.offsetX,
            y: c.points[2 * k + 1]! * mapping.scaleY + mapping.offsetY,
          };
        }
      }
      return face;
    });
  }
}

function normalise(c: Candidate, w: number, h: number): Candidate {
  return {
    x0: c.x0 / w,
    y0: c.y0 / h,
    x1: c.x1 / w,
    y1: c.y1 / h,
    score: c.score,
    points: c.points.map((v, j) => (j % 2 === 0 ? v / w : v / h)),
  };
}

/** SSD-style outputs: boxes already decoded (normalised) in the graph, one score per anchor. */
function decodeBoxesScores(
  d: BoxesScoresDecoding,
  output: (name: string) => Float32Array,
  threshold: number,
): Candidate[] {
  const boxes = output(d.boxes);
  const scores = output(d.scores);
  const marks = d.landmarks ? output(d.landmarks) : undefined;
  const perMark = marks && scores.length > 0 ? marks.length / scores.length : 0;
  const yx = d.boxFormat === 'yxyx-normalized';
  const found: Candidate[] = [];
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (!(s >= threshold)) continue; // also drops NaN
    const a = boxes[i * 4]!,
      b = boxes[i * 4 + 1]!,
      c = boxes[i * 4 + 2]!,
      e = boxes[i * 4 + 3]!;
    const [x0, y0, x1, y1] = yx ? [b, a, e, c] : [a, b, c, e];
    found.push({
      x0,
      y0,
      x1,
      y1,
      score: s,
      points: marks ? Array.from(marks.subarray(i * perMark, (i + 1) * perMark)) : [],
    });
  }
  return found;
}
