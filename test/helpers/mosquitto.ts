// A real Mosquitto broker for tests: config in a temp dir, a free port on 127.0.0.1, no persistence
// by default (a restart forgets retained messages and sessions, like a broker that lost its disk).
// stop() and restart() keep the port, so clients reconnect to the same URL.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { freePort } from './net.js';

export { freePort };
export const MOSQUITTO = '/usr/sbin/mosquitto';

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`mosquitto did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface MosquittoOptions {
  /** user → password; when set, anonymous clients are refused. */
  users?: Record<string, string>;
  /** PEM files: the listener speaks TLS (mqtts://) with this server certificate. */
  tls?: { cert: string; key: string };
  /**
   * Keep sessions, subscriptions and queued QoS 1 messages across stop()/restart() (saved to the temp
   * dir on SIGTERM), like a production broker: a subscriber with a persistent session then misses
   * nothing published while it was still reconnecting after a restart.
   */
  persistence?: boolean;
}

export class Mosquitto {
  private proc: ChildProcess | undefined;
  private output = '';

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly conf: string,
    private readonly tls: boolean,
  ) {}

  get url(): string {
    return `${this.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`;
  }

  /** What the broker printed (for failure messages). */
  get log(): string {
    return this.output;
  }

  static async start(opts: MosquittoOptions = {}): Promise<Mosquitto> {
    const dir = mkdtempSync(join(tmpdir(), 'ea-mosquitto-'));
    const port = await freePort();
    const lines = [`listener ${port} 127.0.0.1`, 'log_dest stderr', 'user root'];
    lines.push(...(opts.persistence ? ['persistence true', `persistence_location ${dir}/`] : ['persistence false']));
    if (opts.tls) lines.push(`certfile ${opts.tls.cert}`, `keyfile ${opts.tls.key}`);
    if (opts.users) {
      const pw = join(dir, 'passwd');
      writeFileSync(pw, '');
      for (const [u, p] of Object.entries(opts.users)) execFileSync('mosquitto_passwd', ['-b', pw, u, p]);
      lines.push('allow_anonymous false', `password_file ${pw}`);
    } else {
      lines.push('allow_anonymous true');
    }
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(conf, `${lines.join('\n')}\n`);
    const m = new Mosquitto(dir, port, conf, Boolean(opts.tls));
    await m.run();
    return m;
  }

  private async run(): Promise<void> {
    const proc = spawn(MOSQUITTO, ['-c', this.conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout.on('data', (d: Buffer) => {
      this.output += d.toString();
    });
    proc.stderr.on('data', (d: Buffer) => {
      this.output += d.toString();
    });
    this.proc = proc;
    await waitForPort(this.port, 5000);
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    await exited;
  }

  /** Freezes the broker (SIGSTOP): connections stay open, nothing is read or acknowledged. */
  pause(): void {
    this.proc?.kill('SIGSTOP');
  }

  /** Lets a paused broker run again (SIGCONT); it then reads what was sent meanwhile. */
  resume(): void {
    this.proc?.kill('SIGCONT');
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.run();
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
