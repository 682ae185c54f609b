// The signed bundle format: a flat folder with manifest.json (the existing manifest, whose `files`
// lists every other file with sha256 and size), optional golden vectors, and manifest.sig. verify()
// trusts nothing in the folder until the signature checks out, then every file against the manifest.
import type { KeyObject } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MANIFEST_FILE, ManifestError, sha256Hex, validateManifest, type Manifest } from './manifest.js';
import { parseSignatureFile, SIGNATURE_FILE, signManifest, verifyManifestSignature } from './signing.js';

/** A manifest is metadata: anything bigger is not one (and is not parsed). */
export const MAX_MANIFEST_BYTES = 1024 * 1024;
export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;

export interface VerifyOptions {
  trustedKeys: readonly KeyObject[];
  /** Development only: accept a bundle without manifest.sig. */
  allowUnsigned?: boolean;
  maxFileBytes?: number;
}

export interface VerifiedBundle {
  dir: string;
  manifest: Manifest;
  /** The raw manifest object (what the signature covers). */
  raw: Record<string, unknown>;
  /** keyId of the trusted key that signed it; null for an accepted unsigned bundle. */
  signedBy: string | null;
}

/** A bundle file name: one path level, no traversal, no hidden files, nothing a shell or URL would bend. */
export function checkFileName(name: string, where: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name.includes('..') || name.length > 128) {
    throw new ManifestError(where, `files: "${name.slice(0, 140)}" is refused: bundle files are plain names (no '/', '..', absolute paths or hidden files)`);
  }
  if (name === MANIFEST_FILE || name === SIGNATURE_FILE) throw new ManifestError(where, `files: "${name}" cannot be listed in files`);
}

/** Parses and schema-checks a manifest from text; every name in files is checked for traversal. */
export function parseManifestText(text: string, where: string): { manifest: Manifest; raw: Record<string, unknown> } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ManifestError(where, `${MANIFEST_FILE} is not valid JSON: ${(err as Error).message}`);
  }
  // Names first: a traversal attempt gets a message that says so, not a schema pattern.
  const files = (raw as { files?: unknown } | null)?.files;
  if (files && typeof files === 'object') for (const name of Object.keys(files)) checkFileName(name, where);
  const manifest = validateManifest(raw, where);
  return { manifest, raw: raw as Record<string, unknown> };
}

/** Checks a signature (or its absence) against the trusted keys; returns the signer's keyId or null. */
export function checkSignature(raw: unknown, sigText: string | null, opts: VerifyOptions, where: string): string | null {
  if (sigText === null) {
    if (opts.allowUnsigned) return null;
    throw new ManifestError(where, `unsigned bundle refused: ${SIGNATURE_FILE} is missing (models.update.allowUnsigned is for development only)`);
  }
  let sig;
  try {
    sig = parseSignatureFile(sigText);
  } catch (err) {
    throw new ManifestError(where, `bad signature: ${(err as Error).message}`);
  }
  if (opts.trustedKeys.length === 0) throw new ManifestError(where, 'bad signature: no trusted public keys are configured (models.update.trustedKeys)');
  const by = verifyManifestSignature(raw, sig, opts.trustedKeys);
  if (by === null) throw new ManifestError(where, `bad signature: the signature (key ${sig.keyId.slice(0, 16)}) does not verify against any trusted key`);
  return by;
}

/** Size and hash of one file, refusing symlinks, non-files and oversize files before reading them. */
export function checkFile(dir: string, name: string, expected: { sha256: string; size: number }, maxFileBytes: number, where: string): void {
  if (expected.size > maxFileBytes) throw new ManifestError(where, `files.${name}: oversize: ${expected.size} bytes exceeds the limit of ${maxFileBytes}`);
  const path = join(dir, name);
  let st;
  try {
    st = lstatSync(path);
  } catch {
    throw new ManifestError(where, `files.${name}: file is missing from the bundle`);
  }
  if (st.isSymbolicLink()) throw new ManifestError(where, `files.${name}: is a symbolic link; bundles hold plain files only`);
  if (!st.isFile()) throw new ManifestError(where, `files.${name}: is not a regular file`);
  if (st.size > maxFileBytes) throw new ManifestError(where, `files.${name}: oversize: ${st.size} bytes exceeds the limit of ${maxFileBytes}`);
  if (st.size !== expected.size) throw new ManifestError(where, `files.${name}: size ${st.size} does not match the manifest's ${expected.size}`);
  const actual = sha256Hex(readFileSync(path));
  if (actual !== expected.sha256) throw new ManifestError(where, `files.${name}: sha256 ${actual} does not match the manifest's ${expected.sha256} (tampered or corrupt)`);
}

function readSmallFile(path: string, where: string, label: string): string | null {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return null;
  }
  if (!st.isFile()) throw new ManifestError(where, `${label} is not a regular file`);
  if (st.size > MAX_MANIFEST_BYTES) throw new ManifestError(where, `${label}: oversize (${st.size} bytes)`);
  return readFileSync(path, 'utf8');
}

/** Signature, then every file: the whole bundle is what its signer packed, or this throws. */
export function verifyBundleDir(dir: string, opts: VerifyOptions): VerifiedBundle {
  const abs = resolve(dir);
  const where = `model bundle ${abs}`;
  const text = readSmallFile(join(abs, MANIFEST_FILE), where, MANIFEST_FILE);
  if (text === null) throw new ManifestError(where, `${MANIFEST_FILE} is missing (is this a bundle folder?)`);
  const { manifest, raw } = parseManifestText(text, where);
  const signedBy = checkSignature(raw, readSmallFile(join(abs, SIGNATURE_FILE), where, SIGNATURE_FILE), opts, where);
  const max = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  for (const [name, entry] of Object.entries(manifest.files)) checkFile(abs, name, entry, max, where);
  return { dir: abs, manifest, raw, signedBy };
}

/**
 * Rewrites manifest.json's files from what the folder holds (every plain file but the manifest and its
 * signature), dropping a stale signature. Refuses symlinks and sub-folders: a bundle is flat.
 */
export function listBundleFiles(dir: string): Record<string, { sha256: string; size: number }> {
  const abs = resolve(dir);
  const where = `model bundle ${abs}`;
  const files: Record<string, { sha256: string; size: number }> = {};
  for (const ent of readdirSync(abs, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (ent.name === MANIFEST_FILE || ent.name === SIGNATURE_FILE) continue;
    if (ent.isSymbolicLink()) throw new ManifestError(where, `${ent.name}: is a symbolic link; bundles hold plain files only`);
    if (!ent.isFile()) throw new ManifestError(where, `${ent.name}: is not a plain file; bundles are flat folders`);
    checkFileName(ent.name, where);
    const bytes = readFileSync(join(abs, ent.name));
    files[ent.name] = { sha256: sha256Hex(bytes), size: bytes.length };
  }
  return files;
}

export function writeSignature(dir: string, privatePem: string): string {
  const abs = resolve(dir);
  const text = readFileSync(join(abs, MANIFEST_FILE), 'utf8');
  const { raw } = parseManifestText(text, `model bundle ${abs}`);
  const sig = signManifest(raw, privatePem);
  writeFileSync(join(abs, SIGNATURE_FILE), `${JSON.stringify(sig)}\n`);
  return sig.keyId;
}
