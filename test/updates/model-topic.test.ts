// The retained `model` topic: docs/mqtt.md's example and the state the agent really publishes both
// validate against docs/mqtt/model.schema.json; a stale in-progress state is reset at the next start.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelStore } from '../../src/updates/store.js';
import { UpdateStates } from '../../src/updates/update-state.js';
import { topicSpec, Topics } from '../../src/mqtt/topics.js';
import { ROOT } from '../helpers/paths.js';

const root = mkdtempSync(join(tmpdir(), 'ea-model-topic-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const ajv = new Ajv({ allErrors: true, strict: false });
const schema = ajv.compile(JSON.parse(readFileSync(join(ROOT, 'docs', 'mqtt', 'model.schema.json'), 'utf8')) as object);

describe('model topic', () => {
  it('is <root>/model, QoS 1, retained', () => {
    expect(new Topics('emotion-agent/k').model()).toBe('emotion-agent/k/model');
    expect(topicSpec('model')).toEqual({ qos: 1, retain: true });
  });

  it('the example in docs/mqtt.md validates', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'mqtt.md'), 'utf8');
    const m = /<!-- model-schema: model -->\s*```json\n([\s\S]*?)```/.exec(doc);
    expect(m).not.toBeNull();
    expect(schema(JSON.parse(m![1]!)), ajv.errorsText(schema.errors)).toBe(true);
  });

  it('published states validate, and an update interrupted by a restart is reported failed, not in progress', () => {
    const store = new ModelStore(join(root, 'store'), 2);
    const a = new UpdateStates(store);
    const seen: unknown[] = [];
    a.init('face-detector', '1.0.0');
    a.init('emotion-classifier', '1.0.0');
    a.onChange((p) => seen.push(p));
    a.set('emotion-classifier', { state: 'downloading', progress: 0, target: '2.0.0' });
    a.progress('emotion-classifier', 0.5);
    for (const p of seen) expect(schema(p), ajv.errorsText(schema.errors)).toBe(true);
    // The agent dies here; the next start reads the persisted state.
    const b = new UpdateStates(store);
    const s = b.init('emotion-classifier', '1.0.0');
    expect(s).toMatchObject({
      state: 'failed',
      version: '1.0.0',
      target: '2.0.0',
      error: 'interrupted by a restart while downloading version 2.0.0',
    });
  });
});
