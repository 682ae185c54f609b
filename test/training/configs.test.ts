// Every shipped training recipe (training/configs/*.yaml) loads: no misspelt key, which the loader
// refuses by name, hides in a config that only runs for hours on someone's machine.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/paths.js';
import { PYTHON } from './helpers.js';

const load = (paths: string[]): { status: number | null; out: string; err: string } => {
  const code = [
    'import json, sys',
    'from training.emotion_train import config',
    'print(json.dumps({p: config.load(p)["name"] for p in sys.argv[1:]}))',
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', code, ...paths], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
};

describe('training/configs', () => {
  it('every recipe loads with the keys the pipeline knows', () => {
    const files = readdirSync(join(ROOT, 'training', 'configs')).filter((f) => f.endsWith('.yaml'));
    expect(files).toEqual(expect.arrayContaining(['vgg.yaml', 'mobilenet.yaml', 'smoke.yaml', 'vgg-distill.yaml']));
    const r = load(files.map((f) => join('training', 'configs', f)));
    expect(r.status, r.err).toBe(0);
    const names = JSON.parse(r.out) as Record<string, string>;
    expect(names[join('training', 'configs', 'vgg-distill.yaml')]).toBe('vgg-distill');
  });

  it('values that would fail mid-run or silently do nothing are refused by name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'train-config-'));
    try {
      writeFileSync(join(dir, 'fp16.yaml'), 'name: x\ntrain: {precision: fp16}\n');
      writeFileSync(join(dir, 'swa0.yaml'), 'name: x\ntrain: {swa_start: 0}\n');
      const fp16 = load([join(dir, 'fp16.yaml')]);
      expect(fp16.status).not.toBe(0);
      expect(fp16.err).toMatch(/fp16.yaml: train.precision: 'fp16' is not one of fp32, bf16/);
      const swa0 = load([join(dir, 'swa0.yaml')]);
      expect(swa0.status).not.toBe(0);
      expect(swa0.err).toMatch(/swa0.yaml: train.swa_start: 0 is not an epoch number >= 1/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a misspelt key is refused by name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'train-config-'));
    try {
      writeFileSync(join(dir, 'misspelt.yaml'), 'name: x\ntrian: {epochs: 1}\n');
      const r = load([join(dir, 'misspelt.yaml')]);
      expect(r.status).not.toBe(0);
      expect(r.err).toMatch(/misspelt.yaml: unknown key 'trian' \(known: augment, data, distill, export/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
