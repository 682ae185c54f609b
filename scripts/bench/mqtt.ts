// MQTT benchmark (`npm run bench -- --only mqtt`): the MqttSink and its durable outbox, opened as the
// agent opens it (WAL, synchronous=FULL: one fsync per stored window and one per acknowledged one),
// publishing to a real Mosquitto with QoS 1.
//   (a) end to end: windows/s from write() to PUBACK and the row deleted, with a QoS 1 subscriber that
//       must receive every window (a run that loses windows measures nothing); the write-only rate
//       into the outbox, broker away;
//   (b) RSS and outbox file size with 10,000 windows queued while the broker is away, against RSS
//       before queueing; then the drain rate once the broker is back.
// The measuring runs in a child process (this file as the entry point), so RSS is the sink's alone
// (the parent may hold models from the other benchmarks), with --expose-gc to read RSS after a GC.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as tick } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PACKAGE_ROOT } from '../../src/models/defaults.js';
import type { MqttSink } from '../../src/mqtt/sink.js';
import type { WindowPayload } from '../../src/mqtt/topics.js';
import { MOSQUITTO, Mosquitto } from '../../test/helpers/mosquitto.js';
import { listen, testSink, type TestDevice } from '../../test/helpers/mqtt.js';
import { testWindow } from '../../test/helpers/windows.js';

export interface MqttBenchResult {
  date: string;
  mosquitto: string;
  /**
   * write() → PUBACK and row deleted, as fast as it goes (the writer yields after each write, so writes
   * and the drain interleave), every window checked at a QoS 1 subscriber.
   */
  endToEnd: { windows: number; seconds: number; windowsPerS: number; received: number };
  /** One window at a time, the next written once the last is acked: write() → row deleted, unloaded. */
  ackLatencyMs: { windows: number; p50: number; p99: number; max: number };
  /**
   * write() alone with the broker away: the INSERT, the bound check and the fsync. The first and last
   * 1,000 writes separately, because the bound check counts the rows on every write (grows with the queue).
   */
  writeOnly: {
    windows: number;
    seconds: number;
    windowsPerS: number;
    msPerWindow: number;
    msPerWindowFirst1000: number;
    msPerWindowLast1000: number;
  };
  /** Memory with the windows of (b) queued; RSS and heap read after a GC. */
  queued: {
    windows: number;
    rssBeforeMB: number;
    rssAfterMB: number;
    rssAfterDrainMB: number;
    heapBeforeMB: number;
    heapAfterMB: number;
    outboxMB: { db: number; wal: number };
    bytesPerWindow: number;
  };
  /** From the reconnect to an empty outbox, nothing written meanwhile. */
  drain: { windows: number; seconds: number; windowsPerS: number };
}

const SELF = fileURLToPath(import.meta.url);
const TSX = pathToFileURL(join(PACKAGE_ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const MB = 2 ** 20;

/** Runs the measurement in a fresh process, prints a table, returns the figures. */
export function benchMqtt(windows = 5000, queued = 10_000): MqttBenchResult {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', TSX, SELF, String(windows), String(queued)], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`mqtt bench failed: ${r.stderr}`);
  const res = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as MqttBenchResult;
  const f = (v: number, d = 1): string => v.toFixed(d);
  const { endToEnd: e, ackLatencyMs: l, writeOnly: w, queued: q, drain: dr } = res;
  console.log(`\nMQTT (${res.mosquitto}; outbox WAL + synchronous=FULL; QoS 1, one message in flight)`);
  console.log('phase                                          windows  seconds  windows/s  notes');
  console.log(
    `end to end: write -> PUBACK, row deleted       ${String(e.windows).padStart(7)}  ${f(e.seconds, 2).padStart(7)}  ${f(e.windowsPerS).padStart(9)}  received ${e.received}/${e.windows} at the subscriber`,
  );
  console.log(
    `one at a time: write -> row deleted            ${String(l.windows).padStart(7)}                      p50 ${f(l.p50, 2)} ms, p99 ${f(l.p99, 2)} ms, max ${f(l.max, 2)} ms`,
  );
  console.log(
    `write only (broker away)                       ${String(w.windows).padStart(7)}  ${f(w.seconds, 2).padStart(7)}  ${f(w.windowsPerS).padStart(9)}  ${f(w.msPerWindow, 2)} ms per write() (first 1,000 ${f(w.msPerWindowFirst1000, 2)} ms, last 1,000 ${f(w.msPerWindowLast1000, 2)} ms)`,
  );
  console.log(
    `drain after the broker is back                 ${String(dr.windows).padStart(7)}  ${f(dr.seconds, 2).padStart(7)}  ${f(dr.windowsPerS).padStart(9)}`,
  );
  console.log(
    `RSS ${f(q.rssBeforeMB)} MB before queueing -> ${f(q.rssAfterMB)} MB with ${q.windows} windows queued (+${f(q.rssAfterMB - q.rssBeforeMB)} MB; heap ${f(q.heapBeforeMB)} -> ${f(q.heapAfterMB)} MB) -> ${f(q.rssAfterDrainMB)} MB drained; outbox ${f(q.outboxMB.db + q.outboxMB.wal)} MB (db ${f(q.outboxMB.db)} + WAL ${f(q.outboxMB.wal)}), ${f(q.bytesPerWindow, 0)} bytes per window`,
  );
  return res;
}

async function waitFor(cond: () => boolean, what: string, ms = 600_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};

function memory(): { rss: number; heap: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss / MB, heap: m.heapUsed / MB };
}

const fileMB = (p: string): number => (existsSync(p) ? statSync(p).size / MB : 0);

/** A sink whose outbox never drops during the run (the bound is not what is measured). */
const benchSink = (d: TestDevice, url: string): MqttSink =>
  testSink(d, url, { outbox: { maxRows: 1_000_000, maxAgeS: 86_400 }, client: { reconnectMs: 200 } });

async function endToEnd(
  broker: Mosquitto,
  dir: string,
  n: number,
): Promise<Pick<MqttBenchResult, 'endToEnd' | 'ackLatencyMs'>> {
  const d = { id: 'bench-e2e', root: 'bench/e2e', outbox: join(dir, 'e2e.db') };
  const sub = await listen(broker.url, `${d.root}/cameras/+/window`);
  const received = new Set<number>();
  sub.client.on('message', (_t, p) => received.add((JSON.parse(p.toString()) as WindowPayload).seq));
  const sink = benchSink(d, broker.url);
  await sink.start();
  await waitFor(() => sink.stats().connected, 'connect', 10_000);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    await sink.write(testWindow(i));
    await tick(); // let the PUBACKs in: the agent writes between other work, not in one blocking burst
  }
  await waitFor(() => sink.stats().outbox.pending === 0, 'the outbox to empty');
  const seconds = (performance.now() - t0) / 1000;
  await waitFor(() => received.size >= n, 'the subscriber', 10_000).catch(() => undefined);
  const delivered = received.size; // before the latency run adds its own
  if (delivered < n) throw new Error(`the subscriber got ${delivered} of ${n} windows: the rate would be meaningless`);

  // Unloaded latency: polled on every turn of the event loop, so the resolution is well under 1 ms.
  const lat: number[] = [];
  for (let i = 0; i < 500; i++) {
    const t = performance.now();
    await sink.write(testWindow(n + i));
    while (sink.stats().outbox.pending > 0) await tick();
    lat.push(performance.now() - t);
  }
  await sink.stop();
  await sub.client.endAsync();
  return {
    endToEnd: { windows: n, seconds, windowsPerS: n / seconds, received: delivered },
    ackLatencyMs: { windows: lat.length, p50: percentile(lat, 50), p99: percentile(lat, 99), max: Math.max(...lat) },
  };
}

async function queueAndDrain(
  broker: Mosquitto,
  dir: string,
  n: number,
): Promise<Pick<MqttBenchResult, 'writeOnly' | 'queued' | 'drain'>> {
  await broker.stop();
  const d = { id: 'bench-queue', root: 'bench/queue', outbox: join(dir, 'queue.db') };
  const sink = benchSink(d, broker.url);
  await sink.start();
  const before = memory();
  const at: number[] = [performance.now()];
  for (let i = 0; i < n; i++) {
    await sink.write(testWindow(i));
    at.push(performance.now());
  }
  const writeS = (at[n]! - at[0]!) / 1000;
  const k = Math.min(1000, n);
  const after = memory();
  const outboxMB = { db: fileMB(d.outbox), wal: fileMB(`${d.outbox}-wal`) };
  if (sink.stats().outbox.pending !== n)
    throw new Error(`expected ${n} queued windows, found ${sink.stats().outbox.pending}`);

  await broker.restart();
  await waitFor(() => sink.stats().connected, 'reconnect', 30_000);
  const t1 = performance.now();
  await waitFor(() => sink.stats().outbox.pending === 0, 'the drain');
  const drainS = (performance.now() - t1) / 1000;
  const drained = memory();
  await sink.stop();
  return {
    writeOnly: {
      windows: n,
      seconds: writeS,
      windowsPerS: n / writeS,
      msPerWindow: (1000 * writeS) / n,
      msPerWindowFirst1000: (at[k]! - at[0]!) / k,
      msPerWindowLast1000: (at[n]! - at[n - k]!) / k,
    },
    queued: {
      windows: n,
      rssBeforeMB: before.rss,
      rssAfterMB: after.rss,
      rssAfterDrainMB: drained.rss,
      heapBeforeMB: before.heap,
      heapAfterMB: after.heap,
      outboxMB,
      bytesPerWindow: ((outboxMB.db + outboxMB.wal) * MB) / n,
    },
    drain: { windows: n, seconds: drainS, windowsPerS: n / drainS },
  };
}

async function measure(windows: number, queued: number): Promise<MqttBenchResult> {
  // On the project's disk (not a tmpfs), so the fsyncs cost what they cost on the device.
  mkdirSync(join(PACKAGE_ROOT, 'var', 'bench'), { recursive: true });
  const dir = mkdtempSync(join(PACKAGE_ROOT, 'var', 'bench', 'mqtt-'));
  const broker = await Mosquitto.start();
  try {
    const version = spawnSync(MOSQUITTO, ['-h'], { encoding: 'utf8' }).stdout.split('\n')[0]?.trim() ?? 'mosquitto';
    const e2e = await endToEnd(broker, dir, windows);
    return {
      date: new Date().toISOString(),
      mosquitto: version,
      ...e2e,
      ...(await queueAndDrain(broker, dir, queued)),
    };
  } finally {
    await broker.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === SELF) {
  const [windows, queued] = process.argv.slice(2).map(Number);
  const r = await measure(windows ?? 5000, queued ?? 10_000);
  process.stdout.write(`${JSON.stringify(r)}\n`);
  process.exit(0);
}
