// docs/mqtt.md and docs/mqtt/*.schema.json against each other and against what the sink really sends.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { encode, topicSpec, Topics, type WindowPayload } from '../../src/mqtt/topics.js';
import { ROOT } from '../helpers/paths.js';
import { testWindow } from '../helpers/windows.js';

const ajv = new Ajv({ allErrors: true, strict: false });
/** Compiled once per schema: ajv refuses a second schema with the same $id. */
const validator = (name: string): ReturnType<Ajv['compile']> => {
  const id = `https://emotion-agent.invalid/mqtt/${name}.schema.json`;
  return ajv.getSchema(id) ?? ajv.compile(JSON.parse(readFileSync(join(ROOT, 'docs', 'mqtt', `${name}.schema.json`), 'utf8')) as object);
};

describe('MQTT topic map', () => {
  it('every example in docs/mqtt.md validates against its schema', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'mqtt.md'), 'utf8');
    const examples = [...doc.matchAll(/<!-- schema: ([a-z-]+) -->\s*```json\n([\s\S]*?)```/g)];
    expect(examples.map((m) => m[1])).toEqual(['status', 'info', 'window', 'camera-state', 'stats', 'command-request', 'command-response', 'command-response']);
    for (const [, name, json] of examples) {
      const v = validator(name!);
      expect(v(JSON.parse(json!)), `${name}: ${ajv.errorsText(v.errors)}`).toBe(true);
    }
  });

  it('a window as encoded for publishing validates, with and without the withheld breakdown', () => {
    const v = validator('window');
    const full: WindowPayload = { ...testWindow(3), seq: 7, deviceId: 'kiosk-1' };
    const withheld: WindowPayload = { ...full, people: 1, emotions: null, meanProbabilities: null, withheld: true, dwell: null };
    for (const p of [full, withheld]) expect(v(JSON.parse(encode('cameras/x/window', p))), ajv.errorsText(v.errors)).toBe(true);
  });

  it('topics, QoS and retain flags', () => {
    const t = new Topics('emotion-agent/kiosk-1');
    expect([t.status(), t.info(), t.window('desk'), t.cameraState('desk'), t.stats()]).toEqual([
      'emotion-agent/kiosk-1/status', 'emotion-agent/kiosk-1/info', 'emotion-agent/kiosk-1/cameras/desk/window',
      'emotion-agent/kiosk-1/cameras/desk/state', 'emotion-agent/kiosk-1/stats']);
    expect(topicSpec('status')).toEqual({ qos: 1, retain: true });
    expect(topicSpec('cameras/desk/window')).toEqual({ qos: 1, retain: false });
    expect(topicSpec('cameras/desk/state')).toEqual({ qos: 1, retain: true });
    expect(topicSpec('stats')).toEqual({ qos: 0, retain: false });
    expect(topicSpec('cmd/config/get/response')).toEqual({ qos: 1, retain: false });
    expect(encode('status', 'online')).toBe('online');
  });
});
