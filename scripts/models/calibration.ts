// Calibration sets for static INT8 quantization, built deterministically from real photos shipped by
// npm packages in node_modules (NOT from ../shared/data, which is evaluation data).
//
// Every input goes through the project's own pre-processing (src/vision/preprocess.ts), so the
// calibrated ranges are those the deployed agent produces:
//   - detector: whole frames, letterboxed/resized exactly as the manifest says, plus deterministic
//     variants (mirror, two crops through the detector's ROI path, darker, brighter/contrast);
//   - classifier: face crops cut around frozen face rectangles (found once with face-ssd-fp32 at
//     score >= 0.5 and written down below, so the set never depends on a detector re-run), with the
//     manifest's margin/square, plus seeded jitter of position/scale, mirror and brightness/contrast.
// The random jitter comes from a fixed-seed mulberry32 generator: the same call gives the same set.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import type { InputSpec, Manifest } from '../../src/models/manifest.js';
import { cropResize, readImage, type Frame, type Rect } from '../../src/vision/image.js';
import { cv } from '../../src/vision/opencv.js';
import { faceCropRect, frameToDetectorInput, rastersToTensor } from '../../src/vision/preprocess.js';
import { flipHorizontal, type Raster } from '../../src/vision/raster.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const FACE_API = 'node_modules/@vladmandic/face-api/demo';
const HUMAN = 'node_modules/@vladmandic/human/assets';

/** [x, y, width, height] in full-resolution pixels. */
type Box = [number, number, number, number];

interface SourceImage {
  path: string;
  /** Use the whole frame for the detector set. */
  frame: boolean;
  /** Face rectangles for the classifier set. */
  faces: Box[];
}

// Face rectangles: face-ssd-fp32 detections (score >= 0.5), rounded to pixels; faces shorter than
// 60 px and the tiny thumbnails of the collages are left out (they would be upscaled mush).
const SOURCES: SourceImage[] = [
  { path: `${FACE_API}/sample1.jpg`, frame: true, faces: [[413, 353, 177, 240], [839, 418, 187, 226], [1473, 196, 204, 240]] },
  { path: `${FACE_API}/sample2.jpg`, frame: true, faces: [[1446, 153, 195, 242], [898, 223, 152, 226], [360, 131, 152, 257]] },
  { path: `${FACE_API}/sample3.jpg`, frame: true, faces: [[585, 327, 198, 271], [1513, 288, 170, 283], [1073, 215, 224, 297]] },
  { path: `${FACE_API}/sample4.jpg`, frame: true, faces: [[663, 49, 185, 263], [255, 181, 163, 250], [988, 176, 171, 228], [1278, 136, 145, 253]] },
  {
    path: `${FACE_API}/sample5.jpg`, frame: true,
    faces: [[786, 108, 155, 212], [1110, 194, 163, 241], [596, 413, 168, 250], [1403, 385, 170, 278], [376, 861, 173, 300]],
  },
  { path: `${FACE_API}/sample6.jpg`, frame: true, faces: [[678, 317, 161, 310], [1180, 306, 188, 276], [1486, 258, 210, 301], [249, 467, 211, 292]] },
  { path: `${HUMAN}/samples.jpg`, frame: true, faces: [[299, 501, 56, 79]] },
  { path: `${HUMAN}/screenshot-facedetect.jpg`, frame: true, faces: [[41, 355, 81, 102], [201, 352, 83, 105], [504, 354, 79, 101], [667, 351, 70, 120]] },
  { path: `${HUMAN}/screenshot-faceid.jpg`, frame: false, faces: [[48, 150, 74, 102]] },
  {
    // A grid of ~120 face thumbnails (about 60x80 px each): many identities, poses and expressions.
    path: `${HUMAN}/screenshot-facematch.jpg`, frame: true,
    faces: [
      [882, 296, 63, 86], [441, 735, 68, 87], [1425, 398, 57, 77], [872, 722, 69, 102], [556, 736, 58, 75], [122, 741, 72, 84],
      [880, 508, 70, 91], [1202, 297, 58, 86], [13, 6, 143, 191], [1830, 740, 52, 77], [362, 749, 58, 71], [351, 636, 64, 77],
      [1413, 627, 57, 81], [11, 727, 72, 96], [135, 620, 66, 85], [237, 739, 62, 74], [1825, 402, 62, 93], [982, 287, 57, 86],
      [1618, 286, 69, 92], [1518, 515, 55, 75], [1310, 851, 64, 95], [570, 513, 56, 79], [1830, 309, 54, 64], [1199, 863, 61, 82],
      [1307, 722, 63, 98], [1737, 632, 56, 77], [1305, 406, 60, 90], [237, 635, 62, 74], [985, 720, 58, 99], [1087, 854, 66, 85],
      [784, 395, 67, 97], [979, 842, 62, 95], [355, 846, 66, 85], [779, 730, 63, 89], [1417, 735, 56, 85], [1194, 737, 59, 86],
      [1306, 296, 51, 79], [351, 297, 55, 79], [559, 296, 54, 81], [1189, 492, 66, 97], [247, 301, 56, 79], [464, 632, 56, 73],
      [1513, 736, 60, 80], [992, 402, 53, 90], [1509, 287, 60, 89], [653, 622, 62, 85], [463, 395, 56, 82], [1298, 506, 73, 90],
      [576, 621, 55, 77], [1516, 373, 64, 89], [343, 393, 66, 99], [1615, 738, 55, 76], [666, 725, 64, 87], [1729, 378, 68, 94],
      [986, 513, 60, 102], [1089, 729, 70, 96], [675, 500, 64, 88], [444, 851, 64, 84], [1310, 633, 56, 82], [1818, 628, 62, 84],
      [1193, 618, 63, 85], [1740, 746, 54, 71], [1732, 299, 63, 81], [467, 295, 45, 62], [1099, 474, 66, 110], [1813, 396, 55, 79],
      [883, 862, 57, 78], [30, 626, 59, 77], [1613, 512, 59, 78], [1823, 498, 73, 118], [1410, 848, 59, 92], [671, 301, 54, 76],
      [781, 303, 53, 72], [1414, 303, 52, 77], [882, 414, 65, 93],
    ],
  },
];

export interface CalibrationImage {
  path: string;
  package: string;
  sha256: string;
  width: number;
  height: number;
  faces?: number;
}

export interface CalibrationSet {
  feeds: Record<string, ort.Tensor>[];
  /** Model inputs (images or crops) in all feeds. */
  samples: number;
  images: CalibrationImage[];
  variants: string[];
  description: string;
}

/** mulberry32: a tiny seeded PRNG (uniform in [0, 1)). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function packageOf(path: string): string {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (!m) return '';
  const name = m[1]!;
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
  return `${name}@${pkg.version}`;
}

function describe(path: string, frame: Frame, faces?: number): CalibrationImage {
  const abs = join(REPO_ROOT, path);
  return {
    path: relative(REPO_ROOT, abs),
    package: packageOf(path),
    sha256: createHash('sha256').update(readFileSync(abs)).digest('hex'),
    width: frame.width,
    height: frame.height,
    ...(faces === undefined ? {} : { faces }),
  };
}

/** pixel' = clamp(round(pixel * gain + bias)), on a copy. */
function adjust(frame: Frame, gain: number, bias: number): Frame {
  const data = Buffer.allocUnsafe(frame.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, Math.round(frame.data[i]! * gain + bias)));
  return { ...frame, data };
}

function adjustRaster(r: Raster, gain: number, bias: number): Raster {
  const out = new Uint8Array(r.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(r.data[i]! * gain + bias)));
  return { ...r, data: out };
}

function mirror(frame: Frame): Frame {
  const m = new cv.Mat(frame.data, frame.height, frame.width, cv.CV_8UC3).flip(1);
  return { data: m.getData(), width: frame.width, height: frame.height };
}

function checkFixedBatch(spec: InputSpec): void {
  if (spec.shape[0] !== 1 && spec.shape[0] !== -1) throw new Error(`unsupported batch dimension ${spec.shape[0]}`);
}

/**
 * The detector set: every frame image as the agent would feed it (manifest resize), plus five
 * variants of each: mirrored, a top-left 75% crop and a centred 60% crop (through the ROI path the
 * agent uses), darker (x0.6) and brighter with more contrast (x1.25 + 10): 6 inputs per image.
 * Then close-ups, which the group photos lack (a face near the camera fills much of the frame and
 * is seen by the coarse SSD heads only): square ROIs of 1.4x, 2.2x and 4x the face height centred on the
 * two tallest faces of every image (black outside the photo, as the agent pads).
 */
export function detectorCalibration(manifest: Pick<Manifest, 'input'>): CalibrationSet {
  const spec = manifest.input;
  checkFixedBatch(spec);
  const feeds: Record<string, ort.Tensor>[] = [];
  const images: CalibrationImage[] = [];
  for (const src of SOURCES.filter((s) => s.frame)) {
    const frame = readImage(join(REPO_ROOT, src.path));
    images.push(describe(src.path, frame));
    const w = frame.width;
    const h = frame.height;
    const inputs: { f: Frame; roi?: Rect }[] = [
      { f: frame },
      { f: mirror(frame) },
      { f: frame, roi: { x: 0, y: 0, width: Math.round(w * 0.75), height: Math.round(h * 0.75) } },
      { f: frame, roi: { x: Math.round(w * 0.2), y: Math.round(h * 0.2), width: Math.round(w * 0.6), height: Math.round(h * 0.6) } },
      { f: adjust(frame, 0.6, 0) },
      { f: adjust(frame, 1.25, 10) },
    ];
    for (const { f, roi } of inputs) feeds.push({ [spec.name]: frameToDetectorInput(f, spec, roi).tensor });
  }
  let closeUps = 0;
  for (const src of SOURCES.filter((s) => s.faces.length > 0)) {
    const frame = readImage(join(REPO_ROOT, src.path));
    if (!src.frame) images.push(describe(src.path, frame));
    // Two tallest faces (ties: first listed), in a fixed order.
    const tallest = src.faces.map((b, i) => ({ b, i })).sort((p, q) => q.b[3] - p.b[3] || p.i - q.i).slice(0, 2);
    for (const { b: [x, y, w, h] } of tallest) {
      for (const k of [1.4, 2.2, 4]) {
        const side = Math.round(h * k);
        const roi: Rect = { x: Math.round(x + w / 2 - side / 2), y: Math.round(y + h / 2 - side / 2), width: side, height: side };
        feeds.push({ [spec.name]: frameToDetectorInput(frame, spec, roi).tensor });
        closeUps++;
      }
    }
  }
  return {
    feeds,
    samples: feeds.length,
    images,
    variants: [
      'original', 'mirror', 'crop top-left 75%', 'crop centre 60%', 'brightness x0.6', 'brightness x1.25+10',
      'close-up: square ROI 1.4x / 2.2x / 4x the face height around the 2 tallest faces of each photo',
    ],
    description:
      `${images.length} photos (people, groups, face collages) from npm packages: ${feeds.length - closeUps} frames (each full frame ` +
      `through the manifest's ${spec.resize ?? 'stretch'} resize to ${spec.width}x${spec.height} plus 5 deterministic variants) ` +
      `and ${closeUps} face close-ups`,
  };
}

export interface ClassifierCalibrationOptions {
  /** Crops per face, the first being the exact rectangle. Default 6. */
  variantsPerFace?: number;
  /** Crops per calibration run (the model has a dynamic batch). Default 16. */
  batch?: number;
  seed?: number;
}

/**
 * The classifier set: face crops cut as the agent cuts them (faceCropRect with the manifest's margin
 * and square, cropResize to the input size, manifest normalisation), one exact and N-1 jittered per
 * face: centre shift +-8% of the box, scale x0.9..1.15, mirror with p=0.5, gain 0.7..1.3, bias +-20.
 */
export function classifierCalibration(manifest: Pick<Manifest, 'input' | 'preprocess'>, opts: ClassifierCalibrationOptions = {}): CalibrationSet {
  const spec = manifest.input;
  checkFixedBatch(spec);
  const margin = manifest.preprocess?.margin ?? 0;
  const square = manifest.preprocess?.square ?? true;
  const perFace = opts.variantsPerFace ?? 6;
  const batch = opts.batch ?? 16;
  const rnd = prng(opts.seed ?? 20240611);
  const mats: Raster[] = [];
  const images: CalibrationImage[] = [];
  for (const src of SOURCES.filter((s) => s.faces.length > 0)) {
    const frame = readImage(join(REPO_ROOT, src.path));
    images.push(describe(src.path, frame, src.faces.length));
    for (const [x, y, w, h] of src.faces) {
      for (let v = 0; v < perFace; v++) {
        let box: Rect = { x, y, width: w, height: h };
        let flip = false;
        let gain = 1;
        let bias = 0;
        if (v > 0) {
          const s = 0.9 + 0.25 * rnd();
          const cx = x + w / 2 + (rnd() * 2 - 1) * 0.08 * w;
          const cy = y + h / 2 + (rnd() * 2 - 1) * 0.08 * h;
          box = { x: cx - (w * s) / 2, y: cy - (h * s) / 2, width: w * s, height: h * s };
          flip = rnd() < 0.5;
          gain = 0.7 + 0.6 * rnd();
          bias = Math.round((rnd() * 2 - 1) * 20);
        }
        let mat = cropResize(frame, faceCropRect(box, margin, square), spec.width, spec.height);
        if (flip) mat = flipHorizontal(mat);
        if (gain !== 1 || bias !== 0) mat = adjustRaster(mat, gain, bias);
        mats.push(mat);
      }
    }
  }
  const feeds: Record<string, ort.Tensor>[] = [];
  for (let i = 0; i < mats.length; i += batch) feeds.push({ [spec.name]: rastersToTensor(mats.slice(i, i + batch), spec) });
  const faces = SOURCES.reduce((a, s) => a + s.faces.length, 0);
  return {
    feeds,
    samples: mats.length,
    images,
    variants: [
      'exact rectangle',
      `${perFace - 1} seeded jitters (centre +-8%, scale 0.9..1.15, mirror p=0.5, gain 0.7..1.3, bias +-20)`,
    ],
    description:
      `${faces} face rectangles (face-ssd-fp32 detections, frozen) in ${images.length} photos from npm packages, ` +
      `cropped with margin ${margin}${square ? ', squared' : ''} to ${spec.width}x${spec.height} ${spec.colour}, ${perFace} crops per face`,
  };
}
