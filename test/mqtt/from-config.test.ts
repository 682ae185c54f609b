// From configuration to a working MQTT sink: keys, secret file, defaults for client id and topic
// root, the device id derived from the machine id, and the retained info on connect (real Mosquitto).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { resolveDeviceId } from '../../src/mqtt/device-id.js';
import { mqttSinkFromConfig } from '../../src/mqtt/from-config.js';
import type { InfoPayload } from '../../src/mqtt/topics.js';
import { Mosquitto } from '../helpers/mosquitto.js';

const tmp = mkdtempSync(join(tmpdir(), 'ea-mqttcfg-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('mqtt configuration', () => {
  it('defaults: disabled, outbox under var/state, protocol 3.1.1', () => {
    const cfg = loadConfig({ env: {} });
    expect(cfg.mqtt).toMatchObject({
      enabled: false,
      url: 'mqtt://localhost:1883',
      clientId: null,
      topicRoot: null,
      protocolVersion: 4,
      keepaliveS: 30,
    });
    expect(cfg.outbox.path).toMatch(/var\/state\/outbox\.db$/);
  });

  it('rejects a bad URL scheme and protocol version, naming the keys', () => {
    expect(() =>
      loadConfig({ env: { EMOTION_AGENT_MQTT_URL: 'http://x', EMOTION_AGENT_MQTT_PROTOCOL_VERSION: '6' } }),
    ).toThrow(ConfigError);
    try {
      loadConfig({ env: { EMOTION_AGENT_MQTT_URL: 'http://x', EMOTION_AGENT_MQTT_PROTOCOL_VERSION: '6' } });
    } catch (err) {
      expect((err as ConfigError).problems.join('\n')).toMatch(
        /mqtt\.url[\s\S]*mqtt\.protocolVersion|mqtt\.protocolVersion[\s\S]*mqtt\.url/,
      );
    }
  });

  it('derives the device id from the machine id (hashed, stable), or uses device.id', () => {
    const f = join(tmp, 'machine-id');
    writeFileSync(f, '0123456789abcdef0123456789abcdef\n');
    const id = resolveDeviceId(null, [join(tmp, 'missing'), f]);
    expect(id).toMatch(/^ea-[0-9a-f]{16}$/);
    expect(resolveDeviceId(null, [f])).toBe(id);
    expect(id).not.toContain('0123456789abcdef');
    expect(resolveDeviceId('kiosk-7', [f])).toBe('kiosk-7');
    expect(() => resolveDeviceId(null, [join(tmp, 'missing')])).toThrow(/device\.id/);
  });

  it('connects with the password from passwordFile and publishes retained online and info under the default root', async () => {
    const broker = await Mosquitto.start({ users: { agent: 's3cret' } });
    try {
      writeFileSync(join(tmp, 'mqtt.pass'), 's3cret\n');
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
      const info: InfoPayload = {
        version: '0.1.0',
        models: null,
        cameras: ['demo'],
        startedAt: new Date(0).toISOString(),
      };
      const sink = mqttSinkFromConfig(cfg, pino({ level: 'silent' }), () => info);
      await sink.start();
      const sub = await connectAsync(broker.url, { username: 'agent', password: 's3cret' });
      const got = new Map<string, string>();
      sub.on('message', (t, p) => got.set(t, p.toString()));
      await sub.subscribeAsync('emotion-agent/kiosk-1/#');
      const end = Date.now() + 10_000;
      while (got.size < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      expect(got.get('emotion-agent/kiosk-1/status')).toBe('online');
      expect(JSON.parse(got.get('emotion-agent/kiosk-1/info') ?? 'null')).toEqual(info);
      await sink.stop();
      await sub.endAsync();
    } finally {
      await broker.dispose();
    }
  });
});
