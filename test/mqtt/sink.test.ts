// MqttSink against a real Mosquitto on a free port: order and seq, retained status and the last will,
// a crash during an outage, refused credentials and TLS. Long outages: outage.test.ts.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClientConfig } from '../../src/mqtt/client.js';
import type { MqttSink } from '../../src/mqtt/sink.js';
import type { StatsPayload, WindowPayload } from '../../src/mqtt/topics.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { listen as listenAt, seqs, testDevice, testSink, until, type TestDevice } from '../helpers/mqtt.js';
import { ROOT, TSX } from '../helpers/paths.js';
import { testWindow } from '../helpers/windows.js';

const CHILD = join(ROOT, 'test', 'helpers', 'mqtt-sink-child.ts');
const tmp = mkdtempSync(join(tmpdir(), 'ea-mqtt-'));
let broker: Mosquitto;

beforeAll(async () => {
  broker = await Mosquitto.start();
});
afterAll(async () => {
  await broker.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

const device = (): TestDevice => testDevice(tmp);
const newSink = (d: TestDevice, url = broker.url, client: Partial<MqttClientConfig> = {}): MqttSink =>
  testSink(d, url, { client });
const listen = (topic: string): ReturnType<typeof listenAt> => listenAt(broker.url, topic);

function child(d: TestDevice): { proc: ChildProcessWithoutNullStreams; out: () => string } {
  const proc = spawn(process.execPath, [
    '--import',
    TSX,
    CHILD,
    JSON.stringify({ url: broker.url, outbox: d.outbox, deviceId: d.id, root: d.root }),
  ]);
  let out = '';
  proc.stdout.on('data', (b: Buffer) => {
    out += b.toString();
  });
  proc.stderr.on('data', (b: Buffer) => {
    out += b.toString();
  });
  return { proc, out: () => out };
}

describe('MqttSink', () => {
  it('publishes windows in order with seq and deviceId, QoS 1, not retained', async () => {
    const d = device();
    const sub = await listen(`${d.root}/cameras/+/window`);
    const sink = newSink(d);
    await sink.start();
    for (let i = 0; i < 5; i++) await sink.write(testWindow(i, i % 2 ? 'a' : 'b'));
    await until('5 windows', () => sub.got.length >= 5);
    const payloads = sub.got.map((m) => JSON.parse(m.text) as WindowPayload);
    expect(payloads.map((p) => [p.seq, p.startMs, p.cameraId, p.deviceId])).toEqual(
      [0, 1, 2, 3, 4].map((i) => [i + 1, i * 60_000, i % 2 ? 'a' : 'b', d.id]),
    );
    expect(sub.got[1]!.topic).toBe(`${d.root}/cameras/a/window`);
    expect(sub.got.every((m) => !m.retain)).toBe(true);
    await until('acks', () => sink.stats().outbox.pending === 0);
    await sink.stop();
    await sub.client.endAsync();
  });

  it('publishes stats periodically (QoS 0) matching the schema', async () => {
    const d = device();
    const sub = await listen(`${d.root}/stats`);
    const sink = testSink(d, broker.url, { sink: { statsIntervalMs: 100 } });
    await sink.start();
    await sink.write(testWindow(0));
    await until('stats after the window', () =>
      sub.got.some((m) => (JSON.parse(m.text) as StatsPayload).published === 1),
    );
    const last = JSON.parse(sub.got.at(-1)!.text) as StatsPayload;
    expect(last).toMatchObject({ outboxPending: 0, outboxDropped: 0, published: 1 });
    const v = new Ajv({ strict: false }).compile(
      JSON.parse(readFileSync(join(ROOT, 'docs', 'mqtt', 'stats.schema.json'), 'utf8')) as object,
    );
    expect(v(last)).toBe(true);
    await sink.stop();
    await sub.client.endAsync();
  });

  it('status is online (retained), offline after stop(), and offline by the last will on SIGKILL', async () => {
    const d = device();
    const sink = newSink(d);
    await sink.start();
    await until('connected', () => sink.stats().connected);
    const sub = await listen(`${d.root}/status`);
    await until('retained online', () => sub.got.length > 0);
    expect(sub.got[0]).toMatchObject({ text: 'online', retain: true });
    await sink.stop();
    await until('offline', () => sub.got.at(-1)?.text === 'offline');

    const d2 = device();
    const c = child(d2);
    await until('child connected', () => c.out().includes('connected'), 20_000);
    const sub2 = await listen(`${d2.root}/status`);
    await until('online', () => sub2.got.at(-1)?.text === 'online');
    c.proc.kill('SIGKILL');
    await until('offline by will', () => sub2.got.at(-1)?.text === 'offline');
    await Promise.all([sub.client.endAsync(), sub2.client.endAsync()]);
  });

  it('a sink killed during an outage leaves its windows to the next one on the same outbox', async () => {
    const d = device();
    const c = child(d);
    await until('child connected', () => c.out().includes('connected'), 20_000);
    await broker.stop();
    for (let i = 0; i < 3; i++) c.proc.stdin.write(`write cam1 ${i}\n`);
    await until('stored', () => c.out().includes('stored 2'));
    c.proc.kill('SIGKILL');
    await new Promise((r) => c.proc.once('exit', r));
    await broker.restart();
    const sub = await listen(`${d.root}/cameras/+/window`);
    const sink = newSink(d);
    await sink.start();
    await until('3 stored windows', () => seqs(sub.got).length >= 3);
    expect(seqs(sub.got)).toEqual([1, 2, 3]);
    await sink.write(testWindow(3));
    await until('seq continues', () => seqs(sub.got).length >= 4);
    expect(seqs(sub.got)).toEqual([1, 2, 3, 4]);
    await sink.stop();
    await sub.client.endAsync();
  });

  it('refused credentials: lastError says not authorized, windows stay in the outbox', async () => {
    const secured = await Mosquitto.start({ users: { agent: 'right' } });
    try {
      const d = device();
      const sink = newSink(d, secured.url, { username: 'agent', password: 'wrong' });
      await sink.start();
      await sink.write(testWindow(0));
      await sink.write(testWindow(1));
      await until('lastError', () => /not authori[sz]ed/i.test(sink.stats().lastError ?? ''));
      expect(sink.stats()).toMatchObject({ connected: false, outbox: { pending: 2 } });
      // It keeps trying (mqtt.js would stop after a refused CONNACK by default).
      await until('a second refused attempt', () => (secured.log.match(/not authori[sz]ed/gi) ?? []).length >= 2);
      await sink.stop();
    } finally {
      await secured.dispose();
    }
  });

  it('TLS: connects with the right CA; with the wrong CA lastError says TLS and windows stay stored', async () => {
    const selfSigned = (name: string): { cert: string; key: string } => {
      const cert = join(tmp, `${name}.crt`);
      const key = join(tmp, `${name}.key`);
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
          '-keyout',
          key,
          '-out',
          cert,
        ],
        { stdio: 'ignore' },
      );
      return { cert, key };
    };
    const server = selfSigned('server');
    const other = selfSigned('other');
    const tls = await Mosquitto.start({ tls: server });
    try {
      const good = newSink(device(), tls.url, { ca: server.cert });
      await good.start();
      await until('TLS connect', () => good.stats().connected);
      await good.stop();

      const bad = newSink(device(), tls.url, { ca: other.cert });
      await bad.start();
      await bad.write(testWindow(0));
      await until('TLS lastError', () => /TLS/.test(bad.stats().lastError ?? ''));
      expect(bad.stats()).toMatchObject({ connected: false, outbox: { pending: 1 } });
      await bad.stop();
    } finally {
      await tls.dispose();
    }
  });
});
