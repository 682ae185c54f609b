#!/usr/bin/env -S npx tsx
// Makes the YuNet face-detector bundles from the ONNX files in ../shared/models/yunet (their README
// gives origin, licence and sha256). The graphs are used as published (no conversion is needed: they
// are ONNX already); what we add is the manifest: input handling, our decoding parameters, licence
// and provenance, and the hashes that tie the bundle to its source file.
//
//   npx tsx scripts/models/make-yunet-bundles.ts            # models/face-yunet-fp32 (then quantize-models.ts --only yunet)
//   npx tsx scripts/models/make-yunet-bundles.ts --variant s --input fit:960 --out var/yunet/s-fit960
//                                                           # a variant for measurement (input: letterbox | fit:<max side>)
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MANIFEST_FILE, validateManifest, type InputSpec, type Manifest, type YunetHead } from '../../src/models/manifest.js';
import { REPO_ROOT } from './calibration.js';
import { sha256, writeBundle } from './write-bundle.js';

export const YUNET_DIR = join(REPO_ROOT, '..', 'shared', 'models', 'yunet');

type Variant = 's' | 'n';
export type YunetInput = { kind: 'letterbox' } | { kind: 'fit'; maxSide: number };

/** sha256 of each source file, from ../shared/models/yunet/README.md: a changed file is refused. */
const SOURCES: Record<string, string> = {
  'yunet_s_640_640.onnx': '8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4',
  'yunet_s_dynamic.onnx': 'daede24002cc8590f457998cc5e6c9e8b82f45f6bd969506a8913cd4ed10a2d3',
  'yunet_n_640_640.onnx': '25a606a145a5b6d7271ae138fbd00eba91dad8b83222ae3f2c7ecd0f4a7b0e31',
  'yunet_n_dynamic.onnx': '104ee26c71d5c270ce79a6b3dced91c91013260d29a6bf18f9296c5b8c4c2b12',
};

/** The shipped choice (docs/models.md, "YuNet: choice of input", has the measurements behind it). */
export const SHIPPED: { variant: Variant; input: YunetInput; dir: string } = { variant: 'n', input: { kind: 'fit', maxSide: 960 }, dir: 'models/face-yunet-fp32' };

// Default score threshold, chosen on ../shared/data/facedet with yunet_n at fit 960 (docs/models.md,
// one detection pass, every threshold): 0.76 recall 0.800 / precision 0.882, 0.78 0.789 / 0.911,
// 0.80 0.773 / 0.935, 0.82 0.752 / 0.956. 0.80 leaves room on held-out photos for BOTH targets (recall
// >= 0.70, precision >= 0.90): about 3 standard errors each.
const SCORE_THRESHOLD = 0.8;

const STRIDES = [8, 16, 32];
// The model's own order (YuNet README: right eye, left eye, nose tip, right and left mouth corner, the
// person's sides). Our names are the image's sides (see Face.landmarks): the person's right eye is
// on the image's left.
const LANDMARKS = ['leftEye', 'rightEye', 'noseTip', 'mouthLeft', 'mouthRight'];

function sourceFile(variant: Variant, input: YunetInput): string {
  return `yunet_${variant}_${input.kind === 'letterbox' ? '640_640' : 'dynamic'}.onnx`;
}

const LICENCE: Record<string, Pick<Manifest['provenance'], 'license' | 'licenseNotes' | 'upstream'>> = {
  opencvZoo: {
    license: 'MIT',
    upstream: 'OpenCV Zoo models/face_detection_yunet/face_detection_yunet_2023mar.onnx (github.com/opencv/opencv_zoo), byte-identical; trained with ShiqiYu/libfacedetection.train',
    licenseNotes:
      'OpenCV Zoo face_detection_yunet is MIT (LICENSE-opencv_zoo beside the source file, keep the notice). Trained on WIDER FACE train, whose images are released for non-commercial research only: the weights\' MIT grant comes from their authors; review before commercial use, as for the SSD bundle.',
  },
  upstream: {
    license: 'Apache-2.0',
    upstream: 'ShiqiYu/libfacedetection.train @ 0047ac24, onnx/ (github.com/ShiqiYu/libfacedetection.train)',
    licenseNotes:
      'libfacedetection.train is Apache-2.0 (LICENSE-libfacedetection.train beside the source file; keep the licence and notices). Trained on WIDER FACE train, whose images are released for non-commercial research only: the weights\' Apache-2.0 grant comes from their authors; review before commercial use, as for the SSD bundle.',
  },
};

export function yunetManifest(variant: Variant, input: YunetInput, modelBytes: Uint8Array, source: string): Omit<Manifest, 'files'> {
  const fit = input.kind === 'fit';
  const side = fit ? input.maxSide : 640;
  const spec: InputSpec = {
    name: 'input',
    shape: fit ? [-1, 3, -1, -1] : [1, 3, 640, 640],
    layout: 'NCHW',
    colour: 'bgr',
    width: side,
    height: side,
    normalization: { scale: 1, mean: [0], std: [1] },
    resize: fit ? 'fit' : 'letterbox',
    resizeKernel: 'half-pixel',
    ...(fit ? { sizeMultiple: 32 } : {}),
  };
  const n = (s: number): number => (fit ? -1 : (640 / s) * (640 / s));
  const heads: YunetHead[] = STRIDES.map((s) => ({ stride: s, cls: `cls_${s}`, obj: `obj_${s}`, bbox: `bbox_${s}`, kps: `kps_${s}` }));
  const batch = fit ? -1 : 1;
  const outputs = heads.flatMap((h) => [
    { name: h.cls, shape: [batch, n(h.stride), 1] },
    { name: h.obj, shape: [batch, n(h.stride), 1] },
    { name: h.bbox, shape: [batch, n(h.stride), 4] },
    { name: h.kps, shape: [batch, n(h.stride), 10] },
  ]);
  const zoo = variant === 's' && !fit;
  return {
    schemaVersion: 1,
    name: `face-yunet-${variant}`,
    version: '1.0.0',
    task: 'face-detector',
    precision: 'fp32',
    description:
      `YuNet-${variant} face detector with 5 landmarks (eyes, nose tip, mouth corners). ` +
      (fit
        ? `Dynamic input: the frame (or ROI) is scaled to fit ${side}x${side} keeping its aspect and padded with black at the bottom/right to multiples of 32. `
        : 'Fixed 640x640 input: the frame is padded with black at the bottom/right to a square and resized. ') +
      'BGR 0-255, NCHW, no normalisation. Decoding (ours, src/vision/yunet.ts): per stride 8/16/32 one prior per grid cell, score = sqrt(cls * obj), box and landmarks from the cell and stride; then NMS.',
    model: 'model.onnx',
    input: spec,
    outputs,
    decoding: { type: 'yunet', heads, landmarkNames: LANDMARKS, scoreThreshold: SCORE_THRESHOLD, iouThreshold: 0.3 },
    provenance: {
      source: `../shared/models/yunet/${source}`,
      sourceSha256: { [source]: sha256(modelBytes) },
      ...LICENCE[zoo ? 'opencvZoo' : 'upstream']!,
      converter: 'scripts/models/make-yunet-bundles.ts (graph unchanged; manifest and decoding ours)',
      trainingData: 'WIDER FACE train (YuNet paper, Wu, Peng, Yu, Machine Intelligence Research 2023)',
    },
  };
}

/** Reads a source file and checks it against the README's sha256. */
export function readYunetSource(variant: Variant, input: YunetInput): { bytes: Buffer; source: string } {
  const source = sourceFile(variant, input);
  const path = join(YUNET_DIR, source);
  if (!existsSync(path)) throw new Error(`${path} not found: the YuNet bundles are made from ../shared/models/yunet`);
  const bytes = readFileSync(path);
  if (sha256(bytes) !== SOURCES[source]) throw new Error(`${path}: sha256 ${sha256(bytes)} is not the one its README records (${SOURCES[source]})`);
  return { bytes, source };
}

export function writeYunetBundle(variant: Variant, input: YunetInput, dir: string): string {
  const { bytes, source } = readYunetSource(variant, input);
  const manifest = yunetManifest(variant, input, bytes, source);
  validateManifest({ ...manifest, files: { 'model.onnx': { sha256: sha256(bytes), size: bytes.byteLength } } }, `${dir}/${MANIFEST_FILE}`);
  writeBundle(join(REPO_ROOT, dir), manifest, { 'model.onnx': bytes });
  return dir;
}

function parseInput(v: string): YunetInput {
  if (v === 'letterbox') return { kind: 'letterbox' };
  const m = /^fit:(\d+)$/.exec(v);
  if (!m || Number(m[1]) < 32) throw new Error(`--input: expected letterbox or fit:<max side in pixels, at least 32>, got "${v}"`);
  return { kind: 'fit', maxSide: Number(m[1]) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const argv = process.argv.slice(2);
  const arg = (k: string): string | undefined => (argv.includes(k) ? argv[argv.indexOf(k) + 1] : undefined);
  try {
    if (!existsSync(YUNET_DIR)) {
      console.log(`${YUNET_DIR} not found: YuNet bundles skipped`);
    } else if (arg('--out')) {
      const variant = arg('--variant') ?? 's';
      if (variant !== 's' && variant !== 'n') throw new Error(`--variant: expected s or n, got "${variant}"`);
      console.log(`wrote ${writeYunetBundle(variant, parseInput(arg('--input') ?? 'letterbox'), arg('--out')!)}`);
    } else {
      console.log(`wrote ${writeYunetBundle(SHIPPED.variant, SHIPPED.input, SHIPPED.dir)}`);
    }
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
