// Loaders for labelled expression test sets. The only file IO in the evaluation library lives here;
// every error names the file (and line) so a broken dataset is fixed, not debugged.
import { closeSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { EMOTION_LABELS } from './metrics.js';

/**
 * Accepted class-folder names (compared case-insensitively) -> canonical label index.
 * 'calm' is deliberately absent: it is a low-arousal state in some datasets, not our 'neutral'.
 */
export const LABEL_SYNONYMS: Readonly<Record<string, number>> = {
  angry: 0,
  anger: 0,
  disgust: 1,
  disgusted: 1,
  fear: 2,
  fearful: 2,
  scared: 2,
  happy: 3,
  happiness: 3,
  joy: 3,
  sad: 4,
  sadness: 4,
  surprise: 5,
  surprised: 5,
  neutral: 6,
};

export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.bmp', '.webp'];

export interface LabelledImage {
  path: string;
  /** Canonical label index (EMOTION_LABELS order). */
  label: number;
}

export interface ClassFolderOptions {
  /** Sub-folder names to skip (case-insensitive), e.g. ['contempt'] for AffectNet/CK+. */
  ignoreFolders?: readonly string[];
}

/** Canonical label index for a folder name, or undefined if it is not an accepted name. */
export function labelForFolder(name: string): number | undefined {
  const key = name.trim().toLowerCase();
  return Object.hasOwn(LABEL_SYNONYMS, key) ? LABEL_SYNONYMS[key] : undefined;
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Image files under `dir`, recursively, skipping dot-files and dot-folders. */
function listImages(dir: string, out: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) listImages(p, out);
    else if (e.isFile() && IMAGE_EXTENSIONS.includes(extname(e.name).toLowerCase())) out.push(p);
  }
}

/**
 * One sub-folder per class (`dir/happy/*.jpg`, images may be nested deeper). Two folders that map
 * to the same label (e.g. 'happy' and 'Joy') are merged. Result sorted by path (code-unit order,
 * locale-independent) so runs are reproducible.
 */
export function loadClassFolders(dir: string, opts: ClassFolderOptions = {}): LabelledImage[] {
  if (!isDir(dir)) throw new Error(`dataset folder not found (or not a folder): ${dir}`);
  const skip = new Set((opts.ignoreFolders ?? []).map((s) => s.toLowerCase()));
  const out: LabelledImage[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.') || !e.isDirectory() || skip.has(e.name.toLowerCase())) continue;
    const label = labelForFolder(e.name);
    if (label === undefined) {
      throw new Error(
        `unknown class folder '${e.name}' in ${dir}; accepted names (case-insensitive): ` +
          `${Object.keys(LABEL_SYNONYMS).join(', ')}`,
      );
    }
    const files: string[] = [];
    listImages(join(dir, e.name), files);
    for (const path of files) out.push({ path, label });
  }
  if (out.length === 0) throw new Error(`no images (${IMAGE_EXTENSIONS.join(' ')}) found in class folders of ${dir}`);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Lines of a file, read synchronously in chunks so a 300 MB CSV never becomes one string. */
export function* readLinesSync(path: string, chunkSize = 1 << 20): Generator<string> {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(chunkSize);
    const decoder = new StringDecoder('utf8'); // keeps multi-byte characters split across chunks intact
    let rest = '';
    for (;;) {
      const n = readSync(fd, buf, 0, chunkSize, null);
      if (n === 0) break;
      rest += decoder.write(buf.subarray(0, n));
      const parts = rest.split('\n');
      rest = parts.pop() ?? '';
      for (const l of parts) yield l.endsWith('\r') ? l.slice(0, -1) : l;
    }
    rest += decoder.end();
    if (rest !== '') yield rest.endsWith('\r') ? rest.slice(0, -1) : rest;
  } finally {
    closeSync(fd);
  }
}

export type Fer2013Usage = 'Training' | 'PublicTest' | 'PrivateTest';
const USAGES: readonly string[] = ['Training', 'PublicTest', 'PrivateTest'];
export const FER_SIZE = 48;
const FER_PIXELS = FER_SIZE * FER_SIZE;

export interface Fer2013Sample {
  /** 48x48 grayscale, row-major. */
  pixels: Uint8Array;
  width: 48;
  height: 48;
  /** FER emotion index, identical to the canonical EMOTION_LABELS order. */
  label: number;
  usage: Fer2013Usage;
  /** 1-based line in the CSV, for tracing a sample back. */
  line: number;
}

/** Strict parse of 2304 space-separated integers 0..255; returns an error text or null. */
function parsePixels(s: string, into: Uint8Array): string | null {
  let count = 0;
  let val = -1;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 32;
    if (c >= 48 && c <= 57) {
      val = (val < 0 ? 0 : val * 10) + (c - 48);
      if (val > 255) return `pixel ${count + 1} is > 255`;
    } else if (c === 32) {
      if (val < 0) continue; // tolerate repeated / leading / trailing spaces
      if (count >= FER_PIXELS) return `more than ${FER_PIXELS} pixels`;
      into[count++] = val;
      val = -1;
    } else {
      return `unexpected character '${s[i]}' in pixels`;
    }
  }
  return count === FER_PIXELS ? null : `expected ${FER_PIXELS} pixels, found ${count}`;
}

const unquote = (s: string): string => {
  const t = s.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
};

/**
 * Kaggle fer2013.csv (`emotion,pixels,Usage`). Every row is validated, including rows of other
 * splits, so a corrupt file is noticed whichever split is evaluated. `usage` filters the split.
 */
export function loadFer2013Csv(path: string, opts: { usage?: Fer2013Usage } = {}): Fer2013Sample[] {
  if (!statSync(path, { throwIfNoEntry: false })?.isFile()) throw new Error(`FER-2013 CSV not found: ${path}`);
  const out: Fer2013Sample[] = [];
  const scratch = new Uint8Array(FER_PIXELS);
  let cols: { emotion: number; pixels: number; usage: number; n: number } | undefined;
  let lineNo = 0;
  for (const raw of readLinesSync(path)) {
    lineNo++;
    const where = `${path}:${lineNo}`;
    if (raw.trim() === '') continue;
    const fields = raw.split(',').map(unquote);
    if (cols === undefined) {
      const names = fields.map((f) => f.replace(/^\uFEFF/, '').toLowerCase());
      const [emotion, pixels, usage] = ['emotion', 'pixels', 'usage'].map((h) => names.indexOf(h));
      if (
        emotion === undefined ||
        pixels === undefined ||
        usage === undefined ||
        emotion < 0 ||
        pixels < 0 ||
        usage < 0
      ) {
        throw new Error(`${where}: expected header 'emotion,pixels,Usage', got '${raw.slice(0, 80)}'`);
      }
      cols = { emotion, pixels, usage, n: fields.length };
      continue;
    }
    if (fields.length !== cols.n) throw new Error(`${where}: expected ${cols.n} fields, found ${fields.length}`);
    const emo = fields[cols.emotion] as string;
    const label = /^\d+$/.test(emo) ? Number(emo) : NaN;
    if (!(label >= 0 && label < EMOTION_LABELS.length))
      throw new Error(`${where}: emotion '${emo}' is not an integer in 0..6`);
    const usage = fields[cols.usage] as string;
    if (!USAGES.includes(usage)) throw new Error(`${where}: Usage '${usage}' is not one of ${USAGES.join(', ')}`);
    const err = parsePixels(fields[cols.pixels] as string, scratch);
    if (err !== null) throw new Error(`${where}: ${err}`);
    if (opts.usage !== undefined && usage !== opts.usage) continue;
    out.push({ pixels: scratch.slice(), width: 48, height: 48, label, usage: usage as Fer2013Usage, line: lineNo });
  }
  if (cols === undefined) throw new Error(`${path}: empty file (no header)`);
  return out;
}
