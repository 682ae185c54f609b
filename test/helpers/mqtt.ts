// Shared pieces of the MqttSink tests: a fresh device (id, topic root, outbox file), a sink for it with
// test-friendly timings, a collecting subscriber, a polling wait, and the window seqs received.
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import type { MqttClientConfig } from '../../src/mqtt/client.js';
import { Outbox, type OutboxOptions } from '../../src/mqtt/outbox.js';
import { MqttSink, type MqttSinkOptions } from '../../src/mqtt/sink.js';
import type { WindowPayload } from '../../src/mqtt/topics.js';
import { sleep, waitFor } from './async.js';

export interface TestDevice {
  id: string;
  root: string;
  outbox: string;
}
export interface Received {
  topic: string;
  text: string;
  retain: boolean;
}

let n = 0;

/** A fresh device under `dir`: its own client id, topic root and outbox file, so tests never share state. */
export function testDevice(dir: string): TestDevice {
  n += 1;
  return { id: `dev${n}`, root: `test/dev${n}`, outbox: join(dir, `dev${n}`, 'outbox.db') };
}

export const testClientConfig = (url: string, over: Partial<MqttClientConfig> = {}): MqttClientConfig => ({
  url,
  clientId: `dev${n}`,
  username: null,
  password: null,
  ca: null,
  cert: null,
  key: null,
  keepaliveS: 5,
  protocolVersion: 4,
  reconnectMs: 500,
  ...over,
});

export interface TestSinkOptions {
  client?: Partial<MqttClientConfig>;
  outbox?: Partial<Omit<OutboxOptions, 'path'>>;
  sink?: Partial<Omit<MqttSinkOptions, 'client' | 'deviceId' | 'topicRoot'>>;
}

/** A sink for the device, silent, with a large outbox unless told otherwise. */
export function testSink(d: TestDevice, url: string, o: TestSinkOptions = {}): MqttSink {
  return new MqttSink(
    {
      client: testClientConfig(url, { clientId: d.id, ...o.client }),
      deviceId: d.id,
      topicRoot: d.root,
      stopTimeoutMs: 2000,
      ...o.sink,
    },
    new Outbox({ path: d.outbox, maxRows: 1000, maxAgeS: 3600, ...o.outbox }),
    pino({ level: 'silent' }),
  );
}

/**
 * A QoS 1 subscriber that collects messages and outlives broker restarts (reconnects every 100 ms).
 * With `session` (a client id) it keeps a persistent session: on a broker with persistence nothing
 * published while it was reconnecting is lost, whoever reconnects first.
 */
export async function listen(
  url: string,
  topic: string | string[],
  opts: { session?: string } = {},
): Promise<{ client: MqttClient; got: Received[] }> {
  const got: Received[] = [];
  const clientId = opts.session ?? `sub${n}-${Math.random().toString(36).slice(2, 8)}`;
  const client = await connectAsync(url, { reconnectPeriod: 100, clientId, clean: opts.session === undefined });
  client.on('message', (t, p, packet) => got.push({ topic: t, text: p.toString(), retain: packet.retain }));
  await client.subscribeAsync(topic, { qos: 1 });
  return { client, got };
}

/** waitFor with the argument order the MQTT tests use. */
export const until = (what: string, cond: () => boolean, ms = 10_000): Promise<void> => waitFor(cond, ms, what, 20);

export { sleep };

/** Distinct window seqs in arrival order (at-least-once: a duplicate after a lost PUBACK is allowed). */
export const seqs = (got: { text: string }[]): number[] => [
  ...new Set(got.map((m) => (JSON.parse(m.text) as WindowPayload).seq)),
];
