// A real RTSP server for capture tests (test/helpers/rtsp_server.py: GStreamer's gst-rtsp-server),
// on loopback, that a test can kill (a camera losing power), freeze (SIGSTOP: a camera that hangs
// with the connection open) and bring back on the same port.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './net.js';
import { ROOT } from './paths.js';

export { freePort };

/** Debian's python: it has PyGObject and the GStreamer typelibs (a pyenv python on PATH may not). */
export const SYSTEM_PYTHON = '/usr/bin/python3';
const SCRIPT = join(ROOT, 'test', 'helpers', 'rtsp_server.py');

export interface RtspServerOptions {
  /** H.264 MP4 to serve in a loop. */
  file: string;
  user?: string;
  password?: string;
  port?: number;
}

/** Why the RTSP server cannot run here, or null when it can. */
export function rtspServerUnavailable(): string | null {
  if (!existsSync(SYSTEM_PYTHON)) return `${SYSTEM_PYTHON} not found`;
  return null;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host: '127.0.0.1' });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

export class RtspTestServer {
  private proc: ChildProcess | null = null;
  private stderr = '';

  private constructor(
    private readonly opts: RtspServerOptions,
    readonly port: number,
  ) {}

  static async start(opts: RtspServerOptions): Promise<RtspTestServer> {
    const server = new RtspTestServer(opts, opts.port ?? (await freePort()));
    await server.restart();
    return server;
  }

  /** rtsp://127.0.0.1:PORT/cam, without credentials. */
  get url(): string {
    return `rtsp://127.0.0.1:${this.port}/cam`;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** (Re)starts the server on the same port and waits until it accepts connections. */
  async restart(): Promise<void> {
    if (this.proc) return;
    const args = [SCRIPT, '--port', String(this.port), '--file', this.opts.file];
    if (this.opts.user !== undefined) args.push('--user', this.opts.user, '--password', this.opts.password ?? '');
    const proc = spawn(SYSTEM_PYTHON, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = proc;
    this.stderr = '';
    proc.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    proc.once('exit', () => {
      if (this.proc === proc) this.proc = null;
    });
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (this.proc !== proc) throw new Error(`rtsp server exited: ${this.stderr.trim()}`);
      if (await accepts(this.port)) return;
      await sleep(50);
    }
    proc.kill('SIGKILL');
    throw new Error(`rtsp server did not listen on ${this.port}: ${this.stderr.trim()}`);
  }

  /** SIGKILL, like a camera losing power; resolves once it is gone. */
  async kill(): Promise<void> {
    await this.signalAndWait('SIGKILL');
  }

  /** Freezes the server with its connections open (a hung camera). */
  pause(): void {
    this.proc?.kill('SIGSTOP');
  }

  resume(): void {
    this.proc?.kill('SIGCONT');
  }

  async close(): Promise<void> {
    this.resume();
    await this.signalAndWait('SIGTERM');
  }

  private async signalAndWait(sig: NodeJS.Signals): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill(sig);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 3_000);
    await gone;
    clearTimeout(timer);
  }
}
