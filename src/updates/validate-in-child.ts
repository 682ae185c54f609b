// Runs `models validate` in a child process: validation loads and runs ONNX Runtime (synchronous, CPU
// heavy) and must never stall the agent's event loop or its inference worker; a model that crashes
// ONNX Runtime takes down only the child. The child gets its own ONNX Runtime but no OpenCV.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Task } from '../models/manifest.js';
import type { ValidationResult } from '../models/validate-candidate.js';

/** node arguments that start this package's CLI: the compiled one, or the TypeScript sources through tsx. */
export function cliCommand(): string[] {
  const ts = import.meta.url.endsWith('.ts');
  const cli = fileURLToPath(new URL(ts ? '../cli.ts' : '../cli.js', import.meta.url));
  // tsx by absolute URL: a bare `--import tsx` resolves from the working directory, which may be anywhere.
  return ts ? ['--import', import.meta.resolve('tsx'), cli] : [cli];
}

export interface ValidatorOptions {
  task: Task;
  baseline?: string;
  latencyMultiple: number;
  timeoutMs: number;
}

export function validateInChild(dir: string, opts: ValidatorOptions): Promise<ValidationResult> {
  const args = [
    ...cliCommand(),
    'models',
    'validate',
    dir,
    '--task',
    opts.task,
    '--latency-multiple',
    String(opts.latencyMultiple),
    ...(opts.baseline ? ['--baseline', opts.baseline] : []),
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-2000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, error: `validator could not start: ${e.message}` });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').at(-1) ?? '';
      try {
        const r = JSON.parse(line) as ValidationResult;
        if (typeof r.ok === 'boolean') return resolve(r);
      } catch {
        /* fall through: the child died before it could answer */
      }
      const why =
        signal === 'SIGKILL'
          ? `timed out after ${opts.timeoutMs} ms`
          : signal
            ? `killed by ${signal}`
            : `exited with code ${code}`;
      resolve({ ok: false, error: `validation crashed (${why}): ${err.trim().split('\n').at(-1) ?? ''}`.trim() });
    });
  });
}
