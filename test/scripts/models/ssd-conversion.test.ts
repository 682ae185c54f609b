// Checks our ONNX SSD face detector (scripts/models/convert-ssd-mobilenetv1.ts) against face-api's
// own implementation of the same network (tfjs, wasm backend) on real photos, and that the
// conversion is reproducible byte for byte.
//
// What is compared: face-api's SsdMobilenetv1.forwardInput() output (decoded boxes [5118,4] and
// face scores [5118], before NMS) against ours, over ALL 5118 anchors, max |a - b| <= 1e-4.
// Both get the same 512x512 image: face-api's own NetInput.toBatchTensor(512, false) output, fed
// raw (0..255) to face-api and normalised per our manifest, (pixel*scale - mean)/std, to ours.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as tfjs from '@tensorflow/tfjs';
import { Ajv } from 'ajv';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertSsdMobilenetV1 } from '../../../scripts/models/convert-ssd-mobilenetv1.js';
import { readImage } from '../../../src/vision/image.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const bundleDir = join(root, 'models/face-ssd-fp32');
const faceApiDir = join(root, 'node_modules/@vladmandic/face-api');
const SAMPLES = [1, 2, 4, 6].map((i) => join(faceApiDir, `demo/sample${i}.jpg`));
const TOL = 1e-4;

// The parts of face-api (CommonJS build, untyped here) the test uses.
interface NetInput { toBatchTensor(inputSize: number, isCenterInputs?: boolean): tfjs.Tensor4D }
interface FaceApi {
  tf: typeof tfjs;
  toNetInput(input: tfjs.Tensor3D): Promise<NetInput>;
  nets: {
    ssdMobilenetv1: {
      loadFromDisk(dir: string): Promise<void>;
      forwardInput(input: NetInput): { boxes: tfjs.Tensor2D[]; scores: tfjs.Tensor1D[] };
    };
  };
}

interface Manifest {
  files: Record<string, { sha256: string; size: number }>;
  input: { normalization: { scale: number; mean: number[]; std: number[] } };
}

const require = createRequire(import.meta.url);
let faceapi: FaceApi;
let session: ort.InferenceSession;
let manifest: Manifest;
let tmp: string;
let converted: { modelSha256: string; manifestText: string };

beforeAll(async () => {
  // Re-run the conversion into a scratch folder; the comparison uses that fresh model.
  tmp = mkdtempSync(join(tmpdir(), 'ssd-conv-'));
  const r = convertSsdMobilenetV1(tmp);
  converted = { modelSha256: r.modelSha256, manifestText: readFileSync(join(tmp, 'manifest.json'), 'utf8') };
  manifest = JSON.parse(readFileSync(join(bundleDir, 'manifest.json'), 'utf8')) as Manifest;
  session = await ort.InferenceSession.create(join(tmp, 'model.onnx'), { intraOpNumThreads: 1, interOpNumThreads: 1 });

  faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
  const wasm = require('@tensorflow/tfjs-backend-wasm') as { setWasmPaths(prefix: string): void };
  wasm.setWasmPaths(`${join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist')}/`);
  await faceapi.tf.setBackend('wasm');
  await faceapi.tf.ready();
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(join(faceApiDir, 'model'));
});

afterAll(async () => {
  await session?.release();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('SSD MobileNet v1 face detector conversion', () => {
  it('is reproducible: re-converting gives the committed model and manifest', () => {
    expect(converted.modelSha256).toBe(manifest.files['model.onnx']?.sha256);
    expect(converted.manifestText).toBe(readFileSync(join(bundleDir, 'manifest.json'), 'utf8'));
  });

  it('has a manifest that satisfies the schema', () => {
    const schema = JSON.parse(readFileSync(join(root, 'src/models/manifest.schema.json'), 'utf8')) as object;
    const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
    expect(validate(manifest), JSON.stringify(validate.errors)).toBe(true);
  });

  it.each(SAMPLES)('matches face-api on %s (all 5118 anchors, boxes and scores within 1e-4)', async (path) => {
    const { tf } = faceapi;
    const frame = readImage(path); // BGR24
    const rgb = new Int32Array(frame.width * frame.height * 3);
    for (let i = 0; i < rgb.length; i += 3) {
      rgb[i] = frame.data[i + 2]!;
      rgb[i + 1] = frame.data[i + 1]!;
      rgb[i + 2] = frame.data[i]!;
    }
    const image = tf.tensor3d(rgb, [frame.height, frame.width, 3], 'int32');
    const netInput = await faceapi.toNetInput(image);
    const batch = netInput.toBatchTensor(512, false);
    const pixels = batch.dataSync() as Float32Array;

    // face-api's pre-processing pads at the bottom/right (image anchored top-left): the manifest's
    // "letterbox" relies on it. The samples are landscape, so rows below the image are all zero.
    const imageRows = Math.round((frame.height * 512) / frame.width);
    expect(frame.width).toBeGreaterThan(frame.height);
    expect(pixels.subarray((imageRows + 1) * 512 * 3).every((v) => v === 0)).toBe(true);
    expect(pixels.subarray(0, 512 * 3).some((v) => v !== 0)).toBe(true);

    const ref = faceapi.nets.ssdMobilenetv1.forwardInput(netInput);
    const refBoxes = ref.boxes[0]!.dataSync() as Float32Array;
    const refScores = ref.scores[0]!.dataSync() as Float32Array;

    const { scale, mean, std } = manifest.input.normalization;
    const x = new Float32Array(pixels.length);
    for (let i = 0; i < x.length; i++) x[i] = (pixels[i]! * scale - mean[i % 3]!) / std[i % 3]!;
    const out = await session.run({ input: new ort.Tensor('float32', x, [1, 512, 512, 3]) });
    const boxes = out.boxes!.data as Float32Array;
    const scores = out.scores!.data as Float32Array;
    tf.dispose([image, batch, ...ref.boxes, ...ref.scores]);

    expect(out.boxes!.dims).toEqual([1, 5118, 4]);
    expect(out.scores!.dims).toEqual([1, 5118]);
    expect(refBoxes.length).toBe(boxes.length);
    expect(refScores.length).toBe(scores.length);
    let scoreDiff = 0;
    let boxDiff = 0;
    for (let i = 0; i < scores.length; i++) scoreDiff = Math.max(scoreDiff, Math.abs(scores[i]! - refScores[i]!));
    for (let i = 0; i < boxes.length; i++) boxDiff = Math.max(boxDiff, Math.abs(boxes[i]! - refBoxes[i]!));
    const faces = refScores.filter((s) => s > 0.5).length;
    console.log(`${path.split('/').pop()}: max|Δscore| ${scoreDiff.toExponential(2)}, max|Δbox| ${boxDiff.toExponential(2)}, ${faces} anchors > 0.5`);
    expect(faces).toBeGreaterThan(0); // a real comparison, not two all-background outputs
    expect(scoreDiff).toBeLessThanOrEqual(TOL);
    expect(boxDiff).toBeLessThanOrEqual(TOL);
  });
});
