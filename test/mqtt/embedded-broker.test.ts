// mqtt.url = embedded: an in-process aedes broker on 127.0.0.1 that the sink publishes to, and a
// clear warning (no failure) when its port is taken.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { EmbeddedBroker } from '../../src/mqtt/embedded-broker.js';
import { embeddedBrokerFromConfig, mqttSinkFromConfig } from '../../src/mqtt/from-config.js';
import type { WindowPayload } from '../../src/mqtt/topics.js';
import { freePort } from '../helpers/mosquitto.js';
import { testWindow } from '../helpers/windows.js';

const tmp = mkdtempSync(join(tmpdir(), 'ea-embedded-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const config = (port: number): ReturnType<typeof loadConfig> =>
  loadConfig({
    env: {
      EMOTION_AGENT_DEVICE_ID: 'demo-1',
      EMOTION_AGENT_MQTT_ENABLED: 'true',
      EMOTION_AGENT_MQTT_URL: 'embedded',
      EMOTION_AGENT_MQTT_EMBEDDED_PORT: String(port),
      EMOTION_AGENT_OUTBOX_PATH: join(tmp, `outbox-${port}.db`),
    },
  });

describe('embedded broker', () => {
  it('the sink publishes status online and a window to it', async () => {
    const cfg = config(await freePort());
    const log = pino({ level: 'silent' });
    const broker = await embeddedBrokerFromConfig(cfg, log);
    if (!(broker instanceof EmbeddedBroker)) throw new Error(`no broker: ${String(broker)}`);
    const sink = mqttSinkFromConfig(cfg, log);
    try {
      const sub = await connectAsync(broker.url);
      const got: { topic: string; text: string }[] = [];
      sub.on('message', (t, p) => got.push({ topic: t, text: p.toString() }));
      await sub.subscribeAsync('emotion-agent/#', { qos: 1 });
      await sink.start();
      await sink.write(testWindow(1));
      const end = Date.now() + 10_000;
      while (!got.some((m) => m.topic.endsWith('/window')) && Date.now() < end)
        await new Promise((r) => setTimeout(r, 20));
      expect(got.find((m) => m.topic === 'emotion-agent/demo-1/status')?.text).toBe('online');
      const w = got.find((m) => m.topic === 'emotion-agent/demo-1/cameras/cam1/window');
      expect((JSON.parse(w?.text ?? 'null') as WindowPayload).deviceId).toBe('demo-1');
      await sink.stop();
      await sub.endAsync();
    } finally {
      await sink.stop();
      await broker.stop();
      await broker.stop(); // idempotent
    }
  });

  it('a taken port gives a warning and no broker, not a failure', async () => {
    const port = await freePort();
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
    const lines: string[] = [];
    const log = pino(
      { level: 'warn' },
      {
        write: (s: string) => {
          lines.push(s);
        },
      },
    );
    try {
      expect(await embeddedBrokerFromConfig(config(port), log)).toBe('unavailable');
      expect(lines.join('')).toMatch(/EADDRINUSE.*running without MQTT/);
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });

  it('is not started for a real broker URL', async () => {
    expect(
      await embeddedBrokerFromConfig(
        loadConfig({ env: { EMOTION_AGENT_MQTT_ENABLED: 'true' } }),
        pino({ level: 'silent' }),
      ),
    ).toBeNull();
  });
});
