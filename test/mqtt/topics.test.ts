// docs/mqtt.md and docs/mqtt/*.schema.json against each other and against what the sink really sends.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import {
  encode,
  fleetRoot,
  publishOptions,
  renderTopicTable,
  schemaId,
  topicKeyOf,
  TOPICS,
  topicSpec,
  Topics,
  type TopicEntry,
  type WindowPayload,
} from '../../src/mqtt/topics.js';
import { ROOT } from '../helpers/paths.js';
import { testWindow } from '../helpers/windows.js';

const ajv = new Ajv({ allErrors: true, strict: false });
/** Compiled once per schema: ajv refuses a second schema with the same $id. */
const validator = (name: string): ReturnType<Ajv['compile']> => {
  const id = schemaId(name);
  return (
    ajv.getSchema(id) ??
    ajv.compile(JSON.parse(readFileSync(join(ROOT, 'docs', 'mqtt', `${name}.schema.json`), 'utf8')) as object)
  );
};

describe('MQTT topic map', () => {
  it('every example in docs/mqtt.md validates against its schema', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'mqtt.md'), 'utf8');
    const examples = [...doc.matchAll(/<!-- schema: ([a-z-]+) -->\s*```json\n([\s\S]*?)```/g)];
    expect(examples.map((m) => m[1])).toEqual([
      'status',
      'info',
      'window',
      'camera-state',
      'stats',
      'command-request',
      'command-response',
      'command-response',
    ]);
    for (const [, name, json] of examples) {
      const v = validator(name!);
      expect(v(JSON.parse(json!)), `${name}: ${ajv.errorsText(v.errors)}`).toBe(true);
    }
  });

  it('a window as encoded for publishing validates, with and without the withheld breakdown', () => {
    const v = validator('window');
    const full: WindowPayload = { ...testWindow(3), seq: 7, deviceId: 'kiosk-1' };
    const withheld: WindowPayload = {
      ...full,
      people: 1,
      emotions: null,
      meanProbabilities: null,
      withheld: true,
      dwell: null,
    };
    for (const p of [full, withheld])
      expect(v(JSON.parse(encode('cameras/x/window', p))), ajv.errorsText(v.errors)).toBe(true);
  });

  it('topics, QoS and retain flags', () => {
    const t = new Topics('emotion-agent/kiosk-1');
    expect([t.status(), t.info(), t.window('desk'), t.cameraState('desk'), t.stats()]).toEqual([
      'emotion-agent/kiosk-1/status',
      'emotion-agent/kiosk-1/info',
      'emotion-agent/kiosk-1/cameras/desk/window',
      'emotion-agent/kiosk-1/cameras/desk/state',
      'emotion-agent/kiosk-1/stats',
    ]);
    expect(topicSpec('status')).toEqual({ qos: 1, retain: true });
    expect(topicSpec('cameras/desk/window')).toEqual({ qos: 1, retain: false });
    expect(topicSpec('cameras/desk/state')).toEqual({ qos: 1, retain: true });
    expect(topicSpec('stats')).toEqual({ qos: 0, retain: false });
    expect(topicSpec('cmd/config/get/response')).toEqual({ qos: 1, retain: false });
    expect(encode('status', 'online')).toBe('online');
  });

  it("docs/mqtt.md lists exactly the table's topics, QoS, retain flags and schemas", () => {
    const doc = readFileSync(join(ROOT, 'docs', 'mqtt.md'), 'utf8');
    expect(doc, 'paste renderTopicTable() from src/mqtt/topics.ts into docs/mqtt.md').toContain(renderTopicTable());
  });

  it('every schema the table names exists with its $id, and every schema file is named in the table', () => {
    const named = Object.values(TOPICS as Record<string, TopicEntry>).flatMap((e) => (e.schema ? [e.schema] : []));
    for (const name of named) {
      const schema = JSON.parse(readFileSync(join(ROOT, 'docs', 'mqtt', `${name}.schema.json`), 'utf8')) as {
        $id: string;
      };
      expect(schema.$id).toBe(schemaId(name));
    }
    const files = readdirSync(join(ROOT, 'docs', 'mqtt'))
      .filter((f) => f.endsWith('.schema.json'))
      .map((f) => f.replace('.schema.json', ''));
    expect([...files].sort()).toEqual([...new Set(named)].sort());
  });

  it('each topic name built under a root maps back to its own table entry', () => {
    const root = 'emotion-agent/kiosk-1';
    const t = new Topics(root);
    const built: [string, keyof typeof TOPICS][] = [
      [t.status(), 'status'],
      [t.info(), 'info'],
      [t.stats(), 'stats'],
      [t.model(), 'model'],
      [t.window('desk'), 'window'],
      [t.cameraState('desk'), 'cameraState'],
      [t.command('config/get'), 'command'],
      [Topics.response(t.command('config/get')), 'commandResponse'],
    ];
    for (const [topic, key] of built) {
      expect(topic.startsWith(`${root}/`)).toBe(true);
      expect(topicKeyOf(topic.slice(root.length + 1)), topic).toBe(key);
      expect(topicSpec(topic.slice(root.length + 1))).toEqual(publishOptions(key));
    }
    expect(() => topicSpec('nonsense')).toThrow(/not an emotion-agent topic/);
    expect(t.commandPrefixes()).toEqual([`${root}/cmd/`, 'emotion-agent/all/cmd/']);
    expect(new Topics('solo').commandPrefixes()).toEqual(['solo/cmd/']);
    expect(fleetRoot('a/b/c')).toBe('a/b/all');
    expect(Topics.isResponse('x/cmd/ping/response')).toBe(true);
    expect(Topics.discovery('homeassistant', 'kiosk_desk_people')).toBe(
      'homeassistant/sensor/kiosk_desk_people/config',
    );
    expect(publishOptions('discovery')).toEqual({ qos: 1, retain: true });
  });
});
