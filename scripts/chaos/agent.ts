// The agent under chaos: `emotion-agent run` as a real process (inference worker, FFmpeg/GStreamer
// children), its stdout and stderr appended to one log file across restarts, its resident memory
// sampled, and every exit we did not cause counted as a crash (and the agent started again, so the run
// goes on and the crash is reported rather than ending it).
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, TSX } from '../../test/helpers/paths.js';

export interface Crash {
  at: string;
  code: number | null;
  signal: string | null;
  tail: string;
}

export class ChaosAgent {
  readonly crashes: Crash[] = [];
  maxRssBytes = 0;
  starts = 0;
  private child: ChildProcess | undefined;
  private expectedExit = false;
  private tail = '';
  private rssTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly env: Record<string, string>,
    private readonly logFile: string,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  start(): void {
    if (this.child) return;
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EMOTION_AGENT_')));
    const child = spawn(process.execPath, ['--import', TSX, join(ROOT, 'src', 'cli.ts'), 'run'], {
      cwd: ROOT,
      env: { ...base, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.starts += 1;
    this.expectedExit = false;
    const keep = (d: Buffer): void => {
      appendFileSync(this.logFile, d);
      this.tail = (this.tail + d.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (!this.expectedExit) {
        this.crashes.push({ at: new Date().toISOString(), code, signal, tail: this.tail.slice(-1500) });
        setTimeout(() => this.start(), 1000).unref(); // a supervisor would restart it too
      }
    });
    this.child = child;
    this.rssTimer ??= setInterval(() => this.sampleRss(), 1000);
  }

  /** SIGKILL (a power cut of the process) or SIGTERM (a clean stop); resolves when it is gone. */
  async stop(signal: 'SIGKILL' | 'SIGTERM', timeoutMs = 30_000): Promise<number | null> {
    const c = this.child;
    if (!c) return null;
    this.expectedExit = true;
    const exited = new Promise<number | null>((r) => c.once('exit', (code) => r(code)));
    c.kill(signal);
    const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }

  dispose(): void {
    clearInterval(this.rssTimer);
  }

  log(): string {
    return readFileSync(this.logFile, 'utf8');
  }

  private sampleRss(): void {
    const pid = this.child?.pid;
    if (!pid) return;
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) this.maxRssBytes = Math.max(this.maxRssBytes, Number(m[1]) * 1024);
    } catch {
      // exited between the check and the read
    }
  }
}
