// Turns a model/update request into a bundle folder on disk: the manifest and signature as sent, and
// every file listed in the manifest, either inline (base64, small models) or downloaded from its URL.
// Nothing is trusted yet: the caller checks the signature before and every hash after.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { CommandError } from '../mqtt/commands.js';
import { download } from './download.js';
import { MANIFEST_FILE, type Manifest } from '../models/manifest.js';
import { parseManifestText } from '../models/signed-bundle.js';
import { SIGNATURE_FILE } from '../models/signing.js';

export type FileSource = { url: string; token?: string } | { data: string };

export interface UpdateRequest {
  manifest: Manifest;
  raw: Record<string, unknown>;
  /** manifest.sig's text, or null for an unsigned request. */
  signature: string | null;
  sources: Record<string, FileSource>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const bad = (message: string): CommandError => new CommandError('bad_request', message);

/** Parses the command's args; throws CommandError('bad_request') naming the problem. */
export function parseUpdateArgs(args: Record<string, unknown>): UpdateRequest {
  if (!isObject(args.manifest)) throw bad(`args.manifest: the bundle's ${MANIFEST_FILE} object is required`);
  let parsed;
  try {
    parsed = parseManifestText(JSON.stringify(args.manifest), 'args.manifest');
  } catch (err) {
    throw bad((err as Error).message);
  }
  const sig = args.signature;
  if (sig !== undefined && sig !== null && !isObject(sig))
    throw bad('args.signature: must be the manifest.sig object, or null');
  const files = isObject(args.files) ? args.files : {};
  const baseUrl = typeof args.baseUrl === 'string' ? args.baseUrl.replace(/\/+$/, '') : undefined;
  const token = typeof args.token === 'string' ? args.token : undefined;
  const sources: Record<string, FileSource> = {};
  for (const name of Object.keys(parsed.manifest.files)) {
    const f = files[name];
    if (isObject(f) && typeof f.data === 'string') sources[name] = { data: f.data };
    else if (isObject(f) && typeof f.url === 'string')
      sources[name] = { url: f.url, ...(typeof f.token === 'string' ? { token: f.token } : token ? { token } : {}) };
    else if (baseUrl) sources[name] = { url: `${baseUrl}/${encodeURIComponent(name)}`, ...(token ? { token } : {}) };
    else
      throw bad(
        `args.files.${name}: give {"url": …} or {"data": <base64>} for every file of the manifest (or args.baseUrl)`,
      );
  }
  return { manifest: parsed.manifest, raw: parsed.raw, signature: sig ? JSON.stringify(sig) : null, sources };
}

export interface FetchOptions {
  dir: string;
  maxFileBytes: number;
  deadline: number;
  signal: AbortSignal;
  ca?: string[];
  onProgress: (fraction: number) => void;
}

/** Writes manifest, signature and every file into dir. */
export async function fetchBundle(req: UpdateRequest, o: FetchOptions): Promise<void> {
  writeFileSync(join(o.dir, MANIFEST_FILE), `${JSON.stringify(req.raw, null, 2)}\n`);
  if (req.signature !== null) writeFileSync(join(o.dir, SIGNATURE_FILE), req.signature);
  const entries = Object.entries(req.manifest.files);
  const total = entries.reduce((a, [, e]) => a + e.size, 0);
  let done = 0;
  for (const [name, entry] of entries) {
    const src = req.sources[name]!;
    const dest = join(o.dir, name);
    if ('data' in src) {
      const bytes = Buffer.from(src.data, 'base64');
      if (bytes.length !== entry.size)
        throw new Error(`files.${name}: inline data has ${bytes.length} bytes, the manifest says ${entry.size}`);
      writeFileSync(dest, bytes);
    } else {
      await download({
        url: src.url,
        ...(src.token ? { token: src.token } : {}),
        size: entry.size,
        dest,
        deadline: o.deadline,
        signal: o.signal,
        ...(o.ca ? { ca: o.ca } : {}),
        onBytes: (have) => o.onProgress((done + have) / total),
      });
    }
    done += entry.size;
    o.onProgress(done / total);
  }
}

/** models.update.ca added to the system CAs (Node's `ca` option replaces them otherwise). */
export const readCa = (path: string | null): string[] | undefined =>
  path ? [...rootCertificates, readFileSync(path, 'utf8')] : undefined;
