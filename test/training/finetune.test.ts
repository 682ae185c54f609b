// Fine-tuning (npm run train -- --finetune RUN) on a few hundred real faces: a fine-tuned run starts
// from the source run's best weights (shown with a learning rate of 0, where they must come through
// unchanged), resumes without the source, records it in its config and bundle provenance; a folder that
// is not a finished run, or a source of another shape, is refused by name before a run folder is made. A shipped
// fp32 bundle is a source too (its BatchNorms, folded into the convs by the export, rebuilt).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBundle } from '../../src/models/bundle.js';
import { hasShared, ROOT } from '../helpers/paths.js';
import { FER_TRAIN, FER_VAL, miniFolder, PYTHON, train } from './helpers.js';

const SMOKE_MODEL = '{arch: mobilenet, width: 0.25, stem: 8, head: 64, se: false, dropout: 0.0}';
const TINY_VGG = '{arch: vgg, widths: [8, 16, 16, 16], depths: [1, 1, 1, 1], dropout: 0.0}';

/** Largest |value| of each named tensor of a best.pt (the model's weights). */
function tensorMax(file: string, names: string[]): number[] {
  const py = ['import torch,sys', "m=torch.load(sys.argv[1])['model']", "print(' '.join(str(float(m[k].abs().max())) for k in sys.argv[2:]))"];
  return execFileSync(PYTHON, ['-c', py.join('\n'), file, ...names], { encoding: 'utf8' }).trim().split(' ').map(Number);
}

/** Largest difference of the learned parameters (not BN running statistics) that two best.pt files share. */
function paramDiff(a: string, b: string): number {
  const py = [
    'import torch,sys',
    "a=torch.load(sys.argv[1])['model']; b=torch.load(sys.argv[2])['model']",
    "print(max(float((a[k].float()-b[k].float()).abs().max()) for k in a if k in b and not k.endswith(('running_mean','running_var','num_batches_tracked'))))",
  ].join('\n');
  return Number(execFileSync(PYTHON, ['-c', py, a, b], { encoding: 'utf8' }).trim());
}

describe.skipIf(!hasShared)('npm run train -- --finetune RUN', () => {
  let tmp: string;
  let runs: string;
  let data: string[];
  let frozen: string;
  const best = (run: string): string => join(runs, run, 'checkpoints', 'best.pt');
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'train-finetune-'));
    runs = join(tmp, 'runs');
    data = [
      ...['--out', runs, '--no-export'],
      ...['--train-data', miniFolder(FER_TRAIN, join(tmp, 'train'), 30)],
      ...['--val-data', miniFolder(FER_VAL, join(tmp, 'val'), 5)],
    ];
    // Learning rate 0 and no EMA: whatever the run starts from is what its checkpoint holds.
    frozen = join(tmp, 'frozen.yaml');
    writeFileSync(
      frozen,
      `name: frozen\nseed: 7\nmodel: ${SMOKE_MODEL}\ntrain: {epochs: 2, batch: 32, lr: 0, ema: 0, threads: 2}\n` +
        'export: {calibration_images: 64, parity_images: 16, golden: 1}\n',
    );
    const source = await train(['--config', 'training/configs/smoke.yaml', ...data, '--run-id', 'source']);
    expect(source.code, source.stderr.slice(-2000)).toBe(0);
  }, 300_000);
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('starts from the source weights, resumes without the source, and records it in config and bundle', async () => {
    const [plain, tuned] = await Promise.all([
      train(['--config', frozen, ...data, '--run-id', 'plain', '--stop-after', '1']),
      train(['--config', frozen, ...data, '--run-id', 'tuned', '--stop-after', '1', '--finetune', join(runs, 'source')]),
    ]);
    expect(plain.code, plain.stderr.slice(-2000)).toBe(0);
    expect(tuned.code, tuned.stderr.slice(-2000)).toBe(0);
    expect(paramDiff(best('tuned'), best('source'))).toBe(0);
    // Without --finetune the same seed starts elsewhere: the check above can fail.
    expect(paramDiff(best('plain'), best('source'))).toBeGreaterThan(0.01);
    const cfg = readFileSync(join(runs, 'tuned', 'config.yaml'), 'utf8');
    expect(cfg).toContain(`from: ${join(runs, 'source')}`);
    expect(cfg).toMatch(/sha256: [0-9a-f]{64}/);

    // Once it has a checkpoint of its own, the run no longer needs its source.
    renameSync(join(runs, 'source'), join(runs, 'source-moved'));
    try {
      const resumed = await train(['--resume', 'tuned', '--out', runs]);
      expect(resumed.code, resumed.stderr.slice(-2000)).toBe(0);
    } finally {
      renameSync(join(runs, 'source-moved'), join(runs, 'source'));
    }
    expect(readFileSync(join(runs, 'tuned', 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
    const b = readBundle(join(runs, 'tuned', 'bundle', 'emotion-mobilenet-int8'), 'emotion-classifier');
    expect(b.manifest.provenance.fineTunedFrom).toEqual(
      expect.objectContaining({ run: 'source', bestEpoch: 1, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown }),
    );
  }, 600_000);

  it('refuses a folder without a finished run, naming it, before making a run folder', async () => {
    const notARun = join(tmp, 'not-a-run');
    mkdirSync(notARun);
    const r = await train(['--config', frozen, ...data, '--run-id', 'orphan', '--finetune', notARun]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain(`finetune.from: ${notARun} has no checkpoints/best.pt`);
    expect(existsSync(join(runs, 'orphan'))).toBe(false);
  });

  it('refuses a source of another shape, naming the first weight that differs', async () => {
    const wider = join(tmp, 'wider.yaml');
    writeFileSync(wider, readFileSync(frozen, 'utf8').replace('width: 0.25', 'width: 0.5'));
    const r = await train(['--config', wider, ...data, '--run-id', 'misfit', '--finetune', join(runs, 'source')]);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(new RegExp(`finetune\\.from: ${join(runs, 'source')} is another model \\(\\S+: \\(`));
    expect(existsSync(join(runs, 'misfit'))).toBe(false);
  });

  const vgg = (name: string, model: string, lr: number): string => {
    const file = join(tmp, `${name}.yaml`);
    writeFileSync(file, `name: ${name}\nseed: 3\nmodel: ${model}\ntrain: {epochs: 1, batch: 32, lr: ${lr}, ema: 0, threads: 2}\n`);
    return file;
  };

  it('grows a VGG by a spatial head and a residual block: shared weights unchanged, both add zero; dropping them is refused', async () => {
    const plain = await train(['--config', vgg('vgg-plain', TINY_VGG, 0.05), ...data, '--run-id', 'vgg-plain']);
    expect(plain.code, plain.stderr.slice(-2000)).toBe(0);
    const headed = TINY_VGG.replace('}', ', head: 32, extra: 1}');
    const grown = await train(['--config', vgg('vgg-grown', headed, 0), ...data, '--run-id', 'vgg-grown', '--finetune', join(runs, 'vgg-plain')]);
    expect(grown.code, grown.stderr.slice(-2000)).toBe(0);
    expect(paramDiff(best('vgg-grown'), best('vgg-plain'))).toBe(0);
    // The new parts' first layers are random, their last are zero: the grown run starts from the source's function.
    const names = ['head.1.weight', 'extra.0.body.0.0.weight', 'head.4.weight', 'head.4.bias', 'extra.0.body.1.1.weight', 'extra.0.body.1.1.bias'];
    const values = tensorMax(best('vgg-grown'), names);
    expect(Math.min(...values.slice(0, 2))).toBeGreaterThan(0.01);
    expect(values.slice(2)).toEqual([0, 0, 0, 0]);
    expect(readFileSync(join(runs, 'vgg-grown', 'config.yaml'), 'utf8')).toMatch(/grown:\n\s*- extra\n\s*- head/);

    // A source with grown parts cannot become a model without them: their weights would be dropped.
    const r = await train(['--config', vgg('vgg-shrunk', TINY_VGG, 0), ...data, '--run-id', 'vgg-shrunk', '--finetune', join(runs, 'vgg-grown')]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain(`finetune.from: ${join(runs, 'vgg-grown')} is another model (extra.0.body.0.0.weight: (16, 16, 3, 3) there, None in model`);
    expect(existsSync(join(runs, 'vgg-shrunk'))).toBe(false);
  }, 300_000);

  it('fine-tunes from a shipped fp32 bundle (its BNs folded by the export, rebuilt): same function, grown, recorded; INT8 refused', async () => {
    const exported = await train(['--config', vgg('vgg-shipped', TINY_VGG, 0.05), ...data.filter((a) => a !== '--no-export'), '--run-id', 'vgg-shipped']);
    expect(exported.code, exported.stderr.slice(-2000)).toBe(0);
    const run = join(runs, 'vgg-shipped');
    const bundle = join(run, 'bundle', 'emotion-vgg-fp32');

    // Imported into a model grown by a residual block, with the run's parity faces (training crops) as the
    // BN images: eval mode gives PyTorch's output at export; train mode (batch statistics of the same
    // faces) nearly so, which it would not if the BNs were left as the identity the export folded them into.
    const py = [
      'import sys, numpy as np, torch',
      'from training.emotion_train import config, models',
      'from training.emotion_train.bundle_source import import_bundle',
      'from training.emotion_train.export import Deployable',
      "cfg = config.load(sys.argv[1]); cfg['model'] = {**cfg['model'], 'extra': 1}",
      "x = np.fromfile(sys.argv[2] + '/parity/input.f32', '<f4').reshape(-1, 1, 48, 48)",
      "y = np.fromfile(sys.argv[2] + '/parity/torch-output.f32', '<f4').reshape(len(x), 7)",
      "net = models.build(cfg['model'])",
      'info = import_bundle(sys.argv[3], net, cfg, x)',
      'd = Deployable(net, True)',
      'with torch.no_grad():',
      '    ev = d.eval()(torch.from_numpy(x)).numpy(); tr = d.train()(torch.from_numpy(x)).numpy()',
      "print(float(np.abs(ev - y).max()), float(np.abs(tr - y).max()), ','.join(info['grown']))",
    ].join('\n');
    const [evalDiff, trainDiff, grown] = execFileSync(PYTHON, ['-c', py, join(run, 'config.yaml'), run, bundle], { cwd: ROOT, encoding: 'utf8' })
      .trim()
      .split(' ');
    expect(Number(evalDiff)).toBeLessThan(1e-5);
    expect(Number(trainDiff)).toBeLessThan(0.02);
    expect(grown).toBe('extra');

    // Through the CLI: a run grown from the bundle records it (run, bundle and version, sha256 of model.onnx).
    const deep = TINY_VGG.replace('}', ', extra: 1}');
    const tuned = await train(['--config', vgg('vgg-from-bundle', deep, 0), ...data, '--run-id', 'vgg-from-bundle', '--finetune', bundle]);
    expect(tuned.code, tuned.stderr.slice(-2000)).toBe(0);
    const sha = createHash('sha256').update(readFileSync(join(bundle, 'model.onnx'))).digest('hex');
    const cfg = readFileSync(join(runs, 'vgg-from-bundle', 'config.yaml'), 'utf8');
    expect(cfg).toContain(`bundle: emotion-vgg-fp32 2.0.0`);
    expect(cfg).toContain(`sha256: ${sha}`);
    expect(cfg).toMatch(/run: vgg-shipped\n/);
    expect(cfg).toMatch(/grown:\n\s*- extra/);

    const wider = TINY_VGG.replace('[8, 16, 16, 16]', '[12, 16, 16, 16]');
    const misfit = await train(['--config', vgg('vgg-misfit', wider, 0), ...data, '--run-id', 'vgg-misfit', '--finetune', bundle]);
    expect(misfit.code).toBe(64);
    expect(misfit.stderr).toContain(`finetune.from: ${bundle} is another model (features.0.0.weight: (8, 1, 3, 3) there, (12, 1, 3, 3) in model`);
    expect(existsSync(join(runs, 'vgg-misfit'))).toBe(false);

    // The shipped default has a grown residual block, whose nodes torch names by nested scopes
    // (/net/extra.0/body/body.0/body.0.0/Conv): it imports too, reproducing its golden vector.
    const shipped = [
      'import json, sys, numpy as np, torch',
      'from training.emotion_train import models',
      'from training.emotion_train.bundle_source import import_bundle',
      'from training.emotion_train.export import Deployable',
      "d = sys.argv[1]; m = json.load(open(d + '/manifest.json')); cfg = m['metrics']['training']['config']",
      "net = models.build(cfg['model']); import_bundle(d, net, cfg)",
      "x = np.fromfile(d + '/golden-0.input.f32', '<f4').reshape(-1, 1, 48, 48); y = np.fromfile(d + '/golden-0.probabilities.f32', '<f4')",
      'with torch.no_grad():',
      "    print(float(np.abs(Deployable(net, True).eval()(torch.from_numpy(x)).numpy().ravel() - y).max()), cfg['model'].get('extra', 0))",
    ].join('\n');
    const [goldenDiff, extra] = execFileSync(PYTHON, ['-c', shipped, join(ROOT, 'models', 'emotion-vgg-fp32')], { cwd: ROOT, encoding: 'utf8' })
      .trim()
      .split(' ');
    expect(Number(goldenDiff)).toBeLessThan(1e-5);
    expect(extra).toBe('1');

    const int8 = join(run, 'bundle', 'emotion-vgg-int8');
    const r = await train(['--config', vgg('vgg-from-int8', TINY_VGG, 0), ...data, '--run-id', 'vgg-from-int8', '--finetune', int8]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain(`finetune.from: ${int8} is an int8 bundle`);
    expect(existsSync(join(runs, 'vgg-from-int8'))).toBe(false);
  }, 300_000);
});
