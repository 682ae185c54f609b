// The real `emotion-agent` command in a child process: help, errors and exit codes, and analyze /
// evaluate end to end on real images, a real video and real models.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MODELS, ROOT, sample, TSX } from './helpers/paths.js';

const tmp = mkdtempSync(join(tmpdir(), 'ea-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// Runs the TypeScript sources, so the test never sees a stale dist/.

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', TSX, join(ROOT, 'src', 'cli.ts'), ...args], {
    cwd: tmp,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('emotion-agent CLI', () => {
  it('--help lists the subcommands', () => {
    const r = cli('--help');
    expect(r.code).toBe(0);
    for (const c of ['analyze', 'evaluate', 'models']) expect(r.stdout).toContain(c);
  });

  it('an unknown subcommand is a usage error (64)', () => {
    const r = cli('frobnicate');
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it('analyze: a missing input exits 66 naming it', () => {
    const r = cli('analyze', 'no-such-file.jpg');
    expect(r.code).toBe(66);
    expect(r.stderr).toContain('input not found: no-such-file.jpg');
  });

  it('analyze: a file that is not an image names the file', () => {
    writeFileSync(join(tmp, 'fake.jpg'), 'not a jpeg');
    const r = cli('analyze', 'fake.jpg');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot decode image .*fake\.jpg/);
  });

  it('analyze: a bad option value is a usage error', () => {
    const r = cli('analyze', sample(1), '--threads', 'many');
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/"many" is not a whole number/);
  });

  it('analyze: a broken model bundle exits 65 naming the field', () => {
    const dir = join(tmp, 'broken-bundle');
    cpSync(join(MODELS, 'emotion-fp32', 'manifest.json'), join(dir, 'manifest.json'), { recursive: true });
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    m.task = 'emotion';
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    const r = cli('analyze', sample(1), '--classifier', dir);
    expect(r.code).toBe(65);
    expect(r.stderr).toMatch(/broken-bundle: invalid manifest: task: must be one of/);
  });

  it('analyze: an unreachable stream fails with the password redacted', () => {
    const r = cli('analyze', 'rtsp://admin:s3cret@127.0.0.1:1/stream');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('rtsp://***@127.0.0.1:1/stream');
    expect(r.stderr).not.toContain('s3cret');
  });

  it('analyze --json on a photo prints every face with box, score, emotion and probabilities', () => {
    const r = cli('analyze', sample(3), '--json', '--annotate', 'out.jpg');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const frame = JSON.parse(lines[0]!) as {
      faces: { box: { width: number }; score: number; emotion: string; probabilities: Record<string, number> }[];
    };
    expect(frame.faces).toHaveLength(3);
    for (const f of frame.faces) {
      expect(f.box.width).toBeGreaterThan(100);
      expect(Object.keys(f.probabilities)).toEqual(['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral']);
      expect(Object.values(f.probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 2);
    }
    expect(existsSync(join(tmp, 'out.jpg'))).toBe(true);
  });

  it('analyze on a video: one line per analysed frame, annotated MP4 written', () => {
    const clip = join(ROOT, 'var', 'demo', 'demo.mp4');
    expect(existsSync(clip), 'the demo clip is made by scripts/setup.sh').toBe(true);
    const r = cli('analyze', clip, '--fps', '2', '--max-frames', '3', '--annotate', 'out.mp4');
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^frame \d+ /gm)).toHaveLength(3);
    expect(r.stdout).toMatch(/face \d+%/);
    const probe = spawnSync(
      'ffprobe',
      [
        '-v',
        'error',
        '-count_frames',
        '-show_entries',
        'stream=nb_read_frames,width',
        '-of',
        'csv=p=0',
        join(tmp, 'out.mp4'),
      ],
      { encoding: 'utf8' },
    );
    expect(probe.stdout.trim()).toBe('1280,3');
  });

  it('evaluate: missing data exits 66 naming the path', () => {
    const r = cli('evaluate', '--data', 'nowhere');
    expect(r.code).toBe(66);
    expect(r.stderr).toContain('evaluation data not found: nowhere');
  });

  it('evaluate: an unknown class folder is named', () => {
    mkdirSync(join(tmp, 'ds', 'happy'), { recursive: true });
    mkdirSync(join(tmp, 'ds', 'bored'), { recursive: true });
    cpSync(sample(1), join(tmp, 'ds', 'happy', 'a.jpg'));
    const r = cli('evaluate', '--data', 'ds');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bored/);
  });

  it('evaluate --detector wants a boxes.jsonl, not a folder', () => {
    const r = cli('evaluate', '--detector', '--data', 'ds');
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/needs a boxes\.jsonl file/);
  });

  it('evaluate --json on a tiny labelled set writes report.json and report.html', () => {
    const dir = join(tmp, 'tiny');
    for (const [i, label] of [
      [1, 'happy'],
      [3, 'happy'],
      [2, 'neutral'],
    ] as const) {
      mkdirSync(join(dir, label), { recursive: true });
      cpSync(sample(i), join(dir, label, `s${i}.jpg`));
    }
    const r = cli('evaluate', '--data', 'tiny', '--out', 'rep', '--json');
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout) as Record<string, unknown>;
    for (const k of ['accuracy', 'macroF1', 'perClass', 'confusion', 'rocAuc', 'msPerFace'])
      expect(rep).toHaveProperty(k);
    expect(rep.samples).toBe(3);
    expect(readFileSync(join(tmp, 'rep', 'report.html'), 'utf8')).toContain('<svg');
    expect(JSON.parse(readFileSync(join(tmp, 'rep', 'report.json'), 'utf8'))).toHaveProperty('confusion');
  });

  it('models list shows the shipped bundles and marks the defaults', () => {
    const r = cli('models', 'list', '--json');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { task: string; default: boolean }[];
    expect(
      rows
        .filter((x) => x.default)
        .map((x) => x.task)
        .sort(),
    ).toEqual(['emotion-classifier', 'face-detector']);
  });
});
