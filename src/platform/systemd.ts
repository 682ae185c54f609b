// What the daemon tells systemd, and when (Type=notify with WatchdogSec=; deploy/systemd/).
//
// - STATUS=loading models, while the models load.
// - READY=1 once every enabled camera's pipeline has analysed a frame, or at the latest firstFrameWaitMs
//   after the models loaded. The bound is deliberate: a camera that is unplugged or unreachable at boot is
//   not the agent's fault, restarting would not bring it back, and the other cameras must run; so it
//   delays READY by at most this long and is named in STATUS (and logged) instead of failing the unit.
// - WATCHDOG=1 every WATCHDOG_USEC/2, only while agent.healthy() holds, so a hung inference worker or
//   event loop gets the process restarted. Camera and broker outages do not count (src/health/readiness.ts).
// - STATUS= whenever its text changes: ready, degraded (readiness reasons) or unhealthy (health reasons).
// - STOPPING=1 when shutting down.
import type { Logger } from 'pino';
import type { SdNotify } from './sd-notify.js';

/** A verdict with the reasons against it: src/health/readiness.ts's Readiness, declared here so platform imports nothing above it. */
export interface Verdict {
  ready: boolean;
  reasons: readonly string[];
}

/** The part of the Agent this needs (src/app.ts). */
export interface SupervisedAgent {
  readiness(): Verdict;
  healthy(): Verdict;
  status(): { cameras: readonly { capture: { id: string }; pipeline: { lastAnalysedAgeMs: number | null } }[] };
}

export interface ServiceNotifierOptions {
  /** Watchdog ping interval (watchdogIntervalMs()); null: no watchdog. */
  watchdogMs: number | null;
  /** Longest wait for every camera's first analysed frame before READY=1. Default 30 s. */
  firstFrameWaitMs?: number;
  /** How often to look for first frames while waiting. Default 250 ms. */
  pollMs?: number;
  /** How often STATUS is refreshed when there is no watchdog. Default 10 s. */
  statusEveryMs?: number;
}

/** systemctl status shows one line; long reason lists are cut. */
const MAX_STATUS = 240;
const clip = (s: string): string => (s.length > MAX_STATUS ? `${s.slice(0, MAX_STATUS - 1)}…` : s);

export class ServiceNotifier {
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private lastStatus: string | undefined;
  private withholding = false;
  private readySent = false;
  private failure = false;
  /** Ends the first-frame wait early when stopping() is called. */
  private wake: (() => void) | undefined;

  constructor(
    private readonly sd: SdNotify,
    private readonly log: Logger,
    private readonly opts: ServiceNotifierOptions,
  ) {}

  get isReady(): boolean {
    return this.readySent;
  }

  /** Before agent.start(): tells `systemctl status` what the wait is about. */
  starting(): Promise<void> {
    return this.setStatus('starting: loading models');
  }

  /** agent.start() failed: the reason stays visible in `systemctl status` after the unit failed. */
  failed(reason: string): Promise<void> {
    this.failure = true;
    return this.setStatus(`start failed: ${reason}`);
  }

  /**
   * After agent.start() resolved: waits for first frames (bounded), sends READY=1, then keeps the
   * watchdog and STATUS going until stopping(). Never rejects; resolves once READY=1 was sent (or stopping
   * began first).
   */
  async started(agent: SupervisedAgent): Promise<void> {
    try {
      await this.announceReady(agent);
    } catch (err) {
      // A fault here must not take the agent down; without READY=1 systemd's start timeout acts.
      this.log.error({ err }, 'could not notify systemd of readiness');
    }
  }

  private async announceReady(agent: SupervisedAgent): Promise<void> {
    const waitMs = this.opts.firstFrameWaitMs ?? 30_000;
    const deadline = Date.now() + waitMs;
    let waiting = this.camerasWithoutFrame(agent);
    while (waiting.length > 0 && Date.now() < deadline && !this.stopped) {
      void this.setStatus(`starting: waiting for a first frame from ${waiting.join(', ')}`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, Math.min(this.opts.pollMs ?? 250, Math.max(0, deadline - Date.now())));
      });
      this.wake = undefined;
      waiting = this.camerasWithoutFrame(agent);
    }
    if (this.stopped) return;
    if (waiting.length > 0) {
      this.log.warn(
        { cameras: waiting, waitedS: Math.round(waitMs / 1000) },
        'ready without a first frame from every camera (the others run; these keep reconnecting)',
      );
    }
    const status = this.statusText(agent);
    this.lastStatus = status;
    await this.sd.send({ READY: '1', STATUS: status });
    this.readySent = true;
    if (this.stopped) return;
    const tick = (): void => {
      try {
        this.tick(agent);
      } catch (err) {
        // Logged, not thrown from a timer (which would be fatal); with no pings the watchdog acts.
        this.log.error({ err }, 'watchdog check failed');
      }
    };
    tick();
    this.timer = setInterval(tick, this.opts.watchdogMs ?? this.opts.statusEveryMs ?? 10_000);
    // Never what keeps the process alive: signals and the agent decide that.
    this.timer.unref();
  }

  /** Stops pings and status updates and sends STOPPING=1; resolves when it was delivered (or dropped). */
  stopping(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.timer);
    this.wake?.();
    // After a failed start the failure stays the status: it is what `systemctl status` should show.
    return this.sd.send(this.failure ? { STOPPING: '1' } : { STOPPING: '1', STATUS: 'stopping' });
  }

  private tick(agent: SupervisedAgent): void {
    if (this.stopped) return;
    const health = agent.healthy();
    const fields: Record<string, string> = {};
    if (health.ready) {
      if (this.opts.watchdogMs !== null) fields.WATCHDOG = '1';
      if (this.withholding) this.log.info('healthy again: watchdog pings resumed');
      this.withholding = false;
    } else if (!this.withholding) {
      this.withholding = true;
      this.log.warn(
        { reasons: health.reasons, watchdog: this.opts.watchdogMs !== null },
        'unhealthy: watchdog pings withheld (systemd restarts the agent when this lasts WatchdogSec)',
      );
    }
    const status = health.ready ? this.statusText(agent) : clip(`unhealthy: ${health.reasons.join('; ')}`);
    if (status !== this.lastStatus) {
      fields.STATUS = status;
      this.lastStatus = status;
    }
    if (Object.keys(fields).length > 0) void this.sd.send(fields);
  }

  private setStatus(text: string): Promise<void> {
    if (text === this.lastStatus) return Promise.resolve();
    this.lastStatus = text;
    return this.sd.send({ STATUS: clip(text) });
  }

  private camerasWithoutFrame(agent: SupervisedAgent): string[] {
    return agent
      .status()
      .cameras.filter((c) => c.pipeline.lastAnalysedAgeMs === null)
      .map((c) => c.capture.id);
  }

  private statusText(agent: SupervisedAgent): string {
    const r = agent.readiness();
    const n = agent.status().cameras.length;
    return r.ready ? `ready: ${n} camera${n === 1 ? '' : 's'} analysing` : clip(`degraded: ${r.reasons.join('; ')}`);
  }
}
