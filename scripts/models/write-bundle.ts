// Writes a model bundle folder (model file(s) + manifest.json) deterministically: the manifest's
// files section is computed from the bytes written, so it can never disagree with them.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MANIFEST_FILE } from '../../src/models/manifest.js';

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function sha256File(path: string): string {
  return sha256(readFileSync(path));
}

/** manifest: everything but `files` (filled in here). files: name -> bytes. */
export function writeBundle(dir: string, manifest: Record<string, unknown>, files: Record<string, Uint8Array>): void {
  mkdirSync(dir, { recursive: true });
  const entries: Record<string, { sha256: string; size: number }> = {};
  for (const name of Object.keys(files).sort()) {
    const bytes = files[name]!;
    writeFileSync(join(dir, name), bytes);
    entries[name] = { sha256: sha256(bytes), size: bytes.byteLength };
  }
  const full = { ...manifest, files: entries };
  writeFileSync(join(dir, MANIFEST_FILE), `${JSON.stringify(full, null, 2)}\n`);
}
