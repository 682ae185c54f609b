// A training run killed with SIGKILL mid-epoch and resumed from its folder ends with exactly the
// weights of a run that never stopped (metrics.jsonl records a hash of the weights per epoch).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasShared } from '../helpers/paths.js';
import { events, FER_TRAIN, FER_VAL, miniFolder, train } from './helpers.js';

const weights = (runDir: string): string[] =>
  readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { weights: string }).weights);

describe.skipIf(!hasShared)('npm run train -- --resume', () => {
  let tmp: string;
  let common: string[];
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'train-resume-'));
    common = ['--config', 'training/configs/smoke.yaml', '--epochs', '3', '--no-export',
      '--train-data', miniFolder(FER_TRAIN, join(tmp, 'train'), 30), '--val-data', miniFolder(FER_VAL, join(tmp, 'val'), 5),
      '--out', join(tmp, 'runs')];
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('after a kill, resumes from the last checkpoint and ends with the same weights as an uninterrupted run', async () => {
    const whole = await train([...common, '--run-id', 'whole']);
    expect(whole.code, whole.stderr.slice(-2000)).toBe(0);
    const reference = weights(join(tmp, 'runs', 'whole'));
    expect(reference).toHaveLength(3);

    // Kill as soon as the first epoch is on disk: the second is then under way.
    const killed = await train([...common, '--run-id', 'killed'], (text, kill) => {
      if (events(text).some((e) => e.event === 'epoch')) kill();
    });
    expect(killed.signal).toBe('SIGKILL');
    const before = weights(join(tmp, 'runs', 'killed'));
    expect(before.length).toBeGreaterThanOrEqual(1);
    expect(before.length).toBeLessThan(3);

    const resumed = await train(['--resume', 'killed', '--out', join(tmp, 'runs')]);
    expect(resumed.code, resumed.stderr.slice(-2000)).toBe(0);
    expect(events(resumed.stderr).find((e) => e.event === 'resume')).toMatchObject({ fromEpoch: before.length + 1 });
    expect(weights(join(tmp, 'runs', 'killed'))).toEqual(reference);
  }, 600_000);

  // bf16 autocast is real here (the Xeon has AMX; elsewhere PyTorch emulates it, slowly but exactly).
  it('in bf16 too: a killed run resumes to the same weights, which differ from the float32 run', async () => {
    const bf16 = [...common, '--precision', 'bf16'];
    const whole = await train([...bf16, '--run-id', 'bf16-whole']);
    expect(whole.code, whole.stderr.slice(-2000)).toBe(0);
    const reference = weights(join(tmp, 'runs', 'bf16-whole'));
    expect(reference).toHaveLength(3);
    expect(reference[0]).not.toBe(weights(join(tmp, 'runs', 'whole'))[0]);
    const killed = await train([...bf16, '--run-id', 'bf16-killed'], (text, kill) => {
      if (events(text).some((e) => e.event === 'epoch')) kill();
    });
    expect(killed.signal).toBe('SIGKILL');
    const resumed = await train(['--resume', 'bf16-killed', '--out', join(tmp, 'runs')]);
    expect(resumed.code, resumed.stderr.slice(-2000)).toBe(0);
    expect(weights(join(tmp, 'runs', 'bf16-killed'))).toEqual(reference);
  }, 600_000);

  it('refuses to resume a run in another precision', async () => {
    const r = await train(['--resume', 'whole', '--precision', 'bf16', '--out', join(tmp, 'runs')]);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/--precision bf16: the run trains in fp32/);
  }, 60_000);

  it('refuses to change the epoch count of a run (the learning-rate schedule depends on it)', async () => {
    const r = await train(['--resume', 'whole', '--epochs', '5', '--out', join(tmp, 'runs')]);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/--epochs 5: the run was configured for 3 epochs/);
  }, 60_000);
});
