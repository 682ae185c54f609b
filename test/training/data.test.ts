// Bad data folders stop a run at once, with an error that names the folder or file at fault.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasShared } from '../helpers/paths.js';
import { FER_TRAIN, FER_VAL, miniFolder, train } from './helpers.js';

describe.skipIf(!hasShared)('training data checks', () => {
  let tmp: string;
  let val: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'train-data-'));
    val = miniFolder(FER_VAL, join(tmp, 'val'), 3);
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  const run = (trainDir: string) =>
    train(['--config', 'training/configs/smoke.yaml', '--no-export', '--train-data', trainDir, '--val-data', val, '--out', join(tmp, 'runs')]);

  it('names a missing class folder', async () => {
    const dir = miniFolder(FER_TRAIN, join(tmp, 'no-disgust'), 3);
    rmSync(join(dir, 'disgust'), { recursive: true });
    const r = await run(dir);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain(`data folder ${dir}: missing class folder(s) disgust`);
  }, 120_000);

  it('names an image that cannot be decoded', async () => {
    const dir = miniFolder(FER_TRAIN, join(tmp, 'broken'), 3);
    const bad = join(dir, 'fear', 'broken.jpg');
    writeFileSync(bad, 'this is not a JPEG');
    const r = await run(dir);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain(`cannot decode image ${bad}`);
  }, 120_000);

  it('trains with mixup and with CutMix (augment.mix), and refuses an unknown config key by name', async () => {
    const dir = miniFolder(FER_TRAIN, join(tmp, 'mix'), 6);
    for (const mix of ['mixup', 'cutmix']) {
      const cfg = join(tmp, `${mix}.yaml`);
      writeFileSync(cfg, `name: ${mix}\nmodel: {arch: mobilenet, width: 0.25, stem: 8, head: 32}\ntrain: {epochs: 1, batch: 8, threads: 1}\naugment: {mix: ${mix}, mix_p: 1.0}\n`);
      const r = await train(['--config', cfg, '--no-export', '--train-data', dir, '--val-data', val, '--out', join(tmp, 'runs')]);
      expect(r.code, r.stderr.slice(-1500)).toBe(0);
    }
    const bad = join(tmp, 'bad.yaml');
    writeFileSync(bad, 'train: {epochs: 1, learning_rate: 0.1}\n');
    const r = await train(['--config', bad, '--no-export', '--out', join(tmp, 'runs')]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("bad.yaml.train: unknown key 'learning_rate'");
  }, 180_000);

  it('names an empty class folder and a data folder that does not exist', async () => {
    const dir = miniFolder(FER_TRAIN, join(tmp, 'empty-class'), 3);
    rmSync(join(dir, 'sad'), { recursive: true });
    mkdirSync(join(dir, 'sad'));
    const r = await run(dir);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain('class folder sad/ holds no images');
    const missing = await run(join(tmp, 'nowhere'));
    expect(missing.code).toBe(65);
    expect(missing.stderr).toContain(`data folder not found: ${join(tmp, 'nowhere')}`);
  }, 120_000);
});
