// The signed bundle format (issue 6, phase 1): canonical JSON, Ed25519 signatures, every file's hash
// and size, path traversal, symlinks, oversize files, golden vectors; and the `model` CLI doing it all.
import { mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSession, readBundle } from '../../src/models/bundle.js';
import { canonicalJson } from '../../src/models/canonical.js';
import { checkGoldens } from '../../src/models/golden.js';
import { verifyBundleDir } from '../../src/models/signed-bundle.js';
import { generateKeys, parsePublicKey } from '../../src/models/signing.js';
import { main } from '../../src/program.js';
import { makeBundle, tinyClassifier, tinyManifest } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'ea-signed-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const keys = generateKeys();
const other = generateKeys();
const trusted = [parsePublicKey(keys.publicKey)];
let n = 0;
const signed = (): Promise<string> => makeBundle(join(root, `b${n++}`), tinyManifest(), { 'model.onnx': tinyClassifier() }, { key: keys.privatePem });
const manifestOf = (dir: string): Record<string, unknown> => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
const writeManifest = (dir: string, m: unknown, indent = 2): void => writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m, null, indent));

describe('canonical JSON', () => {
  it('sorts keys at every level and has no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 'x', null, true], c: 0.5 } })).toBe('{"a":{"c":0.5,"d":[1,"x",null,true]},"b":1}');
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
  });
  it('refuses values JSON cannot carry', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(/not representable/);
    expect(() => canonicalJson({ a: undefined })).toThrow(/not representable/);
  });
});

describe('signed bundles', () => {
  it('pack lists every file with sha256 and size, and a signed bundle verifies', async () => {
    const dir = await signed();
    const m = manifestOf(dir) as { files: Record<string, { size: number }>; golden: { vectors: unknown[] } };
    expect(Object.keys(m.files).sort()).toEqual(['golden-0.input.f32', 'golden-0.probs.f32', 'golden-1.input.f32', 'golden-1.probs.f32', 'model.onnx']);
    expect(m.files['golden-0.input.f32']!.size).toBe(64 * 64 * 4);
    expect(m.golden.vectors).toHaveLength(2);
    const v = verifyBundleDir(dir, { trustedKeys: trusted });
    expect(v.signedBy).toMatch(/^[0-9a-f]{16}$/);
    expect(v.manifest.version).toBe('1.0.0');
  });

  it('the signature covers the meaning, not the formatting', async () => {
    const dir = await signed();
    const m = manifestOf(dir);
    const reordered = Object.fromEntries(Object.entries(m).reverse());
    writeManifest(dir, reordered, 0);
    expect(verifyBundleDir(dir, { trustedKeys: trusted }).signedBy).not.toBeNull();
  });

  it('refuses a manifest changed after signing, and a signature by an untrusted key', async () => {
    const dir = await signed();
    const m = manifestOf(dir);
    writeManifest(dir, { ...m, version: '9.9.9' });
    expect(() => verifyBundleDir(dir, { trustedKeys: trusted })).toThrow(/bad signature: .* does not verify against any trusted key/);
    writeManifest(dir, m);
    expect(() => verifyBundleDir(dir, { trustedKeys: [parsePublicKey(other.publicKey)] })).toThrow(/bad signature/);
    expect(() => verifyBundleDir(dir, { trustedKeys: [] })).toThrow(/no trusted public keys/);
  });

  it('refuses an unsigned bundle unless unsigned bundles are allowed', async () => {
    const dir = await signed();
    unlinkSync(join(dir, 'manifest.sig'));
    expect(() => verifyBundleDir(dir, { trustedKeys: trusted })).toThrow(/unsigned bundle refused/);
    expect(verifyBundleDir(dir, { trustedKeys: trusted, allowUnsigned: true }).signedBy).toBeNull();
  });

  it('refuses a tampered file by its hash', async () => {
    const dir = await signed();
    const bytes = readFileSync(join(dir, 'model.onnx'));
    bytes[100] = bytes[100]! ^ 1;
    writeFileSync(join(dir, 'model.onnx'), bytes);
    expect(() => verifyBundleDir(dir, { trustedKeys: trusted })).toThrow(/files\.model\.onnx: sha256 .* \(tampered or corrupt\)/);
  });

  it('refuses path traversal in file names, even when signed', async () => {
    for (const bad of ['../outside.bin', '/etc/passwd', '..', '.hidden', 'a/b']) {
      const dir = await signed();
      const m = manifestOf(dir) as { files: Record<string, unknown> };
      m.files[bad] = { sha256: 'a'.repeat(64), size: 1 };
      writeManifest(dir, m);
      writeFileSync(join(dir, 'manifest.sig'), JSON.stringify((await import('../../src/models/signing.js')).signManifest(m, keys.privatePem)));
      expect(() => verifyBundleDir(dir, { trustedKeys: trusted }), bad).toThrow(/is refused: bundle files are plain names/);
    }
  });

  it('refuses a symlink in place of a listed file', async () => {
    const dir = await signed();
    const real = join(root, 'real.onnx');
    writeFileSync(real, readFileSync(join(dir, 'model.onnx')));
    unlinkSync(join(dir, 'model.onnx'));
    symlinkSync(real, join(dir, 'model.onnx'));
    expect(() => verifyBundleDir(dir, { trustedKeys: trusted })).toThrow(/files\.model\.onnx: is a symbolic link/);
  });

  it('refuses files over the size limit', async () => {
    const dir = await signed();
    expect(() => verifyBundleDir(dir, { trustedKeys: trusted, maxFileBytes: 1000 })).toThrow(/files\.\S+: oversize: \d+ bytes exceeds the limit of 1000/);
  });

  it('golden vectors pass on the packed model and fail on a model that computes something else', async () => {
    const dir = await signed();
    const b = readBundle(dir);
    const s = await createSession(b, { threads: 1 });
    await expect(checkGoldens(dir, b.manifest, s, 'x')).resolves.toBe(2);
    await s.release();
    writeFileSync(join(dir, 'model.onnx'), tinyClassifier(2));
    const s2 = await createSession({ ...b, modelBytes: readFileSync(join(dir, 'model.onnx')) }, { threads: 1 });
    await expect(checkGoldens(dir, b.manifest, s2, 'x')).rejects.toThrow(/golden\.vectors\[0\]\.outputs\.probs\[\d\]: got .* expected .* \(tolerance 0\.001\)/);
    await s2.release();
  });
});

describe('emotion-agent models keygen|pack|sign|verify-signed, and the old spelling model …', () => {
  it.each([['models', 'verify-signed'], ['model', 'verify']])('makes keys, packs, signs and verifies from the command line (%s … %s)', async (group, verify) => {
    const dir = join(root, `cli-${group}`);
    await makeBundle(dir, tinyManifest('2.0.0'), { 'model.onnx': tinyClassifier() }, { golden: 0 });
    const cli = (...args: string[]): Promise<number> => main(['node', 'emotion-agent', group, ...args]);
    const prefix = join(root, `ops-${group}`);
    expect(await cli('keygen', '--out', prefix)).toBe(0);
    expect(await cli('keygen', '--out', prefix)).not.toBe(0); // never overwrites a key by accident
    expect(await cli('pack', dir, '--golden', '1')).toBe(0);
    expect(await cli(verify, dir, '--pub', `${prefix}.pub`)).toBe(65); // not signed yet
    expect(await cli('sign', dir, '--key', `${prefix}.key`)).toBe(0);
    expect(await cli(verify, dir, '--pub', `${prefix}.pub`)).toBe(0);
    expect(await cli(verify, dir, '--pub', other.publicKey)).toBe(65);
    expect(await cli(verify, dir, '--pub', 'not-a-key')).toBe(64);
  });

  it('models verify is the shipped-bundle check: schema, hashes, ONNX inputs and outputs, no signature', async () => {
    const dir = join(root, 'cli-shipped');
    await makeBundle(dir, tinyManifest('2.0.0'), { 'model.onnx': tinyClassifier() }, { golden: 0 });
    expect(await main(['node', 'emotion-agent', 'models', 'verify', dir])).toBe(0);
  });
});
