// On the device (issue 6, phase 2): the versioned store with its pointer file, the boot choice (crash
// loop, damaged version), and validation in a child process with real ONNX Runtime on real and
// deliberately broken variants of the shipped emotion model.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chooseAtBoot } from '../../src/updates/boot.js';
import { ModelStore } from '../../src/updates/store.js';
import { validateInChild } from '../../src/updates/validate-in-child.js';
import { MODELS } from '../helpers/paths.js';
import { copyDir, shippedVariant, withInputSize, withNaNOutput, withSlowChain } from '../models/fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'ea-store-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const CONFIGURED = join(MODELS, 'emotion-int8');
const task = 'emotion-classifier' as const;

/** A committed copy of a shipped bundle with version v. */
function stored(store: ModelStore, v: string): ReturnType<ModelStore['commit']> {
  const staging = store.staging(task);
  rmSync(staging, { recursive: true });
  copyDir(CONFIGURED, staging);
  return store.commit(task, staging, `${v}-abcd`, v);
}

describe('model store', () => {
  it('activates versions, keeps N previous for rollback, prunes the rest, rolls back down to the configured bundle', () => {
    const store = new ModelStore(join(root, 's1'), 2);
    for (const v of ['1.1.0', '1.2.0', '1.3.0', '1.4.0']) store.activate(task, stored(store, v));
    const p = store.read(task);
    expect(p.current?.version).toBe('1.4.0');
    expect(p.previous.map((x) => x.version)).toEqual(['1.3.0', '1.2.0']);
    expect(p.trial?.boots).toBe(0);
    expect(readdirSync(join(store.taskDir(task), 'versions')).sort()).toEqual([
      '1.2.0-abcd',
      '1.3.0-abcd',
      '1.4.0-abcd',
    ]);
    expect(store.rollback(task)?.current?.version).toBe('1.3.0');
    expect(store.rollback(task)?.current?.version).toBe('1.2.0');
    expect(store.rollback(task)?.current).toBeNull();
    expect(store.rollback(task)).toBeNull();
    expect(readdirSync(join(store.taskDir(task), 'versions'))).toEqual([]);
  });

  it('a pointer left half-written (temp file) or unreadable never breaks the boot; staging left by a crash is cleaned', () => {
    const store = new ModelStore(join(root, 's2'), 2);
    const v = stored(store, '2.0.0');
    store.activate(task, v);
    // A crash between write-temp and rename leaves the temp file and the old pointer: the old one counts.
    writeFileSync(join(store.taskDir(task), 'pointer.json.tmp-dead'), '{"current": {"id": "x"');
    store.staging(task);
    expect(chooseAtBoot(store, task, CONFIGURED, 3).stored?.version).toBe('2.0.0');
    store.cleanStaging(task);
    expect(readdirSync(store.taskDir(task)).sort()).toEqual(['pointer.json', 'versions']);
    writeFileSync(join(store.taskDir(task), 'pointer.json'), 'garbage');
    expect(chooseAtBoot(store, task, CONFIGURED, 3)).toEqual({ dir: CONFIGURED, stored: null });
  });

  it('rolls back at boot after a crash loop on probation, and when the stored files are damaged', () => {
    const store = new ModelStore(join(root, 's3'), 2);
    store.activate(task, stored(store, '3.0.0'));
    store.activate(task, stored(store, '3.1.0'));
    for (let i = 0; i < 3; i++) expect(chooseAtBoot(store, task, CONFIGURED, 3).stored?.version).toBe('3.1.0');
    const c = chooseAtBoot(store, task, CONFIGURED, 3);
    expect(c.stored?.version).toBe('3.0.0');
    expect(c.rolledBack).toEqual({
      from: '3.1.0',
      reason: 'crash loop: 3 restarts while version 3.1.0 was on probation',
    });
    // 3.0.0 is established (no trial): restarts are fine; corrupt its model file and it falls back.
    expect(chooseAtBoot(store, task, CONFIGURED, 3).stored?.version).toBe('3.0.0');
    const model = join(c.dir, 'model.onnx');
    writeFileSync(model, readFileSync(model).subarray(0, 1000));
    const d = chooseAtBoot(store, task, CONFIGURED, 3);
    expect(d.dir).toBe(CONFIGURED);
    expect(d.rolledBack?.reason).toMatch(/stored version 3\.0\.0 is damaged: .*size 1000 does not match/);
    expect(existsSync(c.dir)).toBe(false);
  });

  it('checks stored files at boot against the configured size limit (models.update.maxFileBytes), not a built-in one', () => {
    const store = new ModelStore(join(root, 's4'), 2);
    store.activate(task, stored(store, '4.0.0'));
    store.write(task, { ...store.read(task), trial: null });
    const size = readFileSync(join(store.read(task).current!.dir, 'model.onnx')).length;
    // Within a limit raised above the default it stays; under a limit below its size it is refused.
    expect(chooseAtBoot(store, task, CONFIGURED, 3, 512 * 1024 * 1024).stored?.version).toBe('4.0.0');
    const d = chooseAtBoot(store, task, CONFIGURED, 3, size - 1);
    expect(d.dir).toBe(CONFIGURED);
    expect(d.rolledBack?.reason).toMatch(/stored version 4\.0\.0 is damaged/);
  });
});

describe('validation in a child process (real ONNX Runtime)', () => {
  const opts = { task, baseline: CONFIGURED, latencyMultiple: 4, timeoutMs: 60_000 };
  const v = (name: string, edit?: Parameters<typeof shippedVariant>[4], golden = 2): Promise<string> =>
    shippedVariant(join(root, name), 'emotion-int8', '1.5.0', undefined, edit, golden);

  it('accepts a sound model and reports its latency against the serving one', async () => {
    const r = await validateInChild(await v('good'), opts);
    expect(r).toMatchObject({ ok: true, version: '1.5.0', goldens: 2 });
    expect(r.latencyMs).toBeGreaterThan(0);
    expect(r.baselineMs).toBeGreaterThan(0);
  });

  it('refuses a wrong input shape', async () => {
    const r = await validateInChild(await v('shape', (_m, b) => withInputSize(b, 48), 0), opts);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/input\.shape: manifest says \[-1,64,64,1\], the ONNX model has \[.*48,48,1\]/);
  });

  it('refuses a model for another task', async () => {
    const r = await validateInChild(await v('task'), { ...opts, task: 'face-detector' });
    expect(r.error).toMatch(/task: is "emotion-classifier", expected "face-detector"/);
  });

  it('refuses a corrupt ONNX file', async () => {
    const r = await validateInChild(await v('corrupt', (_m, b) => b.subarray(0, b.length / 2), 0), opts);
    expect(r.error).toMatch(/model\.onnx: ONNX Runtime cannot load it/);
  });

  it('refuses a model that produces NaN', async () => {
    // Packed without golden vectors (pack refuses NaN goldens): the output probe catches it.
    const dir = await v('nan', (_m, b) => withNaNOutput(b), 0);
    const r = await validateInChild(dir, opts);
    expect(r.error).toMatch(/output "probabilities" is NaN at index 0 for a valid input/);
  });

  it('refuses a model much slower than the serving one', async () => {
    const r = await validateInChild(await v('slow', (_m, b) => withSlowChain(b, 600)), opts);
    expect(r.ok, JSON.stringify(r)).toBe(false);
    expect(r.error).toMatch(/too slow: .* ms per run, more than 4x the serving model's .* ms/);
  });

  it('refuses a model whose golden vectors do not reproduce', async () => {
    const dir = await v('golden');
    const fp32 = readFileSync(join(MODELS, 'emotion-fp32', 'model.onnx'));
    // Same manifest and goldens, another model with the same interface: only the goldens can tell.
    writeFileSync(join(dir, 'model.onnx'), fp32);
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
      files: Record<string, { sha256: string; size: number }>;
    };
    const { sha256Hex } = await import('../../src/models/manifest.js');
    m.files['model.onnx'] = { sha256: sha256Hex(fp32), size: fp32.length };
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    const r = await validateInChild(dir, opts);
    expect(r.error).toMatch(/golden\.vectors\[0\]\.outputs\.probabilities\[\d+\]: got .* expected/);
  });
});
