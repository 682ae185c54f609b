// Stochastic weight averaging (train.swa_start, training/emotion_train/swa.py) on a few hundred real
// faces: the average holds exactly the mean of the weights at the end of each averaged epoch, its
// BatchNorm statistics are recomputed from training crops, it is what the run evaluates and keeps as
// best.pt, and a run stopped and resumed mid-average ends with the weights of one that never stopped.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasShared } from '../helpers/paths.js';
import { FER_TRAIN, FER_VAL, miniFolder, PYTHON, train } from './helpers.js';

const TINY_VGG = '{arch: vgg, widths: [8, 16, 16, 16], depths: [1, 1, 1, 1], dropout: 0.2}';

interface Line {
  weights: string;
  swaEpochs: number;
  valMacroF1: number;
}
const lines = (run: string): Line[] =>
  readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);

/** Checks a resumed run's SWA state against the epoch-2 checkpoint it resumed from; prints JSON. */
const CHECK = `
import hashlib, json, sys, torch
def hash16(sd):  # train.py's weights_hash, over a state_dict
    h = hashlib.sha256()
    for k, v in sorted(sd.items()):
        h.update(k.encode()); h.update(v.contiguous().numpy().tobytes())
    return h.hexdigest()[:16]
e2 = torch.load(sys.argv[1]); e3 = torch.load(sys.argv[2]); best = torch.load(sys.argv[3])
buf = ('running_mean', 'running_var', 'num_batches_tracked')
params = [k for k in e3['model'] if not k.endswith(buf)]
swa = e3['swa']['model']
mean_err = max(float((swa[k] - (e2['model'][k] + e3['model'][k]) / 2).abs().max()) for k in params)
bn = [k for k in swa if k.endswith('running_mean')]
print(json.dumps({
  'count': e3['swa']['count'], 'count2': e2['swa']['count'],
  'meanErr': mean_err,
  'first': float((e2['swa']['model'][params[0]] - e2['model'][params[0]]).abs().max()),
  'tracked': int(swa[bn[0].replace('running_mean', 'num_batches_tracked')]),
  'bnDiff': max(float((swa[k] - e3['model'][k]).abs().max()) for k in bn),
  'swa2': hash16(e2['swa']['model']), 'swa3': hash16(swa), 'best': hash16(best['model']),
}))
`;

describe.skipIf(!hasShared)('npm run train: stochastic weight averaging (train.swa_start)', () => {
  let tmp: string;
  let runs: string;
  let common: string[];
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'train-swa-'));
    runs = join(tmp, 'runs');
    const cfg = join(tmp, 'swa.yaml');
    // 210 faces, batch 32: the BN pass over swa_bn_images (capped to the 210) takes 7 batches.
    writeFileSync(
      cfg,
      `name: swa\nseed: 5\nmodel: ${TINY_VGG}\n` +
        'train: {epochs: 3, batch: 32, lr: 0.02, schedule: constant, warmup_epochs: 0.5, swa_start: 2, swa_bn_images: 4096, threads: 2}\n',
    );
    common = ['--config', cfg, '--no-export', '--out', runs,
      '--train-data', miniFolder(FER_TRAIN, join(tmp, 'train'), 30), '--val-data', miniFolder(FER_VAL, join(tmp, 'val'), 5)];
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('averages the weights of each epoch from swa_start on, recomputes BN, selects the average, and resumes exactly', async () => {
    const whole = await train([...common, '--run-id', 'whole']);
    expect(whole.code, whole.stderr.slice(-2000)).toBe(0);
    const ref = lines(join(runs, 'whole'));
    expect(ref.map((l) => l.swaEpochs)).toEqual([0, 1, 2]);

    const part = await train([...common, '--run-id', 'part', '--stop-after', '2']);
    expect(part.code, part.stderr.slice(-2000)).toBe(0);
    const ckpt = join(runs, 'part', 'checkpoints');
    copyFileSync(join(ckpt, 'last.pt'), join(tmp, 'epoch2.pt'));
    const resumed = await train(['--resume', 'part', '--out', runs]);
    expect(resumed.code, resumed.stderr.slice(-2000)).toBe(0);
    expect(lines(join(runs, 'part')).map((l) => l.weights)).toEqual(ref.map((l) => l.weights));

    // best.pt is the epoch with the best validation macro-F1 (the first of equals), as train.py picks it.
    const bestEpoch = ref.reduce((b, l, i) => (l.valMacroF1 > ref[b]!.valMacroF1 ? i : b), 0) + 1;
    const out = execFileSync(PYTHON, ['-c', CHECK, join(tmp, 'epoch2.pt'), join(ckpt, 'last.pt'), join(ckpt, 'best.pt')], { encoding: 'utf8' });
    const r = JSON.parse(out) as Record<string, number | string>;
    expect(r.count2).toBe(1);
    expect(r.count).toBe(2);
    expect(r.first).toBe(0); // one epoch averaged: the average is that epoch's weights
    expect(r.meanErr).toBeLessThan(1e-6); // two: their mean
    expect(r.tracked).toBe(7); // statistics reset, then one pass over 210 crops in batches of 32
    expect(r.bnDiff).toBeGreaterThan(0); // not the training model's running statistics
    // Once averaging has begun, the average is what is judged (metrics.jsonl hashes the judged weights),
    // and best.pt is the judged model of the best epoch, whichever epoch that is.
    expect([r.swa2, r.swa3]).toEqual([ref[1]!.weights, ref[2]!.weights]);
    expect(r.best).toBe(ref[bestEpoch - 1]!.weights);
  }, 600_000);
});
