// Builds our default face detector, models/face-ssd-fp32, as ONNX from the SSD MobileNet v1 face
// weights that @vladmandic/face-api ships. That package holds weights only (a tfjs weights manifest
// plus one .bin of uint8-quantised tensors); the network is described by face-api's code
// (src/ssdMobilenetv1/*.ts), so the graph below is written out by hand from that description:
//
//   input [1,512,512,3] NHWC, already normalised to x/127.5 - 1 (the runtime does that)
//   -> Transpose to NCHW (once)
//   MobileNetV1 (TF "SAME" padding everywhere, ReLU6 after every conv):
//     conv_0    3x3 conv 3->32, stride 2, + bias                     512 -> 256
//     conv_1..13 depthwise 3x3 (+ batch norm, eps 1e-3) then 1x1 conv (+ bias);
//               depthwise strides 2 at blocks 2, 4, 6, 12             -> 128, 64, 32, 16
//     conv_11 output (512 ch, 32x32) and conv_13 output (1024 ch, 16x16) feed the head
//   extra feature layers (prediction_layer conv_0..7: 1x1 then 3x3 stride 2, + bias, ReLU6)
//     16x16x1024 -> 8x8x512 -> 4x4x256 -> 2x2x256 -> 1x1x128
//   six box predictors (1x1 conv + bias, no activation) on
//     32x32 (3 anchors), 16x16, 8x8, 4x4, 2x2, 1x1 (6 anchors each) = 5118 anchors
//   class logits: 3 per anchor (background, face, one unused); score = sigmoid(logit[1])
//   box decoding against the anchors stored in the weights (Output/extra_dim, corner form):
//     yc = ty/10*ha + cya, xc = tx/10*wa + cxa, h/2 = exp(th/5)*ha/2, w/2 = exp(tw/5)*wa/2
//   outputs boxes [1,5118,4] (ymin,xmin,ymax,xmax, normalised to the 512x512 input) and
//   scores [1,5118]. No NMS in the graph: the runtime applies it (face-api: IoU 0.5, min score 0.5).
//
// Pre-processing face-api applies before the network (NetInput.toBatchTensor(512, false)): pad
// the shorter side with zeros at the bottom or right (not centred) to a square, then bilinear
// resize to 512x512 (tf.image.resizeBilinear, alignCorners=false, halfPixelCenters=false); RGB
// channel order; x/127.5 - 1. The manifest records that as resize "letterbox".
//
// Output is deterministic: same inputs -> byte-identical model.onnx.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { encodeModel, GraphBuilder, int, ints } from './onnx/builder.js';
import { sha256, writeBundle } from './write-bundle.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FACE_API_DIR = join(repoRoot, 'node_modules/@vladmandic/face-api');
const FACE_API_VERSION = '1.7.15';
const WEIGHTS_MANIFEST = 'ssd_mobilenetv1_model-weights_manifest.json';
const WEIGHTS_BIN = 'ssd_mobilenetv1_model.bin';

export const INPUT_SIZE = 512;
export const NUM_ANCHORS = 5118;
/** tf.batchNorm epsilon used by face-api's depthwise layers (float32 of 1e-3). */
const BN_EPSILON = 0.0010000000474974513;

// ---------------------------------------------------------------------------------------------
// tfjs weights-manifest reader (own implementation of the documented format: tensors stored back
// to back in manifest order; a `quantization` entry means the stored dtype is uint8/uint16 and the
// value is q * scale + min; float16 is not used by this model and rejected).

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  quantization?: { scale: number; min: number; dtype: 'uint8' | 'uint16' | 'float16' };
}
interface WeightGroup { paths: string[]; weights: WeightSpec[] }

export interface Tensor { data: Float32Array; shape: number[] }

export function readTfjsWeights(manifestPath: string): Map<string, Tensor> {
  const groups = JSON.parse(readFileSync(manifestPath, 'utf8')) as WeightGroup[];
  const out = new Map<string, Tensor>();
  for (const group of groups) {
    const bufs = group.paths.map((p) => readFileSync(join(dirname(manifestPath), p)));
    const bytes = Buffer.concat(bufs);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let offset = 0;
    for (const w of group.weights) {
      const count = w.shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(count);
      const q = w.quantization;
      if (q) {
        if (q.dtype === 'uint8') {
          for (let i = 0; i < count; i++) data[i] = view.getUint8(offset + i) * q.scale + q.min;
          offset += count;
        } else if (q.dtype === 'uint16') {
          for (let i = 0; i < count; i++) data[i] = view.getUint16(offset + 2 * i, true) * q.scale + q.min;
          offset += 2 * count;
        } else {
          throw new Error(`${w.name}: ${q.dtype} quantisation not supported`);
        }
        if (w.dtype === 'int32') for (let i = 0; i < count; i++) data[i] = Math.round(data[i]!);
      } else if (w.dtype === 'float32') {
        for (let i = 0; i < count; i++) data[i] = view.getFloat32(offset + 4 * i, true);
        offset += 4 * count;
      } else {
        for (let i = 0; i < count; i++) data[i] = view.getInt32(offset + 4 * i, true);
        offset += 4 * count;
      }
      out.set(w.name, { data, shape: w.shape });
    }
    if (offset !== bytes.byteLength) throw new Error(`${manifestPath}: read ${offset} of ${bytes.byteLength} bytes`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Layout helpers (TF HWIO / HWC1 -> ONNX OIHW).

/** TF conv filter [kh,kw,cin,cout] -> ONNX [cout,cin,kh,kw], optionally keeping only some outputs. */
function hwioToOihw(t: Tensor, keepOut?: number[]): { data: Float32Array; dims: number[] } {
  const [kh, kw, cin, cout] = t.shape as [number, number, number, number];
  const outs = keepOut ?? Array.from({ length: cout }, (_, i) => i);
  const data = new Float32Array(outs.length * cin * kh * kw);
  let k = 0;
  for (const o of outs) {
    for (let c = 0; c < cin; c++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) data[k++] = t.data[((y * kw + x) * cin + c) * cout + o]!;
      }
    }
  }
  return { data, dims: [outs.length, cin, kh, kw] };
}

/** TF depthwise filter [kh,kw,c,1] -> ONNX grouped-conv weight [c,1,kh,kw]. */
function depthwiseToOihw(t: Tensor): { data: Float32Array; dims: number[] } {
  const [kh, kw, c, mult] = t.shape as [number, number, number, number];
  if (mult !== 1) throw new Error('depthwise multiplier must be 1');
  const data = new Float32Array(c * kh * kw);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < kh; y++) {
      for (let x = 0; x < kw; x++) data[(ch * kh + y) * kw + x] = t.data[(y * kw + x) * c + ch]!;
    }
  }
  return { data, dims: [c, 1, kh, kw] };
}

/** TF 'SAME' padding for one spatial axis: total = max((ceil(in/s)-1)*s + k - in, 0); extra at the end. */
export function samePads(inSize: number, k: number, s: number): [number, number] {
  const outSize = Math.ceil(inSize / s);
  const total = Math.max((outSize - 1) * s + k - inSize, 0);
  const begin = Math.floor(total / 2);
  return [begin, total - begin];
}

// ---------------------------------------------------------------------------------------------

export interface BuildOptions {
  /** Fold the depthwise batch norm into the conv weights+bias (default true; checked to 1e-4). */
  foldBatchNorm?: boolean;
}

interface Feature { name: string; channels: number; size: number }

export function buildSsdMobilenetV1Graph(w: Map<string, Tensor>, options: BuildOptions = {}): GraphBuilder {
  const fold = options.foldBatchNorm ?? true;
  const get = (name: string): Tensor => {
    const t = w.get(name);
    if (!t) throw new Error(`weight ${name} missing`);
    return t;
  };
  const g = new GraphBuilder('face_ssd_mobilenetv1');
  const input = g.input('input', [1, INPUT_SIZE, INPUT_SIZE, 3]);
  const clipMin = g.initializer('relu6_min', new Float32Array([0]), []);
  const clipMax = g.initializer('relu6_max', new Float32Array([6]), []);

  /** Conv (NCHW) with TF SAME pads, optional bias, optional ReLU6. */
  const conv = (
    x: Feature, prefix: string, weight: { data: Float32Array; dims: number[] }, bias: Float32Array | null,
    stride: number, relu6: boolean, group = 1,
  ): Feature => {
    const [cout, , kh, kw] = weight.dims as [number, number, number, number];
    const [pt, pb] = samePads(x.size, kh, stride);
    const [pl, pr] = samePads(x.size, kw, stride);
    const inputs = [x.name, g.initializer(`${prefix}/W`, weight.data, weight.dims)];
    if (bias) inputs.push(g.initializer(`${prefix}/B`, bias, [cout]));
    let out = g.node('Conv', inputs, {
      group: int(group),
      kernel_shape: ints([kh, kw]),
      pads: ints([pt, pl, pb, pr]),
      strides: ints([stride, stride]),
    }, [`${prefix}/conv`]);
    if (relu6) out = g.node('Clip', [out, clipMin, clipMax], {}, [`${prefix}/relu6`]);
    return { name: out, channels: cout, size: Math.ceil(x.size / stride) };
  };

  /** face-api pointwiseConvLayer: conv (any kernel) + batch_norm_offset bias + ReLU6. */
  const pointwise = (x: Feature, tfPrefix: string, stride: number): Feature =>
    conv(x, tfPrefix, hwioToOihw(get(`${tfPrefix}/weights`)), get(`${tfPrefix}/convolution_bn_offset`).data, stride, true);

  /** face-api depthwiseConvLayer: depthwise 3x3 + batch norm (inference form) + ReLU6. */
  const depthwise = (x: Feature, idx: number, stride: number): Feature => {
    const p = `MobilenetV1/Conv2d_${idx}_depthwise`;
    const filt = depthwiseToOihw(get(`${p}/depthwise_weights`));
    const gamma = get(`${p}/BatchNorm/gamma`).data;
    const beta = get(`${p}/BatchNorm/beta`).data;
    const mean = get(`${p}/BatchNorm/moving_mean`).data;
    const variance = get(`${p}/BatchNorm/moving_variance`).data;
    const c = x.channels;
    const k = new Float64Array(c);
    for (let i = 0; i < c; i++) k[i] = gamma[i]! / Math.sqrt(variance[i]! + BN_EPSILON);
    const shift = new Float32Array(c);
    for (let i = 0; i < c; i++) shift[i] = beta[i]! - mean[i]! * k[i]!;
    if (fold) {
      const wf = new Float32Array(filt.data.length);
      const per = filt.data.length / c;
      for (let i = 0; i < wf.length; i++) wf[i] = filt.data[i]! * k[Math.floor(i / per)]!;
      return conv(x, p, { data: wf, dims: filt.dims }, shift, stride, true, c);
    }
    const y = conv(x, p, filt, null, stride, false, c);
    const mul = g.node('Mul', [y.name, g.initializer(`${p}/bn_scale`, Float32Array.from(k), [1, c, 1, 1])], {}, [`${p}/bn_mul`]);
    const add = g.node('Add', [mul, g.initializer(`${p}/bn_shift`, shift, [1, c, 1, 1])], {}, [`${p}/bn_add`]);
    const r = g.node('Clip', [add, clipMin, clipMax], {}, [`${p}/relu6`]);
    return { ...y, name: r };
  };

  // --- MobileNetV1 backbone
  const nchw = g.node('Transpose', [input], { perm: ints([0, 3, 1, 2]) }, ['input_nchw']);
  let x: Feature = { name: nchw, channels: 3, size: INPUT_SIZE };
  x = pointwise(x, 'MobilenetV1/Conv2d_0_pointwise', 2);
  let conv11: Feature | undefined;
  for (let i = 1; i <= 13; i++) {
    x = depthwise(x, i, [2, 4, 6, 12].includes(i) ? 2 : 1);
    x = pointwise(x, `MobilenetV1/Conv2d_${i}_pointwise`, 1);
    if (i === 11) conv11 = x;
  }
  if (!conv11) throw new Error('unreachable');
  const conv13 = x;

  // --- extra feature layers
  const extra: Feature[] = [];
  let y = conv13;
  for (let i = 0; i < 8; i++) {
    y = pointwise(y, `Prediction/Conv2d_${i}_pointwise`, i % 2 === 1 ? 2 : 1);
    if (i % 2 === 1) extra.push(y);
  }

  // --- box predictors
  const maps = [conv11, conv13, ...extra];
  const boxParts: string[] = [];
  const logitParts: string[] = [];
  let anchorTotal = 0;
  maps.forEach((f, idx) => {
    const p = `Prediction/BoxPredictor_${idx}`;
    const boxW = get(`${p}/BoxEncodingPredictor/weights`);
    const anchors = (boxW.shape[3] ?? 0) / 4;
    const cells = f.size * f.size;
    anchorTotal += cells * anchors;
    // Box encodings: [1,4A,H,W] -> NHWC -> [1, H*W*A, 4] (face-api reshapes its NHWC output this way).
    const enc = conv(f, `${p}/BoxEncodingPredictor`, hwioToOihw(boxW), get(`${p}/BoxEncodingPredictor/biases`).data, 1, false);
    const encT = g.node('Transpose', [enc.name], { perm: ints([0, 2, 3, 1]) }, [`${p}/box_nhwc`]);
    boxParts.push(g.node('Reshape', [encT, g.initializer(`${p}/box_shape`, BigInt64Array.from([1n, BigInt(cells * anchors), 4n]), [3])], {}, [`${p}/box`]));
    // Class logits: 3 per anchor; only index 1 (face) is ever read, so only those output channels
    // are computed (each conv output channel is independent: identical values, less work).
    const clsW = get(`${p}/ClassPredictor/weights`);
    const clsB = get(`${p}/ClassPredictor/biases`).data;
    const faceCh = Array.from({ length: anchors }, (_, a) => a * 3 + 1);
    const cls = conv(f, `${p}/ClassPredictor`, hwioToOihw(clsW, faceCh), Float32Array.from(faceCh, (c) => clsB[c]!), 1, false);
    const clsT = g.node('Transpose', [cls.name], { perm: ints([0, 2, 3, 1]) }, [`${p}/face_logit_nhwc`]);
    logitParts.push(g.node('Reshape', [clsT, g.initializer(`${p}/face_logit_shape`, BigInt64Array.from([1n, BigInt(cells * anchors)]), [2])], {}, [`${p}/face_logit`]));
  });
  if (anchorTotal !== NUM_ANCHORS) throw new Error(`anchor count ${anchorTotal} != ${NUM_ANCHORS}`);

  const encodings = g.node('Concat', boxParts, { axis: int(1) }, ['box_encodings']);
  const logits = g.node('Concat', logitParts, { axis: int(1) }, ['face_logits']);
  g.node('Sigmoid', [logits], {}, ['scores']);

  // --- anchor decoding. Anchors (ymin,xmin,ymax,xmax) -> sizes (h,w) and centres (cy,cx), computed
  // in float32 step by step exactly as face-api's getCenterCoordinatesAndSizesLayer does.
  const anchors = get('Output/extra_dim');
  if (anchors.shape.join(',') !== `1,${NUM_ANCHORS},4`) throw new Error(`unexpected anchors shape ${anchors.shape.join(',')}`);
  const f32 = Math.fround;
  const sizes = new Float32Array(NUM_ANCHORS * 2);
  const centres = new Float32Array(NUM_ANCHORS * 2);
  for (let i = 0; i < NUM_ANCHORS; i++) {
    const [a0, a1, a2, a3] = [0, 1, 2, 3].map((j) => anchors.data[i * 4 + j]!) as [number, number, number, number];
    const h = f32(a2 - a0);
    const wd = f32(a3 - a1);
    sizes[2 * i] = h;
    sizes[2 * i + 1] = wd;
    centres[2 * i] = f32(a0 + f32(h / 2));
    centres[2 * i + 1] = f32(a1 + f32(wd / 2));
  }
  const anchorSize = g.initializer('anchor_sizes_hw', sizes, [1, NUM_ANCHORS, 2]);
  const anchorCentre = g.initializer('anchor_centres_yx', centres, [1, NUM_ANCHORS, 2]);
  const i64 = (name: string, v: number[]): string => g.initializer(name, BigInt64Array.from(v.map(BigInt)), [v.length]);
  const axis2 = i64('slice_axis', [2]);
  const tyx = g.node('Slice', [encodings, i64('slice_yx_start', [0]), i64('slice_yx_end', [2]), axis2], {}, ['enc_yx']);
  const thw = g.node('Slice', [encodings, i64('slice_hw_start', [2]), i64('slice_hw_end', [4]), axis2], {}, ['enc_hw']);
  const c10 = g.initializer('const_10', new Float32Array([10]), []);
  const c5 = g.initializer('const_5', new Float32Array([5]), []);
  const c2 = g.initializer('const_2', new Float32Array([2]), []);
  // centre = ty/10 * size + anchor_centre ; half = exp(th/5) * size / 2  (same op order as face-api)
  const centre = g.node('Add', [g.node('Mul', [g.node('Div', [tyx, c10], {}, ['enc_yx_div10']), anchorSize], {}, ['centre_offset']), anchorCentre], {}, ['centre_yx']);
  const half = g.node('Div', [g.node('Mul', [g.node('Exp', [g.node('Div', [thw, c5], {}, ['enc_hw_div5'])], {}, ['enc_hw_exp']), anchorSize], {}, ['size_hw']), c2], {}, ['half_hw']);
  const mins = g.node('Sub', [centre, half], {}, ['box_min_yx']);
  const maxs = g.node('Add', [centre, half], {}, ['box_max_yx']);
  g.node('Concat', [mins, maxs], { axis: int(2) }, ['boxes']);

  g.output('boxes', [1, NUM_ANCHORS, 4]);
  g.output('scores', [1, NUM_ANCHORS]);
  return g;
}

// ---------------------------------------------------------------------------------------------

export interface ConversionResult { dir: string; modelSha256: string; modelBytes: number }

export function convertSsdMobilenetV1(outDir: string = join(repoRoot, 'models/face-ssd-fp32'), options: BuildOptions = {}): ConversionResult {
  const pkg = JSON.parse(readFileSync(join(FACE_API_DIR, 'package.json'), 'utf8')) as { version: string };
  if (pkg.version !== FACE_API_VERSION) {
    throw new Error(`expected @vladmandic/face-api ${FACE_API_VERSION}, found ${pkg.version}: re-check the architecture and provenance first`);
  }
  const manifestPath = join(FACE_API_DIR, 'model', WEIGHTS_MANIFEST);
  const binPath = join(FACE_API_DIR, 'model', WEIGHTS_BIN);
  const weights = readTfjsWeights(manifestPath);
  const fold = options.foldBatchNorm ?? true;
  const graph = buildSsdMobilenetV1Graph(weights, { foldBatchNorm: fold });
  const model = graph.build({
    producerName: 'emotion-agent/convert-ssd-mobilenetv1',
    producerVersion: '1.0.0',
    docString: `Face detector: SSD MobileNet v1 (face-api.js weights, from @vladmandic/face-api@${FACE_API_VERSION}), built by scripts/models/convert-ssd-mobilenetv1.ts. `
      + 'Input NHWC RGB 512x512, x/127.5-1. Outputs decoded boxes (ymin,xmin,ymax,xmax normalised) and face scores for 5118 anchors; no NMS.',
    opset: 13,
    metadata: { source: `npm:@vladmandic/face-api@${FACE_API_VERSION}/model/ssd_mobilenetv1_model`, batchNormFolded: String(fold) },
  });
  const bytes = encodeModel(model);

  const manifest = {
    schemaVersion: 1,
    name: 'face-ssd',
    version: '1.0.0',
    task: 'face-detector',
    precision: 'fp32',
    description: 'SSD MobileNet v1 face detector (face-api.js weights). 5118 anchors on six feature maps '
      + '(32x32x3, 16x16x6, 8x8x6, 4x4x6, 2x2x6, 1x1x6); anchor decoding and sigmoid are in the graph, NMS is not. '
      + 'Pre-processing as face-api (toBatchTensor(512, false)): pad the shorter side with black at the BOTTOM or RIGHT '
      + '(image anchored top-left, not centred) to a square, bilinear resize to 512x512 (half-pixel centres off), RGB; '
      + 'boxes are normalised to that padded square.',
    model: 'model.onnx',
    input: {
      name: 'input',
      shape: [1, INPUT_SIZE, INPUT_SIZE, 3],
      layout: 'NHWC',
      colour: 'rgb',
      width: INPUT_SIZE,
      height: INPUT_SIZE,
      normalization: { scale: 1 / 127.5, mean: [1, 1, 1], std: [1, 1, 1] },
      resize: 'letterbox',
      resizeKernel: 'tf-legacy',
    },
    outputs: [
      { name: 'boxes', shape: [1, NUM_ANCHORS, 4] },
      { name: 'scores', shape: [1, NUM_ANCHORS] },
    ],
    decoding: {
      type: 'boxes-scores',
      boxes: 'boxes',
      scores: 'scores',
      boxFormat: 'yxyx-normalized',
      scoreThreshold: 0.5,
      iouThreshold: 0.5,
    },
    provenance: {
      source: `npm:@vladmandic/face-api@${FACE_API_VERSION}/model/ssd_mobilenetv1_model`,
      sourceSha256: {
        [WEIGHTS_MANIFEST]: sha256(readFileSync(manifestPath)),
        [WEIGHTS_BIN]: sha256(readFileSync(binPath)),
      },
      upstream: 'face-api.js by justadudewhohacks (github.com/justadudewhohacks/face-api.js, weights in face-api.js-models), '
        + 'maintained fork @vladmandic/face-api; weights originally trained by yeephycho (github.com/yeephycho/tensorflow-face-detection) '
        + 'with the TensorFlow Object Detection API (ssd_mobilenet_v1 architecture)',
      license: 'MIT AND Apache-2.0',
      licenseNotes: '@vladmandic/face-api 1.7.15 is MIT (its LICENSE, Copyright (c) Vladimir Mandic; package.json "license": "MIT"), '
        + 'and the weights are redistributed in that package; face-api.js (justadudewhohacks) is MIT as well. The face-api TUTORIAL '
        + 'credits the SSD weights to yeephycho/tensorflow-face-detection, whose README states "Usage of the code and model by '
        + 'yeephycho is under the license of Apache 2.0" (keep attribution/notice). That README also says the dataset is WIDER FACE '
        + 'and to refer to the WIDER FACE licence/terms for the data.',
      converter: 'scripts/models/convert-ssd-mobilenetv1.ts',
      trainingData: 'WIDER FACE (per the face-api TUTORIAL "SSD Mobilenet V1" section and the yeephycho/tensorflow-face-detection README, which says the set was manually cleaned)',
    },
  };
  writeBundle(outDir, manifest, { 'model.onnx': bytes });
  return { dir: outDir, modelSha256: sha256(bytes), modelBytes: bytes.byteLength };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const out = process.argv[2] ? resolve(process.argv[2]) : undefined;
  const r = convertSsdMobilenetV1(out);
  console.log(`wrote ${r.dir}/model.onnx (${r.modelBytes} bytes, sha256 ${r.modelSha256})`);
}
