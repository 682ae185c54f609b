// Model bundle manifests: types, JSON Schema validation, and file integrity. Every error names the
// bundle and the field or file at fault, because the people reading it are pushing models remotely.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ErrorObject } from 'ajv';

const require = createRequire(import.meta.url);
const schema = require('./manifest.schema.json') as Record<string, unknown>;

/** The manifest's file name in every bundle folder. */
export const MANIFEST_FILE = 'manifest.json';

export const CANONICAL_LABELS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'] as const;
export type EmotionLabel = (typeof CANONICAL_LABELS)[number];
export type Task = 'face-detector' | 'emotion-classifier';

export interface InputSpec {
  name: string;
  shape: [number, number, number, number];
  layout: 'NHWC' | 'NCHW';
  colour: 'rgb' | 'bgr' | 'gray';
  width: number;
  height: number;
  normalization: { scale: number; mean: number[]; std: number[] };
  resize?: 'stretch' | 'letterbox' | 'fit';
  resizeKernel?: 'half-pixel' | 'tf-legacy';
  /** resize 'fit': the padded input's sides are multiples of this. */
  sizeMultiple?: number;
}

export interface ClassificationDecoding {
  type: 'classification';
  output: string;
  activation: 'softmax' | 'none';
}

export interface BoxesScoresDecoding {
  type: 'boxes-scores';
  boxes: string;
  scores: string;
  boxFormat: 'yxyx-normalized' | 'xyxy-normalized';
  landmarks?: string;
  landmarkNames?: string[];
  scoreThreshold?: number;
  iouThreshold?: number;
}

/** One stride of a YuNet-style detector: the four outputs of its head. */
export interface YunetHead {
  stride: number;
  cls: string;
  obj: string;
  bbox: string;
  kps: string;
}

export interface YunetDecoding {
  type: 'yunet';
  heads: YunetHead[];
  landmarkNames: string[];
  scoreThreshold?: number;
  iouThreshold?: number;
}

export type DetectorDecoding = BoxesScoresDecoding | YunetDecoding;

/** Every output a decoding reads, with the manifest field that names it (for error messages). */
export function decodingOutputs(d: ClassificationDecoding | DetectorDecoding): [field: string, name: string | undefined][] {
  if (d.type === 'classification') return [['decoding.output', d.output]];
  if (d.type === 'boxes-scores') return [['decoding.boxes', d.boxes], ['decoding.scores', d.scores], ['decoding.landmarks', d.landmarks]];
  return d.heads.flatMap((h, i) => (['cls', 'obj', 'bbox', 'kps'] as const).map((k): [string, string] => [`decoding.heads[${i}].${k}`, h[k]]));
}

/** An earlier training run these weights learned from (its checkpoint's sha256). */
export interface RunRef {
  run: string;
  /** Fine-tuning from a shipped fp32 bundle (its run folder gone): folder and version; sha256 is of its model.onnx. */
  bundle?: string;
  bestEpoch?: number | null;
  valAccuracy?: number | null;
  valMacroF1?: number | null;
  sha256: string;
  /** Fine-tuning only: parts of the model the source lacked; they started as the identity. */
  grown?: string[];
}

export interface Manifest {
  schemaVersion: 1;
  name: string;
  version: string;
  /** Signed permission to replace a higher version (see src/updates/version-order.ts). */
  allowDowngrade?: boolean;
  task: Task;
  precision: 'fp32' | 'fp16' | 'int8';
  description?: string;
  model: string;
  files: Record<string, { sha256: string; size: number }>;
  input: InputSpec;
  outputs: { name: string; shape: number[] }[];
  decoding: ClassificationDecoding | DetectorDecoding;
  labels?: { canonical: EmotionLabel[]; modelOrder: EmotionLabel[] };
  preprocess?: { margin?: number; square?: boolean; align?: boolean };
  provenance: {
    source: string;
    license: string;
    converter: string;
    sourceSha256?: Record<string, string>;
    upstream?: string;
    licenseNotes?: string;
    quantization?: Record<string, unknown>;
    trainingData?: string;
    /** Knowledge distillation: the teacher runs (their checkpoints' sha256). */
    distilledFrom?: RunRef[];
    /** Fine-tuning: the run whose best weights training started from. */
    fineTunedFrom?: RunRef;
  };
  metrics?: Record<string, unknown>;
  golden?: GoldenSpec;
}

/** Golden test vectors: raw little-endian float32 files of the bundle (docs/models.md). */
export interface GoldenSpec {
  tolerance: number;
  vectors: { input: string; shape: number[]; outputs: Record<string, string> }[];
}

export class ManifestError extends Error {
  constructor(readonly where: string, message: string) {
    super(`${where}: ${message}`);
    this.name = 'ManifestError';
  }
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validateSchema = ajv.compile(schema);

/** Turns an ajv error into "field: problem", naming the manifest field by its JSON path. */
function describe(e: ErrorObject): string {
  const path = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '(root)';
  switch (e.keyword) {
    case 'required':
      return `${path === '(root)' ? '' : `${path}.`}${(e.params as { missingProperty: string }).missingProperty}: is required`;
    case 'additionalProperties':
      return `${path === '(root)' ? '' : `${path}.`}${(e.params as { additionalProperty: string }).additionalProperty}: is not a known field`;
    case 'enum':
      return `${path}: must be one of ${((e.params as { allowedValues: unknown[] }).allowedValues).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `${path}: must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`;
    default:
      return `${path}: ${e.message ?? 'is invalid'}`;
  }
}

/** Validates a parsed manifest against the JSON Schema plus the rules a schema cannot express. */
export function validateManifest(value: unknown, where = MANIFEST_FILE): Manifest {
  if (!validateSchema(value)) {
    // oneOf/if-then produce consequential noise; the most specific errors come first once sorted.
    const errors = (validateSchema.errors ?? []).filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'if');
    const unique = [...new Set(errors.map(describe))];
    throw new ManifestError(where, `invalid manifest: ${unique.slice(0, 5).join('; ')}`);
  }
  const m = value as Manifest;
  if (!(m.model in m.files)) throw new ManifestError(where, `model: "${m.model}" is not listed in files`);
  const outNames = new Set(m.outputs.map((o) => o.name));
  for (const [field, name] of decodingOutputs(m.decoding)) {
    if (name !== undefined && !outNames.has(name)) throw new ManifestError(where, `${field}: "${name}" is not one of outputs`);
  }
  const { input } = m;
  const channels = input.colour === 'gray' ? 1 : 3;
  const [, a, b, c] = input.shape;
  const [h, w, ch] = input.layout === 'NHWC' ? [a, b, c] : [b, c, a];
  // 'fit' feeds a different size per frame aspect: the model's height/width must be dynamic (-1), and
  // input.width/height are the largest size fed.
  const fit = input.resize === 'fit';
  if (fit && (h !== -1 || w !== -1)) {
    throw new ManifestError(where, `input.shape: resize "fit" needs dynamic height and width (-1), got ${JSON.stringify(input.shape)}`);
  }
  if (!fit && (h !== input.height || w !== input.width)) {
    throw new ManifestError(where, `input.shape: ${JSON.stringify(input.shape)} does not match input.width/height ${input.width}x${input.height} in layout ${input.layout}`);
  }
  if (ch !== channels) throw new ManifestError(where, `input.shape: ${ch} channels but colour "${input.colour}" needs ${channels}`);
  for (const key of ['mean', 'std'] as const) {
    const n = input.normalization[key].length;
    if (n !== 1 && n !== channels) throw new ManifestError(where, `input.normalization.${key}: ${n} values for ${channels} channel(s)`);
  }
  if (m.labels && new Set(m.labels.modelOrder).size !== CANONICAL_LABELS.length) {
    throw new ManifestError(where, 'labels.modelOrder: must name each of the 7 canonical labels once');
  }
  m.golden?.vectors.forEach((v, i) => {
    for (const [field, file] of [['input', v.input], ...Object.values(v.outputs).map((f) => ['outputs', f])] as const) {
      if (!(file in m.files)) throw new ManifestError(where, `golden.vectors[${i}].${field}: "${file}" is not listed in files`);
    }
    for (const name of Object.keys(v.outputs)) {
      if (!outNames.has(name)) throw new ManifestError(where, `golden.vectors[${i}].outputs: "${name}" is not one of outputs`);
    }
  });
  return m;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Checks one file's size and hash against the manifest; returns its bytes. */
export function readVerifiedFile(dir: string, name: string, expected: { sha256: string; size: number }, where: string): Buffer {
  if (name.includes('/') || name.includes('\\') || name === '..' || name === '.') {
    throw new ManifestError(where, `files: "${name}" is not a plain file name`);
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(`${dir}/${name}`);
  } catch {
    throw new ManifestError(where, `files.${name}: file is missing from the bundle`);
  }
  if (bytes.length !== expected.size) {
    throw new ManifestError(where, `files.${name}: size ${bytes.length} does not match the manifest's ${expected.size}`);
  }
  const actual = sha256Hex(bytes);
  if (actual !== expected.sha256) {
    throw new ManifestError(where, `files.${name}: sha256 ${actual} does not match the manifest's ${expected.sha256}`);
  }
  return bytes;
}
