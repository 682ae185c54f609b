// Long broker outages against a real Mosquitto while windows keep being written: a 30 s outage loses
// nothing and keeps the order; an outage that outlasts outbox.maxRows delivers the newest maxRows in
// order and `stats` counts exactly the ones dropped. The broker keeps its sessions across the restart
// (persistence) and the subscriber has a persistent session, so what the subscriber misses while it
// reconnects is the sink's fault, never the race between the two reconnects.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatsPayload, WindowPayload } from '../../src/mqtt/topics.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { listen, seqs, sleep, testDevice, testSink, until } from '../helpers/mqtt.js';
import { ROOT } from '../helpers/paths.js';
import { testWindow } from '../helpers/windows.js';

const tmp = mkdtempSync(join(tmpdir(), 'ea-mqtt-outage-'));
let broker: Mosquitto;

beforeAll(async () => {
  broker = await Mosquitto.start({ persistence: true });
});
afterAll(async () => {
  await broker.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, k) => from + k);
const windows = (got: { topic: string; text: string }[]): WindowPayload[] =>
  got.filter((m) => m.topic.endsWith('/window')).map((m) => JSON.parse(m.text) as WindowPayload);

describe('MqttSink across long broker outages', () => {
  it('delivers every window, in seq order, when the broker is away for 30 s while windows keep coming', async () => {
    const d = testDevice(tmp);
    const sub = await listen(broker.url, `${d.root}/cameras/+/window`, { session: `sub-${d.id}` });
    const sink = testSink(d, broker.url, { client: { reconnectMs: 1000 } });
    await sink.start();
    let i = 0;
    for (; i < 3; i++) await sink.write(testWindow(i));
    // All acknowledged before the outage: nothing is in flight when the broker goes.
    await until('first 3 acked', () => sink.stats().outbox.pending === 0);

    await broker.stop();
    const back = Date.now() + 30_000;
    while (Date.now() < back) {
      await sink.write(testWindow(i++));
      await sleep(300);
    }
    const duringOutage = i - 3;
    // Every window of the outage is stored, none sent yet and none dropped.
    expect(sink.stats()).toMatchObject({ connected: false, outbox: { pending: duringOutage, dropped: 0 } });
    expect(duringOutage).toBeGreaterThan(60);

    await broker.restart();
    // Windows keep coming while the backlog drains: they must queue behind it, not overtake it.
    for (const last = i + 10; i < last; i++) {
      await sink.write(testWindow(i));
      await sleep(100);
    }
    await until(`all ${i} windows`, () => seqs(sub.got).length >= i, 30_000);
    expect(seqs(sub.got)).toEqual(range(1, i));
    // Each seq carries its own window (seq k is window k-1), so the order is the windows' order too.
    expect(windows(sub.got).every((w) => w.startMs === (w.seq - 1) * 60_000 && w.deviceId === d.id)).toBe(true);
    await until('outbox empty', () => sink.stats().outbox.pending === 0);
    expect(sink.stats().outbox.dropped).toBe(0);
    await sink.stop();
    await sub.client.endAsync();
  }, 120_000);

  it('an outage longer than outbox.maxRows: the newest maxRows arrive in order and stats report the dropped count', async () => {
    const maxRows = 20;
    const d = testDevice(tmp);
    const sub = await listen(broker.url, [`${d.root}/cameras/+/window`, `${d.root}/stats`], { session: `sub-${d.id}` });
    const sink = testSink(d, broker.url, { outbox: { maxRows }, sink: { statsIntervalMs: 200 } });
    await sink.start();
    let i = 0;
    for (; i < 3; i++) await sink.write(testWindow(i));
    await until('first 3 acked', () => sink.stats().outbox.pending === 0);

    await broker.stop();
    // Until the sink sees the close, a write is published to the dead socket and stays in flight
    // (the next test); here nothing is, so the kept rows are exactly the newest maxRows.
    await until('the sink sees the broker gone', () => !sink.stats().connected);
    const duringOutage = 32;
    for (const last = i + duringOutage; i < last; i++) {
      await sink.write(testWindow(i));
      await sleep(20);
    }
    const dropped = duringOutage - maxRows;
    expect(sink.stats().outbox).toMatchObject({ pending: maxRows, dropped });

    await broker.restart();
    const windowMsgs = (): { text: string }[] => sub.got.filter((m) => m.topic.endsWith('/window'));
    await until('the kept windows', () => seqs(windowMsgs()).length >= 3 + maxRows, 20_000);
    // Before the outage 1..3; of the 32 written during it (4..35) the oldest 12 went, 16..35 arrive.
    expect(seqs(windowMsgs())).toEqual([1, 2, 3, ...range(3 + dropped + 1, 3 + duringOutage)]);

    const stats = (): StatsPayload[] =>
      sub.got.filter((m) => m.topic.endsWith('/stats')).map((m) => JSON.parse(m.text) as StatsPayload);
    await until('stats after the drain', () =>
      stats().some((s) => s.outboxPending === 0 && s.published === 3 + maxRows),
    );
    const after = stats().find((s) => s.outboxPending === 0 && s.published === 3 + maxRows)!;
    expect(after).toMatchObject({ outboxDropped: dropped, outboxPending: 0, published: 3 + maxRows });
    // The counter only ever counts what was dropped: no stats message claims more, before or after.
    expect(stats().every((s) => s.outboxDropped === 0 || s.outboxDropped === dropped)).toBe(true);
    const schema = JSON.parse(readFileSync(join(ROOT, 'docs', 'mqtt', 'stats.schema.json'), 'utf8')) as object;
    // Ajv ships no formats; date-time is checked here as RFC 3339 (what toISOString() writes).
    const dateTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
    const validate = new Ajv({ strict: false, formats: { 'date-time': dateTime } }).compile(schema);
    expect(validate(after), JSON.stringify(validate.errors)).toBe(true);
    await sink.stop();
    await sub.client.endAsync();
  }, 60_000);

  it('a window in flight when the outbox overflows is kept, not counted as dropped, and arrives once (paused broker)', async () => {
    const maxRows = 20;
    const d = testDevice(tmp);
    const sub = await listen(broker.url, `${d.root}/cameras/+/window`, { session: `sub-${d.id}` });
    const sink = testSink(d, broker.url, { outbox: { maxRows } });
    await sink.start();
    let i = 0;
    for (; i < 3; i++) await sink.write(testWindow(i));
    await until('first 3 acked', () => sink.stats().outbox.pending === 0);

    // A frozen broker keeps the connection open but acknowledges nothing: seq 4 goes on the wire and
    // stays in flight while 31 more windows overflow the outbox behind it.
    broker.pause();
    try {
      for (const last = i + 32; i < last; i++) await sink.write(testWindow(i));
      expect(sink.stats()).toMatchObject({ connected: true, outbox: { pending: maxRows, dropped: 12 } });
    } finally {
      broker.resume();
    }
    await until('the kept windows', () => seqs(sub.got).length >= 3 + maxRows, 20_000);
    await until('outbox empty', () => sink.stats().outbox.pending === 0);
    // seq 4 (in flight) arrives; 5..16 were dropped and counted; 17..35 follow. Nothing else arrives.
    await sleep(300);
    expect(seqs(sub.got)).toEqual([1, 2, 3, 4, ...range(17, 35)]);
    expect(sink.stats()).toMatchObject({ published: 3 + maxRows, outbox: { dropped: 12 } });
    await sink.stop();
    await sub.client.endAsync();
  }, 60_000);
});
