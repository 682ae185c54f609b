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
