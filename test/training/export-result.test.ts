// How the export reads train-bundle.ts's end (training/emotion_train/export.py bundle_result): its
// summary line is its last act, so a native teardown crash after it (seen in CI: SIGSEGV while the
// process exited) is reported and the export goes on; a crash or an error before it fails the run.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/paths.js';
import { PYTHON } from './helpers.js';

const SUMMARY = JSON.stringify({ run: '/r', fp32: { dir: '/r/a' }, int8: { dir: '/r/b' } });

/** bundle_result(returncode, stdout) in Debian's Python: its value or error, and the events it printed. */
function bundleResult(returncode: number, stdout: string): { out: string; err: string } {
  const code = [
    'import json, sys',
    'from training.emotion_train.export import bundle_result',
    'class P:',
    '    def event(self, **f): print(json.dumps(f), file=sys.stderr)',
    'try:',
    '    print(json.dumps(bundle_result(int(sys.argv[1]), sys.argv[2], P())))',
    'except RuntimeError as e:',
    '    print("error:", e)',
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', code, String(returncode), stdout], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return { out: r.stdout.trim(), err: r.stderr.trim() };
}

describe('export: the end of train-bundle.ts', () => {
  it('a clean exit returns the summary', () => {
    expect(JSON.parse(bundleResult(0, `progress\n${SUMMARY}\n`).out)).toMatchObject({ run: '/r' });
  });

  it('a crash after the summary is a warning naming the signal, and the summary still counts', () => {
    const r = bundleResult(-11, `${SUMMARY}\n`);
    expect(JSON.parse(r.out)).toMatchObject({ int8: { dir: '/r/b' } });
    expect(JSON.parse(r.err)).toMatchObject({ event: 'warning', message: expect.stringMatching(/signal 11 while exiting/) as unknown });
  });

  it('a crash before the summary, an error exit, or a summary cut short fail the export', () => {
    expect(bundleResult(-11, '').out).toBe('error: train-bundle.ts failed (signal 11) before writing its summary');
    expect(bundleResult(1, `${SUMMARY}\n`).out).toBe('error: train-bundle.ts failed (exit 1) before writing its summary');
    expect(bundleResult(-9, SUMMARY.slice(0, 30)).out).toMatch(/failed \(signal 9\)/);
  });
});
