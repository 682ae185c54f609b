// Commands against a real Mosquitto: the sink built from configuration answers ping, info and
// config/get for MQTT 3.1.1 (id in the body) and MQTT 5 (responseTopic + correlationData) callers and
// on the fleet-wide topic, and survives 1,000 malformed requests while windows keep flowing in order.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { CommandHandler } from '../../src/mqtt/commands.js';
import { mqttSinkFromConfig } from '../../src/mqtt/from-config.js';
import type { MqttSink } from '../../src/mqtt/sink.js';
import type { CommandResponse, InfoPayload, WindowPayload } from '../../src/mqtt/topics.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { ROOT } from '../helpers/paths.js';
import { testWindow } from '../helpers/windows.js';
import { prng } from '../helpers/prng.js';

const SECRET = 'hunter2-do-not-leak';
const ROOT_TOPIC = 'emotion-agent/kiosk-1';
const tmp = mkdtempSync(join(tmpdir(), 'ea-mqttcmd-'));
const info: InfoPayload = { version: '0.1.0', models: null, cameras: ['cam1'], startedAt: new Date(0).toISOString() };
let broker: Mosquitto;
let sink: MqttSink;
const clients: MqttClient[] = [];
const ajv = new Ajv({ strict: false });
const validResponse = ajv.compile(
  JSON.parse(readFileSync(join(ROOT, 'docs', 'mqtt', 'command-response.schema.json'), 'utf8')) as object,
);

beforeAll(async () => {
  broker = await Mosquitto.start();
  writeFileSync(join(tmp, 'mqtt.pass'), `${SECRET}\n`);
  const cfg = loadConfig({
    env: {
      EMOTION_AGENT_DEVICE_ID: 'kiosk-1',
      EMOTION_AGENT_MQTT_ENABLED: 'true',
      EMOTION_AGENT_MQTT_URL: broker.url,
      EMOTION_AGENT_MQTT_USERNAME: 'agent',
      EMOTION_AGENT_MQTT_PASSWORD_FILE: join(tmp, 'mqtt.pass'),
      EMOTION_AGENT_OUTBOX_PATH: join(tmp, 'outbox.db'),
      EMOTION_AGENT_MQTT_PROTOCOL_VERSION: '5',
    },
  });
  sink = mqttSinkFromConfig(cfg, pino({ level: 'silent' }), () => info);
  await sink.start();
  const end = Date.now() + 10_000;
  while (!sink.stats().connected && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
});

afterAll(async () => {
  await sink.stop();
  await Promise.all(clients.map((c) => c.endAsync()));
  await broker.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

async function client(protocolVersion: 4 | 5): Promise<MqttClient> {
  const c = await connectAsync(broker.url, { protocolVersion });
  clients.push(c);
  return c;
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A v3.1.1 request with an id; resolves with the response body from `<topic>/response`. */
async function request(c: MqttClient, topic: string, id: string): Promise<CommandResponse> {
  let got: CommandResponse | undefined;
  const onMessage = (t: string, p: Buffer): void => {
    const body = JSON.parse(p.toString()) as CommandResponse;
    if (t === `${topic}/response` && body.id === id) got = body;
  };
  c.on('message', onMessage);
  await c.subscribeAsync(`${topic}/response`, { qos: 1 });
  await c.publishAsync(topic, JSON.stringify({ id }), { qos: 1 });
  await until(`the response to ${topic}`, () => got !== undefined);
  c.off('message', onMessage);
  return got!;
}

describe('MQTT commands', () => {
  it('answers ping, info and config/get with the caller id (MQTT 3.1.1)', async () => {
    const c = await client(4);
    const ping = await request(c, `${ROOT_TOPIC}/cmd/ping`, 'p1');
    expect(ping).toMatchObject({ id: 'p1', deviceId: 'kiosk-1', ok: true, result: { pong: true } });
    expect(validResponse(ping)).toBe(true);
    const inf = await request(c, `${ROOT_TOPIC}/cmd/info`, 'i1');
    expect(inf).toEqual({ id: 'i1', deviceId: 'kiosk-1', ok: true, result: info });
    const conf = await request(c, `${ROOT_TOPIC}/cmd/config/get`, 'c1');
    expect(conf.ok).toBe(true);
    expect(conf).toMatchObject({ result: { device: { id: 'kiosk-1' }, mqtt: { username: 'agent', password: '***' } } });
    expect(JSON.stringify(conf)).not.toContain(SECRET);
    const unknown = await request(c, `${ROOT_TOPIC}/cmd/reboot`, 'u1');
    expect(unknown).toMatchObject({ id: 'u1', ok: false, error: { code: 'unknown_command' } });
    expect(validResponse(unknown)).toBe(true);
  });

  it('answers on the MQTT 5 responseTopic with the correlationData', async () => {
    const c = await client(5);
    const got: { topic: string; body: CommandResponse; corr: string | undefined }[] = [];
    c.on('message', (t, p, packet) =>
      got.push({
        topic: t,
        body: JSON.parse(p.toString()) as CommandResponse,
        corr: packet.properties?.correlationData?.toString(),
      }),
    );
    await c.subscribeAsync('replies/me', { qos: 1 });
    for (const [name, corr] of [
      ['ping', 'a'],
      ['info', 'b'],
      ['config/get', 'c'],
    ] as const) {
      await c.publishAsync(`${ROOT_TOPIC}/cmd/${name}`, '', {
        qos: 1,
        properties: { responseTopic: 'replies/me', correlationData: Buffer.from(corr) },
      });
    }
    await until('three v5 replies', () => got.length >= 3);
    expect(got.map((g) => [g.topic, g.corr, g.body.ok, g.body.id])).toEqual([
      ['replies/me', 'a', true, null],
      ['replies/me', 'b', true, null],
      ['replies/me', 'c', true, null],
    ]);
    expect(JSON.stringify(got)).not.toContain(SECRET);
  });

  it('answers the fleet-wide ping', async () => {
    const c = await client(4);
    expect(await request(c, 'emotion-agent/all/cmd/ping', 'f1')).toMatchObject({
      id: 'f1',
      deviceId: 'kiosk-1',
      ok: true,
      result: { pong: true },
    });
  });

  it('answers 1,000 malformed requests with errors while windows keep arriving in order', async () => {
    const rnd = prng(42);
    const c = await client(4);
    const errors: CommandResponse[] = [];
    const windows: number[] = [];
    c.on('message', (t, p) => {
      if (t.endsWith('/response')) errors.push(JSON.parse(p.toString()) as CommandResponse);
      else if (t.endsWith('/window')) windows.push((JSON.parse(p.toString()) as WindowPayload).seq);
    });
    await c.subscribeAsync([`${ROOT_TOPIC}/cmd/#`, `${ROOT_TOPIC}/cameras/+/window`], { qos: 1 });

    let written = 0;
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await sink.write(testWindow(written));
        written += 1;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();

    const huge = Buffer.alloc(200 * 1024, 0x7b);
    for (let i = 0; i < 1000; i += 1) {
      const kind = i % 5;
      let topic = `${ROOT_TOPIC}/cmd/ping`;
      let payload: Buffer | string;
      if (kind === 0)
        payload = Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256)));
      else if (kind === 1) payload = JSON.stringify({ id: i, args: { x: rnd() } }).slice(0, -1 - Math.floor(rnd() * 5));
      else if (kind === 2) payload = JSON.stringify([i, rnd(), { id: i }]);
      else if (kind === 3 && i % 50 === 3) payload = huge;
      else if (kind === 3) payload = JSON.stringify({ id: `x${i}`, args: [1, 2] });
      else {
        topic = `${ROOT_TOPIC}/cmd/nope/${Math.floor(rnd() * 1e6)}`;
        payload = JSON.stringify({ id: `n${i}` });
      }
      await c.publishAsync(topic, payload, { qos: 1 });
    }
    await until('1,000 error responses', () => errors.length >= 1000, 30_000);
    writing = false;
    await writer;
    await until('every window', () => windows.length >= written, 10_000);

    expect(errors.length).toBe(1000);
    expect(errors.every((e) => !e.ok)).toBe(true);
    const codes = new Map<string, number>();
    for (const e of errors) if (!e.ok) codes.set(e.error.code, (codes.get(e.error.code) ?? 0) + 1);
    expect(codes.get('unknown_command')).toBe(200);
    expect(codes.get('bad_request')).toBe(800);
    expect(errors.filter((e) => !e.ok && /exceeds/.test(e.error.message)).every((e) => e.id === null)).toBe(true);
    expect(errors.every((e) => validResponse(e))).toBe(true);
    expect(written).toBeGreaterThan(10);
    for (let k = 1; k < windows.length; k += 1) expect(windows[k]).toBeGreaterThan(windows[k - 1]!);
    expect(sink.stats().connected).toBe(true);
    // Still answering after all that.
    expect(await request(c, `${ROOT_TOPIC}/cmd/ping`, 'after')).toMatchObject({ ok: true });
  }, 60_000);
});

describe('CommandHandler', () => {
  const log = pino({ level: 'silent' });
  const h = new CommandHandler({
    root: 'ea/d1',
    deviceId: 'd1',
    log,
    commands: {
      boom: () => {
        throw new Error('kaput');
      },
      echo: (a) => a,
    },
  });
  const body = (r: { payload: string } | null): unknown => (r ? JSON.parse(r.payload) : r);

  it('subscribes to the device and fleet topics and ignores responses and foreign topics', () => {
    expect(h.subscriptions).toEqual(['ea/d1/cmd/#', 'ea/all/cmd/#']);
    expect(h.handle('ea/d1/cmd/echo/response', Buffer.from('{}'))).toBeNull();
    expect(h.handle('ea/d2/cmd/echo', Buffer.from('{}'))).toBeNull();
    expect(new CommandHandler({ root: 'flat', deviceId: 'x', log, commands: {} }).subscriptions).toEqual([
      'flat/cmd/#',
    ]);
  });

  it('holds every command to 64 KiB; only the commands given a larger limit (model/update) get it', () => {
    const big = new CommandHandler({
      root: 'ea/d1',
      deviceId: 'd1',
      log,
      commands: { echo: () => 'ok', 'model/update': () => 'accepted' },
      maxBytesFor: { 'model/update': 2 * 1024 * 1024 },
    });
    const payload = Buffer.from(JSON.stringify({ id: 1, args: { pad: 'x'.repeat(1_460_000) } }));
    expect(body(big.handle('ea/d1/cmd/echo', payload))).toMatchObject({
      ok: false,
      error: { code: 'bad_request', message: `payload of ${payload.length} bytes exceeds 65536` },
    });
    expect(body(big.handle('ea/d1/cmd/model/update', payload))).toMatchObject({ ok: true, result: 'accepted' });
    const justOver = Buffer.from(JSON.stringify({ id: 2, args: { pad: 'x'.repeat(64 * 1024) } }));
    expect(body(big.handle('ea/all/cmd/echo', justOver))).toMatchObject({ ok: false, error: { code: 'bad_request' } });
  });

  it('logs a bad request at debug level with its size', () => {
    const lines: string[] = [];
    const logged = new CommandHandler({
      root: 'ea/d1',
      deviceId: 'd1',
      commands: {},
      log: pino(
        { level: 'debug' },
        {
          write: (l: string) => {
            lines.push(l);
          },
        },
      ),
    });
    logged.handle('ea/d1/cmd/ping', Buffer.from('[1,2]'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 20,
      bytes: 5,
      topic: 'ea/d1/cmd/ping',
      msg: 'bad command request',
    });
  });

  it('passes args, reports a throwing command as internal, refuses bad ids and args', () => {
    expect(body(h.handle('ea/all/cmd/echo', Buffer.from('{"id":7,"args":{"a":1}}')))).toEqual({
      id: 7,
      deviceId: 'd1',
      ok: true,
      result: { a: 1 },
    });
    expect(body(h.handle('ea/d1/cmd/boom', Buffer.from('{"id":"b"}')))).toMatchObject({
      id: 'b',
      ok: false,
      error: { code: 'internal', message: 'kaput' },
    });
    expect(body(h.handle('ea/d1/cmd/echo', Buffer.from('{"id":{}}')))).toMatchObject({
      id: null,
      error: { code: 'bad_request' },
    });
    expect(body(h.handle('ea/d1/cmd/echo', Buffer.from('{"id":"q","args":3}')))).toMatchObject({
      id: 'q',
      error: { code: 'bad_request' },
    });
    expect(body(h.handle('ea/d1/cmd/toString', Buffer.from('{}')))).toMatchObject({
      error: { code: 'unknown_command' },
    });
    expect(h.handle('ea/d1/cmd/echo', Buffer.from(''), { responseTopic: 'x/#' })?.topic).toBe(
      'ea/d1/cmd/echo/response',
    );
    expect(
      h.handle('ea/d1/cmd/echo', Buffer.from(''), { responseTopic: 'x/y', correlationData: Buffer.from('c') }),
    ).toMatchObject({ topic: 'x/y', correlationData: Buffer.from('c') });
  });
});
