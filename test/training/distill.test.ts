// Knowledge distillation (training/emotion_train/distill.py) on a few hundred real faces: a student
// trained with a teacher run learns something else than the same run without one, records the teacher
// in its config and in its bundle's provenance, a shipped fp32 bundle can teach too, a folder that is
// neither a finished run nor a bundle is refused, and a resumed student refuses a teacher whose
// checkpoint changed since it started.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBundle } from '../../src/models/bundle.js';
import { hasShared, ROOT } from '../helpers/paths.js';
import { FER_TRAIN, FER_VAL, miniFolder, PYTHON, train } from './helpers.js';

const weights = (runDir: string): string =>
  (JSON.parse(readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').at(-1)!) as { weights: string })
    .weights;

describe.skipIf(!hasShared)('npm run train -- --teacher RUN (knowledge distillation)', () => {
  let tmp: string;
  let runs: string;
  let common: string[];
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'train-distill-'));
    runs = join(tmp, 'runs');
    common = [
      ...['--config', 'training/configs/smoke.yaml', '--out', runs, '--no-export'],
      ...['--train-data', miniFolder(FER_TRAIN, join(tmp, 'train'), 30)],
      ...['--val-data', miniFolder(FER_VAL, join(tmp, 'val'), 5)],
    ];
    const teacher = await train([...common, '--run-id', 'teacher']);
    expect(teacher.code, teacher.stderr.slice(-2000)).toBe(0);
  }, 300_000);
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('trains a student on the teacher soft labels, recorded in its config and bundle provenance', async () => {
    const [plain, student] = await Promise.all([
      train([...common, '--run-id', 'plain']),
      train([...common, '--run-id', 'student', '--teacher', join(runs, 'teacher')]),
    ]);
    expect(plain.code, plain.stderr.slice(-2000)).toBe(0);
    expect(student.code, student.stderr.slice(-2000)).toBe(0);
    // Same seed, data and schedule: only the soft term differs.
    expect(weights(join(runs, 'student'))).not.toBe(weights(join(runs, 'plain')));
    const cfg = readFileSync(join(runs, 'student', 'config.yaml'), 'utf8');
    expect(cfg).toContain(join(runs, 'teacher'));
    expect(cfg).toMatch(/sha256: [0-9a-f]{64}/);

    // The comparison tool ships no bundle but answers "is it better, would an ensemble add anything".
    const cmp = JSON.parse(
      execFileSync(PYTHON, ['-m', 'training.emotion_train.compare', join(runs, 'plain'), join(runs, 'student')], {
        cwd: ROOT,
        encoding: 'utf8',
      }),
    ) as Record<string, { accuracy: number }> & { discordant: { onlyFirstRight: number; onlySecondRight: number } };
    for (const k of ['plain', 'student', 'average']) expect(cmp[k]!.accuracy).toBeGreaterThan(0);
    // The accuracy gap is exactly the discordant faces' balance, over the 35 validation faces.
    const gap = (cmp.plain!.accuracy - cmp.student!.accuracy) * 35;
    expect(gap).toBeCloseTo(cmp.discordant.onlyFirstRight - cmp.discordant.onlySecondRight, 6);

    const exported = await train(['--resume', 'student', '--out', runs, '--export-only']);
    expect(exported.code, exported.stderr.slice(-2000)).toBe(0);
    const b = readBundle(join(runs, 'student', 'bundle', 'emotion-mobilenet-int8'), 'emotion-classifier');
    expect(b.manifest.provenance.distilledFrom).toEqual([
      expect.objectContaining({ run: 'teacher', bestEpoch: 1, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown }),
    ]);
  }, 600_000);

  it('learns from a shipped fp32 bundle (the current model, without its run folder), recorded by bundle and sha256', async () => {
    const bundle = join(ROOT, 'models', 'emotion-vgg-fp32');
    const r = await train([...common, '--run-id', 'from-bundle', '--epochs', '1', '--teacher', bundle]);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const version = (JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8')) as { version: string }).version;
    const sha = createHash('sha256').update(readFileSync(join(bundle, 'model.onnx'))).digest('hex');
    const cfg = readFileSync(join(runs, 'from-bundle', 'config.yaml'), 'utf8');
    expect(cfg).toContain(`bundle: emotion-vgg-fp32 ${version}`);
    expect(cfg).toContain(`sha256: ${sha}`);
    // Its rounded INT8 sibling is no teacher: refused by name before a run folder exists.
    const int8 = await train([...common, '--run-id', 'from-int8', '--teacher', join(ROOT, 'models', 'emotion-vgg-int8')]);
    expect(int8.code).toBe(64);
    expect(int8.stderr).toMatch(/distill.teachers: .*emotion-vgg-int8 is an int8 bundle \(rounded weights\); use its fp32 sibling/);
    expect(existsSync(join(runs, 'from-int8'))).toBe(false);
  }, 300_000);

  it('refuses a teacher folder without a finished run, naming it, before making a run folder', async () => {
    const notARun = join(tmp, 'not-a-run');
    mkdirSync(notARun);
    const r = await train([...common, '--run-id', 'orphan', '--teacher', notARun]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain(`distill.teachers: ${notARun} has no checkpoints/best.pt`);
    expect(existsSync(join(runs, 'orphan'))).toBe(false);
  });
  it('refuses to resume a student whose teacher checkpoint changed since it started, naming it', async () => {
    const moved = join(tmp, 'teacher-copy');
    cpSync(join(runs, 'teacher'), moved, { recursive: true });
    const first = await train([...common, '--run-id', 'halfway', '--teacher', moved, '--epochs', '2', '--stop-after', '1']);
    expect(first.code, first.stderr.slice(-2000)).toBe(0);
    // The teacher run is "trained further": same file, other bytes.
    const best = join(moved, 'checkpoints', 'best.pt');
    const resave = `import torch,sys; s=torch.load(sys.argv[1]); s['epoch']=99; torch.save(s, sys.argv[1])`;
    execFileSync(PYTHON, ['-c', resave, best]);
    const r = await train(['--resume', 'halfway', '--out', runs, '--no-export']);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain(`distill.teachers: ${moved}/checkpoints/best.pt changed since this run started`);
    expect(readFileSync(join(runs, 'halfway', 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
  }, 300_000);
});
