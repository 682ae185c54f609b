// Home Assistant discovery: the pure builder (topics, templates, availability, device block), the
// configuration keys, and the sink publishing the retained configs on connect to a real Mosquitto.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { mqttSinkFromConfig } from '../../src/mqtt/from-config.js';
import { homeAssistantDiscovery, type DiscoveryConfig } from '../../src/mqtt/home-assistant.js';
import { Outbox } from '../../src/mqtt/outbox.js';
import { MqttSink, type MqttSinkOptions } from '../../src/mqtt/sink.js';
import { Topics } from '../../src/mqtt/topics.js';
import { Mosquitto } from '../helpers/mosquitto.js';

const tmp = mkdtempSync(join(tmpdir(), 'ea-ha-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const LABELS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'];

/** Renders the two template shapes the builder emits, enough to check them against window payloads. */
function render(
  template: string,
  value: { people: number; viewers?: number; emotions: Record<string, number> | null },
): number {
  if (template === '{{ value_json.people }}') return value.people;
  if (template === '{{ value_json.viewers if value_json.viewers is defined else 0 }}') return value.viewers ?? 0;
  const m = /^\{\{ value_json\.emotions\.(\w+) if value_json\.emotions else 0 \}\}$/.exec(template);
  if (!m) throw new Error(`unexpected template ${template}`);
  return value.emotions ? (value.emotions[m[1]!] ?? NaN) : 0;
}

describe('homeAssistantDiscovery', () => {
  const topics = new Topics('emotion-agent/kiosk-1');
  const msgs = homeAssistantDiscovery(
    { prefix: 'homeassistant', deviceId: 'kiosk-1', cameras: ['entrance', 'desk'], swVersion: '1.2.3' },
    topics,
  );
  const configs = msgs.map((m) => JSON.parse(m.payload) as DiscoveryConfig);

  it('9 sensors per camera: people, viewers and one per emotion, at <prefix>/sensor/<device>_<camera>_<key>/config', () => {
    expect(msgs).toHaveLength(18);
    expect(msgs.slice(0, 9).map((m) => m.topic)).toEqual(
      ['people', 'viewers', ...LABELS].map((k) => `homeassistant/sensor/kiosk-1_entrance_${k}/config`),
    );
    expect(msgs[9]!.topic).toBe('homeassistant/sensor/kiosk-1_desk_people/config');
    expect(new Set(configs.map((c) => c.unique_id)).size).toBe(18);
    expect(configs[0]).toMatchObject({ name: 'entrance people', unique_id: 'kiosk-1_entrance_people' });
  });

  it('state from the camera window topic; availability from the device status; one device block', () => {
    for (const [i, c] of configs.entries()) {
      expect(c.state_topic).toBe(topics.window(i < 9 ? 'entrance' : 'desk'));
      expect(c).toMatchObject({
        unit_of_measurement: 'people',
        state_class: 'measurement',
        availability_topic: 'emotion-agent/kiosk-1/status',
        payload_available: 'online',
        payload_not_available: 'offline',
        device: { identifiers: ['kiosk-1'], manufacturer: 'emotion-agent', sw_version: '1.2.3' },
      });
      expect(typeof c.device.name).toBe('string');
    }
  });

  it('templates extract people and each emotion, and cope with a withheld window (emotions null)', () => {
    const emotions = Object.fromEntries(LABELS.map((l, i) => [l, i + 1]));
    const full = { people: 28, viewers: 11, emotions };
    const withheld = { people: 2, emotions: null };
    expect(configs.slice(0, 9).map((c) => render(c.value_template, full))).toEqual([28, 11, 1, 2, 3, 4, 5, 6, 7]);
    // A window from an agent without audience metrics (no viewers field) reads 0 viewers.
    expect(configs.slice(0, 9).map((c) => render(c.value_template, withheld))).toEqual([2, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(configs[5]!.value_template).toBe('{{ value_json.emotions.happy if value_json.emotions else 0 }}');
  });

  it('object ids keep to what Home Assistant accepts; a custom prefix is used as is', () => {
    const [m] = homeAssistantDiscovery(
      { prefix: 'ha/disc', deviceId: 'host.local', cameras: ['cam_1'], swVersion: '0' },
      new Topics('x/host.local'),
    );
    expect(m!.topic).toBe('ha/disc/sensor/host_local_cam_1_people/config');
    expect(JSON.parse(m!.payload)).toMatchObject({
      state_topic: 'x/host.local/cameras/cam_1/window',
      device: { identifiers: ['host.local'] },
    });
    expect(
      homeAssistantDiscovery({ prefix: 'homeassistant', deviceId: 'd', cameras: [], swVersion: '0' }, topics),
    ).toEqual([]);
  });

  it('configuration: off by default, prefix homeassistant, settable from the environment', () => {
    expect(loadConfig({ env: {} }).mqtt.homeAssistant).toEqual({ enabled: false, prefix: 'homeassistant' });
    const cfg = loadConfig({
      env: { EMOTION_AGENT_MQTT_HOME_ASSISTANT_ENABLED: 'true', EMOTION_AGENT_MQTT_HOME_ASSISTANT_PREFIX: 'ha' },
    });
    expect(cfg.mqtt.homeAssistant).toEqual({ enabled: true, prefix: 'ha' });
    expect(() => loadConfig({ env: { EMOTION_AGENT_MQTT_HOME_ASSISTANT_PREFIX: 'ha/#' } })).toThrow(
      /mqtt\.homeAssistant\.prefix/,
    );
  });
});

describe('MqttSink with Home Assistant discovery (Mosquitto)', () => {
  /** Starts a sink on a fresh broker, waits for its retained online, then collects homeassistant/# for a while. */
  async function discoveryFrom(
    homeAssistant: MqttSinkOptions['homeAssistant'],
  ): Promise<{ topic: string; text: string; retain: boolean }[]> {
    const broker = await Mosquitto.start();
    const id = `ha${Math.random().toString(36).slice(2, 8)}`;
    const root = `emotion-agent/${id}`;
    const sink = new MqttSink(
      {
        client: {
          url: broker.url,
          clientId: id,
          username: null,
          password: null,
          ca: null,
          cert: null,
          key: null,
          keepaliveS: 5,
          protocolVersion: 4,
          reconnectMs: 500,
        },
        deviceId: id,
        topicRoot: root,
        stopTimeoutMs: 1000,
        ...(homeAssistant ? { homeAssistant } : {}),
      },
      new Outbox({ path: join(tmp, id, 'outbox.db'), maxRows: 100, maxAgeS: 3600 }),
      pino({ level: 'silent' }),
    );
    const got: { topic: string; text: string; retain: boolean }[] = [];
    let online = false;
    try {
      await sink.start();
      const end = Date.now() + 10_000;
      while (!sink.stats().connected) {
        if (Date.now() > end) throw new Error('sink did not connect');
        await new Promise((r) => setTimeout(r, 20));
      }
      const sub = await connectAsync(broker.url, { clientId: `${id}-sub` });
      sub.on('message', (t, p, packet) => {
        if (t === `${root}/status`) online = p.toString() === 'online';
        else got.push({ topic: t, text: p.toString(), retain: packet.retain });
      });
      // The status (published before the configs on connect) arrives first: after it, what is retained is there.
      await sub.subscribeAsync([`${root}/status`, 'homeassistant/#'], { qos: 1 });
      const until = Date.now() + 5000;
      while (!(online && got.length >= (homeAssistant ? homeAssistant.cameras.length * 9 : 0)) && Date.now() < until)
        await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 300)); // anything more (or, disabled, anything at all) would show now
      await sub.endAsync();
    } finally {
      await sink.stop();
      await broker.dispose();
    }
    expect(online).toBe(true);
    return got;
  }

  it('enabled: a subscriber to homeassistant/# receives 9 retained configs per camera', async () => {
    const got = await discoveryFrom({ prefix: 'homeassistant', cameras: ['entrance', 'desk'], swVersion: '9.9.9' });
    expect(got).toHaveLength(18);
    expect(got.every((m) => m.retain)).toBe(true);
    for (const cam of ['entrance', 'desk']) {
      const mine = got.filter((m) => m.topic.includes(`_${cam}_`));
      expect(mine.map((m) => m.topic.split('/')[2]!.split('_').at(-1)).sort()).toEqual(
        ['people', 'viewers', ...LABELS].sort(),
      );
      for (const m of mine)
        expect(JSON.parse(m.text)).toMatchObject({
          state_topic: expect.stringMatching(new RegExp(`/cameras/${cam}/window$`)) as unknown,
          device: { sw_version: '9.9.9' },
        });
    }
  });

  it('disabled: nothing under homeassistant/#', async () => {
    expect(await discoveryFrom(undefined)).toEqual([]);
  });

  it('from the configuration: mqtt.homeAssistant.* reach the sink, for the enabled cameras only', async () => {
    const broker = await Mosquitto.start();
    const cfg = loadConfig({
      env: {
        EMOTION_AGENT_DEVICE_ID: 'kiosk-9',
        EMOTION_AGENT_MQTT_ENABLED: 'true',
        EMOTION_AGENT_MQTT_URL: broker.url,
        EMOTION_AGENT_OUTBOX_PATH: join(tmp, 'cfg-outbox.db'),
        EMOTION_AGENT_MQTT_HOME_ASSISTANT_ENABLED: 'true',
        EMOTION_AGENT_MQTT_HOME_ASSISTANT_PREFIX: 'ha',
        EMOTION_AGENT_CAMERAS: JSON.stringify([
          { id: 'front', source: '/dev/video0' },
          { id: 'back', source: '/dev/video1', enabled: false },
        ]),
      },
    });
    const sink = mqttSinkFromConfig(cfg, pino({ level: 'silent' }));
    const got = new Map<string, string>();
    try {
      await sink.start();
      const sub = await connectAsync(broker.url, { clientId: 'cfg-sub' });
      sub.on('message', (t, p) => got.set(t, p.toString()));
      await sub.subscribeAsync('ha/#', { qos: 1 });
      const end = Date.now() + 10_000;
      while (got.size < 9 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 200));
      await sub.endAsync();
    } finally {
      await sink.stop();
      await broker.dispose();
    }
    expect([...got.keys()].sort()).toEqual(
      ['people', 'viewers', ...LABELS].map((k) => `ha/sensor/kiosk-9_front_${k}/config`).sort(),
    );
    expect(JSON.parse(got.get('ha/sensor/kiosk-9_front_people/config')!)).toMatchObject({
      state_topic: 'emotion-agent/kiosk-9/cameras/front/window',
      availability_topic: 'emotion-agent/kiosk-9/status',
      device: { identifiers: ['kiosk-9'] },
    });
  });
});
