// The training pipeline end to end on a few hundred real faces (the smoke config: a tiny model,
// one epoch): data checks, training, ONNX export with the PyTorch/ONNX Runtime parity check, INT8,
// bundles that the TypeScript side validates, evaluates, signs and verifies.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBundle } from '../../src/models/bundle.js';
import { CANONICAL_LABELS } from '../../src/models/manifest.js';
import { parity, PARITY_TOLERANCE } from '../../scripts/models/train-bundle.js';
import { hasShared, ROOT } from '../helpers/paths.js';
import { BLANK_FACE, events, FER_TRAIN, FER_VAL, miniFolder, train, type Run } from './helpers.js';

const CLI = join(ROOT, 'bin', 'emotion-agent.js');

describe.skipIf(!hasShared)('npm run train: smoke run through export, INT8, evaluate and model verify', () => {
  let tmp: string;
  let run: Run;
  let runDir: string;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'train-smoke-'));
    // The first 40 angry faces include one of the blank images the pipeline must drop (BLANK_FACE).
    const trainDir = miniFolder(FER_TRAIN, join(tmp, 'train'), 40);
    const valDir = miniFolder(FER_VAL, join(tmp, 'val'), 12);
    run = await train(['--config', 'training/configs/smoke.yaml', '--train-data', trainDir, '--val-data', valDir,
      '--out', join(tmp, 'runs'), '--run-id', 'smoke']);
    runDir = join(tmp, 'runs', 'smoke');
  }, 600_000);
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('finishes and reports progress as JSON lines when not on a terminal', () => {
    expect(run.stderr.slice(-2000)).not.toMatch(/Traceback/);
    expect(run.code).toBe(0);
    const ev = events(run.stderr);
    expect(ev.find((e) => e.event === 'data')).toMatchObject({ train: 279, blankDropped: 1, val: 84 });
    expect(ev.some((e) => e.event === 'progress' && typeof e.etaS === 'number')).toBe(true);
    expect(ev.find((e) => e.event === 'exported')).toBeDefined();
  });

  it('writes the run folder: config, seed, data manifest, per-epoch metrics, checkpoints, curves', () => {
    for (const f of ['config.yaml', 'data-manifest.json', 'metrics.jsonl', 'checkpoints/last.pt', 'checkpoints/best.pt', 'curves.png']) {
      expect(existsSync(join(runDir, f)), f).toBe(true);
    }
    expect(readFileSync(join(runDir, 'curves.png')).subarray(1, 4).toString()).toBe('PNG');
    const data = JSON.parse(readFileSync(join(runDir, 'data-manifest.json'), 'utf8')) as {
      seed: number;
      train: { blankDropped: number; blankFiles: string[]; classes: Record<string, { files: number; sha256: string }> };
    };
    expect(data.seed).toBe(7);
    expect(data.train.blankFiles).toEqual([BLANK_FACE]);
    expect(data.train.classes.angry!.files).toBe(40);
    expect(data.train.classes.disgust!.sha256).toMatch(/^[0-9a-f]{64}$/);
    const lines = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ epoch: 1 });
    for (const k of ['trainLoss', 'valAccuracy', 'valMacroF1']) expect(Number.isFinite(lines[0]![k])).toBe(true);
  });

  it('exports fp32 and INT8 bundles the device accepts, with provenance and golden vectors', () => {
    for (const precision of ['fp32', 'int8'] as const) {
      const b = readBundle(join(runDir, 'bundle', `emotion-mobilenet-${precision}`), 'emotion-classifier');
      expect(b.manifest.precision).toBe(precision);
      expect(b.manifest.input).toMatchObject({ layout: 'NCHW', colour: 'gray', width: 48, height: 48, shape: [-1, 1, 48, 48] });
      expect(b.manifest.labels!.modelOrder).toEqual([...CANONICAL_LABELS]);
      expect(b.manifest.provenance.trainingData).toMatch(/FER-2013 Training split: 280 files, 1 blank dropped/);
      expect(b.manifest.golden!.vectors.length).toBe(1);
      const training = (b.manifest.metrics as { training: { run: string; config: { seed: number } } }).training;
      expect(training).toMatchObject({ run: 'smoke', config: { seed: 7 } });
      expect((b.manifest.metrics as { publicTest: { samples: number } }).publicTest.samples).toBe(84);
    }
    const q = readBundle(join(runDir, 'bundle', 'emotion-mobilenet-int8')).manifest.provenance.quantization as { calibration: { description: string }; quantizedOps: number };
    expect(q.calibration.description).toMatch(/Training-split crops/);
    expect(q.quantizedOps).toBeGreaterThan(10);
  });

  it('ONNX Runtime gives what PyTorch gave on the same real faces, within 1e-4', async () => {
    const r = await parity(join(runDir, 'bundle', 'emotion-mobilenet-fp32', 'model.onnx'), join(runDir, 'parity'));
    expect(r.samples).toBe(16);
    expect(r.maxAbsDiff).toBeLessThanOrEqual(PARITY_TOLERANCE);
  });

  it('the INT8 bundle goes through evaluate, model sign and model verify', () => {
    const bundle = join(runDir, 'bundle', 'emotion-mobilenet-int8');
    const out = execFileSync('node', [CLI, 'evaluate', '--model', bundle, '--data', join(tmp, 'val'), '--out', join(tmp, 'report'), '--json'], { encoding: 'utf8' });
    const report = JSON.parse(out.trim().split('\n').pop()!) as { samples: number; accuracy: number; modelPrecision: string };
    expect(report).toMatchObject({ samples: 84, modelPrecision: 'int8' });
    execFileSync('node', [CLI, 'model', 'keygen', '--out', join(tmp, 'ml-team')]);
    execFileSync('node', [CLI, 'model', 'sign', bundle, '--key', join(tmp, 'ml-team.key')]);
    const verified = execFileSync('node', [CLI, 'model', 'verify', bundle, '--pub', join(tmp, 'ml-team.pub')], { encoding: 'utf8' });
    expect(verified).toMatch(/^ok: emotion@/);
  });
});
