// Runs notify_listener.py (a real AF_UNIX datagram socket, as systemd's notification socket is) and
// collects what arrives. BARRIER=1 datagrams are systemd-notify's own handshake, kept apart.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface Datagram {
  text: string;
  fields: Record<string, string>;
}

export class NotifyListener {
  readonly messages: Datagram[] = [];
  barriers = 0;
  private child: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'ea-notify-'));
  readonly socket = join(this.dir, 'notify.sock');

  async start(): Promise<void> {
    const child = spawn('/usr/bin/python3', [join(import.meta.dirname, 'notify_listener.py'), this.socket], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.child = child;
    const lines = createInterface({ input: child.stdout });
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`notify listener exited (${code})`)));
      lines.on('line', (line) => {
        const m = JSON.parse(line) as { listening?: string; text?: string; fds?: number };
        if (m.listening) return resolve();
        if (m.text === undefined) return;
        if (m.text === 'BARRIER=1') {
          this.barriers++;
          return;
        }
        const fields = Object.fromEntries(
          m.text.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
        );
        this.messages.push({ text: m.text, fields });
      });
    });
  }

  /** Resolves with the first message (from index `from` on) that matches. */
  async waitFor(match: (d: Datagram) => boolean, from = 0, timeoutMs = 60_000): Promise<Datagram> {
    const t0 = Date.now();
    for (;;) {
      const hit = this.messages.slice(from).find(match);
      if (hit) return hit;
      if (Date.now() - t0 > timeoutMs)
        throw new Error(`no matching notification; got: ${JSON.stringify(this.messages.map((d) => d.text))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Texts of the messages with this field set. */
  with(field: string): Datagram[] {
    return this.messages.filter((d) => field in d.fields);
  }

  stop(): void {
    this.child?.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
