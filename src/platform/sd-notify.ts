// sd_notify(3) without a native module.
//
// The protocol is one AF_UNIX datagram to $NOTIFY_SOCKET, but Node cannot send those: dgram knows only
// UDP and net only stream sockets. A native addon (or an FFI) would be one more thing to build for every
// Node ABI and architecture, so we run systemd's own `systemd-notify`, which exists wherever systemd
// does. Two consequences, both handled:
//
// - The datagram comes from the systemd-notify process, not from the main PID (run as root it claims its
//   parent's PID, unprivileged it cannot), so the unit needs NotifyAccess=all.
// - systemd attributes a message to a unit through the sender's cgroup, which it can only look up while
//   the sender lives. Since systemd 246, systemd-notify follows its message with BARRIER=1 carrying a pipe
//   fd and waits until the manager closes that fd, i.e. until everything before it has been processed;
//   so the short-lived sender is attributed reliably. We therefore never pass --no-block, and we run one
//   systemd-notify at a time, which also keeps READY before WATCHDOG and STOPPING last.
//
// A message that cannot be delivered is reported to onError and dropped: notification must never stop
// or crash the agent (systemd acts on its absence: start timeout, watchdog).
import { spawn } from 'node:child_process';

/** Variable names as sd_notify defines them (READY, STATUS, WATCHDOG, X_CUSTOM…). */
const NAME = /^[A-Z][A-Z0-9_]*$/;
/** systemd-notify waits up to 5 s for the barrier; this only catches a wedged helper. */
const DEFAULT_TIMEOUT_MS = 15_000;

export type NotifyFields = Readonly<Record<string, string>>;

export interface SdNotifyOptions {
  /** $NOTIFY_SOCKET: a path, or @name for an abstract socket. */
  socket: string;
  /** The helper to run; default `systemd-notify` from PATH. */
  command?: string;
  timeoutMs?: number;
  /** A message could not be delivered (it is dropped). Called once per run of failures. */
  onError?: (err: Error) => void;
}

/** One line per variable; a newline inside a value would start a new variable, so it becomes a space. */
export function formatFields(fields: NotifyFields): string[] {
  return Object.entries(fields).map(([k, v]) => {
    if (!NAME.test(k)) throw new Error(`sd_notify: invalid variable name ${JSON.stringify(k)}`);
    return `${k}=${v.replace(/[\r\n]+/g, ' ')}`;
  });
}

/**
 * The watchdog ping interval in ms (half of WATCHDOG_USEC, as sd_watchdog_enabled(3) advises), or null
 * when systemd expects no pings from this process: unset or zero, or WATCHDOG_PID names another process.
 */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid: number = process.pid): number | null {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isFinite(usec) || usec <= 0) return null;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return null;
  return Math.max(1, Math.floor(usec / 2000));
}

export class SdNotify {
  private chain: Promise<void> = Promise.resolve();
  private disabled = false;
  /** The last delivery failed: further failures are not reported again (a dead socket would otherwise log every ping). */
  private failing = false;

  constructor(private readonly opts: SdNotifyOptions) {}

  /** An SdNotify for $NOTIFY_SOCKET, or null when the process does not run under a notify-aware manager. */
  static fromEnv(env: NodeJS.ProcessEnv, opts: Omit<SdNotifyOptions, 'socket'> = {}): SdNotify | null {
    const socket = env.NOTIFY_SOCKET;
    return socket ? new SdNotify({ ...opts, socket }) : null;
  }

  get socket(): string {
    return this.opts.socket;
  }

  /**
   * Queues one message (all fields in one datagram). Messages leave in call order; the promise resolves
   * once this one was delivered and acknowledged by the barrier, or dropped. It never rejects.
   */
  send(fields: NotifyFields): Promise<void> {
    const lines = formatFields(fields);
    const next = this.chain.then(() => this.deliver(lines));
    this.chain = next;
    return next;
  }

  /** Resolves when every message queued so far has been delivered or dropped. */
  flush(): Promise<void> {
    return this.chain;
  }

  private deliver(lines: string[]): Promise<void> {
    if (this.disabled || lines.length === 0) return Promise.resolve();
    const command = this.opts.command ?? 'systemd-notify';
    return new Promise<void>((resolve) => {
      let stderr = '';
      let settled = false;
      const done = (err?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err && !this.failing) this.opts.onError?.(err);
        this.failing = err !== undefined;
        resolve();
      };
      // `--`: a value can never be taken for an option. NOTIFY_SOCKET is passed explicitly because the
      // daemon removes it from its own environment (so FFmpeg and GStreamer children do not inherit it).
      const child = spawn(command, ['--', ...lines], {
        env: { ...process.env, NOTIFY_SOCKET: this.opts.socket },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        done(new Error(`${command} did not finish within ${this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`));
      }, this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      child.on('error', (err: NodeJS.ErrnoException) => {
        // No helper at all: say so once and stop trying (every later spawn would fail the same way).
        if (err.code === 'ENOENT') {
          this.disabled = true;
          done(new Error(`${command} not found: systemd notifications are off`));
        } else done(err);
      });
      child.on('close', (code, signal) => {
        if (code === 0) done();
        else
          done(
            new Error(
              `${command} ${lines.map((l) => l.split('=')[0]).join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim() || 'no message'}`,
            ),
          );
      });
    });
  }
}
