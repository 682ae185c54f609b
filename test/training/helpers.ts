// Small labelled data folders for training tests, copied from the shared FER-2013 splits: a few
// hundred real faces run a whole pipeline in seconds.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CANONICAL_LABELS } from '../../src/models/manifest.js';
import { ROOT, SHARED } from '../helpers/paths.js';

export const PYTHON = '/usr/bin/python3';
export const FER_TRAIN = join(SHARED, 'fer2013-train');
export const FER_VAL = join(SHARED, 'fer2013-publictest');
/** One of the 12 blank (all black) faces in the Training split. */
export const BLANK_FACE = 'angry/Training_10131352.jpg';

/** Copies the first `perClass` images of every class (plus `extra` relative paths) into `dir`. */
export function miniFolder(src: string, dir: string, perClass: number, extra: string[] = []): string {
  for (const c of CANONICAL_LABELS) {
    mkdirSync(join(dir, c), { recursive: true });
    for (const f of readdirSync(join(src, c)).sort().slice(0, perClass)) copyFileSync(join(src, c, f), join(dir, c, f));
  }
  for (const rel of extra) copyFileSync(join(src, rel), join(dir, rel));
  return dir;
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the training CLI (`python3 -m training.emotion_train ...`) from the repository root. */
export function train(args: string[], onStderr?: (chunk: string, kill: () => void) => void): Promise<Run> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(PYTHON, ['-m', 'training.emotion_train', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr, () => child.kill('SIGKILL'));
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolveRun({ code, signal, stdout, stderr }));
  });
}

/** The JSON lines a run printed (progress, epochs, export events). */
export function events(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
