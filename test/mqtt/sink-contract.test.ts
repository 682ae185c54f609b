// The WindowSink contract (test/aggregate/sink-contract.ts) against the MQTT sink, read back by a
// subscriber on a real broker: Mosquitto, and the embedded aedes broker of mqtt.url = embedded.
// Durable means stored in the outbox or delivered. Delivery details (seq, outages, the will): sink.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { AggregateWindow } from '../../src/aggregate/window.js';
import { EmbeddedBroker } from '../../src/mqtt/embedded-broker.js';
import { Topics, type WindowPayload } from '../../src/mqtt/topics.js';
import { describeSinkContract, type SinkUnderTest } from '../aggregate/sink-contract.js';
import { freePort, Mosquitto } from '../helpers/mosquitto.js';
import { listen, testDevice, testSink } from '../helpers/mqtt.js';

const tmp = mkdtempSync(join(tmpdir(), 'ea-mqtt-contract-'));
let mosquitto: Mosquitto;
let embedded: EmbeddedBroker;
beforeAll(async () => {
  mosquitto = await Mosquitto.start();
  embedded = new EmbeddedBroker(await freePort());
  await embedded.start();
});
afterAll(async () => {
  await mosquitto.dispose();
  await embedded.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** A sink for a fresh device and a subscriber to its window topics on the same broker. */
async function mqttSink(url: string): Promise<SinkUnderTest> {
  const d = testDevice(tmp);
  const sub = await listen(url, new Topics(d.root).window('+'));
  const sink = testSink(d, url);
  // What the sink adds (seq, deviceId) is taken off: the rest must be the window as written.
  const read = (): AggregateWindow[] =>
    sub.got.map((m) => {
      const w: Partial<WindowPayload> = JSON.parse(m.text) as WindowPayload;
      delete w.seq;
      delete w.deviceId;
      return w as AggregateWindow;
    });
  const durable = (): number => {
    const st = sink.stats();
    return st.outbox.pending + st.published;
  };
  return { sink, read, durable, reachable: () => sink.stats().connected, cleanup: () => sub.client.endAsync() };
}

describeSinkContract('MqttSink through Mosquitto', () => mqttSink(mosquitto.url), {
  eventual: true,
  strictLifecycle: true,
});
describeSinkContract('MqttSink through the embedded broker', () => mqttSink(embedded.url), {
  eventual: true,
  strictLifecycle: true,
});
