// sd_notify through the real systemd-notify binary to a real AF_UNIX datagram socket (notify_listener.py),
// and the notification policy (READY, STATUS, WATCHDOG only while healthy, STOPPING) on top of it.
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Readiness } from '../../src/health/readiness.js';
import { formatFields, SdNotify, watchdogIntervalMs } from '../../src/platform/sd-notify.js';
import { ServiceNotifier, type SupervisedAgent } from '../../src/platform/systemd.js';
import { NotifyListener } from './notify-listener.js';

const log = pino({ level: 'silent' });
let listener: NotifyListener;
beforeEach(async () => {
  listener = new NotifyListener();
  await listener.start();
});
afterEach(() => listener.stop());

/**
 * Everything sent before this call has been received: systemd-notify returns only after the listener
 * closed its barrier fd, messages are sent one at a time, and the listener prints them in order.
 */
let markers = 0;
async function settled(sd: SdNotify): Promise<void> {
  const id = String(++markers);
  await sd.send({ X_TEST_MARKER: id });
  await listener.waitFor((d) => d.fields.X_TEST_MARKER === id);
}

/** An agent whose cameras and health the test sets; it counts how often it was asked. */
class TestAgent implements SupervisedAgent {
  health: Readiness = { ready: true, reasons: [] };
  healthChecks = 0;
  statusCalls = 0;
  constructor(readonly cameras: { id: string; analyzed: boolean }[]) {}
  readiness(): Readiness {
    const missing = this.cameras.filter((c) => !c.analyzed);
    return {
      ready: missing.length === 0,
      reasons: missing.map((c) => `camera ${c.id}: no frame yet (backoff: connection refused)`),
    };
  }
  healthy(): Readiness {
    this.healthChecks++;
    return this.health;
  }
  status(): ReturnType<SupervisedAgent['status']> {
    this.statusCalls++;
    return {
      cameras: this.cameras.map((c) => ({
        capture: { id: c.id },
        pipeline: { lastAnalysedAgeMs: c.analyzed ? 5 : null },
      })),
    };
  }
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
}

describe('SdNotify (systemd-notify to a unix datagram socket)', () => {
  it('sends all fields of a call in one datagram, in call order, each followed by the barrier', async () => {
    const sd = new SdNotify({ socket: listener.socket });
    void sd.send({ STATUS: 'loading models' });
    await sd.send({ READY: '1', STATUS: 'ready: 1 camera analysing' });
    await settled(sd);
    expect(listener.messages.map((d) => d.text).slice(0, 2)).toEqual([
      'STATUS=loading models',
      'READY=1\nSTATUS=ready: 1 camera analysing',
    ]);
    // One barrier per systemd-notify run: the reason short-lived senders are attributed to the unit.
    expect(listener.barriers).toBe(3);
  });

  it('a newline in a value cannot smuggle in another variable; bad names are refused', async () => {
    const sd = new SdNotify({ socket: listener.socket });
    await sd.send({ STATUS: 'camera a: down\nREADY=1' });
    await settled(sd);
    expect(listener.messages[0]!.fields).toEqual({ STATUS: 'camera a: down READY=1' });
    expect(() => formatFields({ 'READY=1\nX': '1' })).toThrow(/invalid variable name/);
  });

  it('without the helper it reports once, resolves, and drops later messages without trying again', async () => {
    const errors: string[] = [];
    const sd = new SdNotify({
      socket: listener.socket,
      command: '/nonexistent/systemd-notify',
      onError: (e) => errors.push(e.message),
    });
    await sd.send({ READY: '1' });
    await sd.send({ WATCHDOG: '1' });
    expect(errors).toEqual(['/nonexistent/systemd-notify not found: systemd notifications are off']);
    expect(listener.messages).toEqual([]);
  });

  it('a socket nobody listens on is reported once per run of failures, not on every ping', async () => {
    const errors: string[] = [];
    const dead = new SdNotify({ socket: `${listener.socket}.gone`, onError: (e) => errors.push(e.message) });
    for (let i = 0; i < 3; i++) await dead.send({ WATCHDOG: '1' });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/systemd-notify WATCHDOG failed \(exit \d+\): .+/);
  });

  it('watchdog interval: half of WATCHDOG_USEC, only for the PID systemd named', () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' }, 42)).toBe(15_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42)).toBe(15_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '7' }, 42)).toBeNull();
    expect(watchdogIntervalMs({}, 42)).toBeNull();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '0' }, 42)).toBeNull();
  });
});

describe('ServiceNotifier', () => {
  it('READY=1 only once every camera analysed a frame; STATUS says what it waits for', async () => {
    const sd = new SdNotify({ socket: listener.socket });
    const agent = new TestAgent([
      { id: 'door', analyzed: true },
      { id: 'hall', analyzed: false },
    ]);
    const notifier = new ServiceNotifier(sd, log, { watchdogMs: null, pollMs: 5, firstFrameWaitMs: 600_000 });
    await notifier.starting();
    const ready = notifier.started(agent);
    // Polled several times while "hall" has no frame, and READY is still not sent.
    await until(() => agent.statusCalls >= 5);
    await settled(sd);
    expect(listener.with('READY')).toEqual([]);
    expect(listener.messages[0]!.fields.STATUS).toBe('starting: loading models');
    expect(listener.messages[1]!.fields.STATUS).toBe('starting: waiting for a first frame from hall');
    agent.cameras[1]!.analyzed = true;
    await ready;
    expect(notifier.isReady).toBe(true);
    const r = await listener.waitFor((d) => d.fields.READY === '1');
    expect(r.fields.STATUS).toBe('ready: 2 cameras analysing');
    await notifier.stopping();
  });

  it('a camera that never delivers delays READY only up to the bound, and is named in STATUS', async () => {
    const sd = new SdNotify({ socket: listener.socket });
    const agent = new TestAgent([
      { id: 'door', analyzed: true },
      { id: 'hall', analyzed: false },
    ]);
    const notifier = new ServiceNotifier(sd, log, { watchdogMs: null, pollMs: 5, firstFrameWaitMs: 200 });
    await notifier.started(agent);
    const r = await listener.waitFor((d) => d.fields.READY === '1');
    expect(r.fields.STATUS).toBe('degraded: camera hall: no frame yet (backoff: connection refused)');
    await notifier.stopping();
  });

  it('pings the watchdog while healthy, withholds it while unhealthy, resumes after; STOPPING=1 ends it', async () => {
    const sd = new SdNotify({ socket: listener.socket });
    const agent = new TestAgent([{ id: 'door', analyzed: true }]);
    const notifier = new ServiceNotifier(sd, log, { watchdogMs: 10, pollMs: 5 });
    await notifier.started(agent);
    // READY first, then the pings.
    await listener.waitFor((d) => d.fields.WATCHDOG === '1');
    expect(listener.messages.findIndex((d) => d.fields.READY === '1')).toBeLessThan(
      listener.messages.findIndex((d) => d.fields.WATCHDOG === '1'),
    );
    await until(() => listener.with('WATCHDOG').length >= 3);

    agent.health = { ready: false, reasons: ['camera door: frames arrive but none analysed for 42 s'] };
    const unhealthy = await listener.waitFor((d) => d.fields.STATUS?.startsWith('unhealthy') ?? false);
    expect(unhealthy.fields).toEqual({ STATUS: 'unhealthy: camera door: frames arrive but none analysed for 42 s' });
    const checks = agent.healthChecks;
    await until(() => agent.healthChecks >= checks + 10);
    await settled(sd);
    const during = listener.messages.slice(listener.messages.indexOf(unhealthy));
    expect(during.filter((d) => 'WATCHDOG' in d.fields)).toEqual([]);

    const from = listener.messages.length;
    agent.health = { ready: true, reasons: [] };
    const resumed = await listener.waitFor((d) => d.fields.WATCHDOG === '1', from);
    expect(resumed.fields.STATUS).toBe('ready: 1 camera analysing');

    await notifier.stopping();
    const checksAtStop = agent.healthChecks;
    await new Promise((r) => setTimeout(r, 200));
    await settled(sd);
    expect(agent.healthChecks).toBe(checksAtStop);
    const afterStop = listener.messages.slice(listener.messages.findIndex((d) => d.fields.STOPPING === '1'));
    expect(afterStop[0]!.fields).toEqual({ STOPPING: '1', STATUS: 'stopping' });
    expect(afterStop.filter((d) => 'WATCHDOG' in d.fields)).toEqual([]);
  });

  it('after a failed start the failure stays the status', async () => {
    const sd = new SdNotify({ socket: listener.socket });
    const notifier = new ServiceNotifier(sd, log, { watchdogMs: 10 });
    await notifier.starting();
    await notifier.failed('model bundle /x: not found');
    await notifier.stopping();
    await settled(sd);
    expect(listener.messages.slice(0, 3).map((d) => d.text)).toEqual([
      'STATUS=starting: loading models',
      'STATUS=start failed: model bundle /x: not found',
      'STOPPING=1',
    ]);
  });
});
