// The MQTT integration the Agent composes (src/mqtt/integration.ts), without models: from the
// configuration to the embedded broker and the MQTT sink, the retained info, camera and model states,
// the model commands, and the stop order (sink, then broker). The Agent with it: test/app.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { mqttIntegrationFromConfig, type ModelUpdateLink } from '../../src/mqtt/integration.js';
import type { CommandResponse, InfoPayload, ModelStatePayload, ModelTaskState } from '../../src/mqtt/topics.js';
import { freePort } from '../helpers/mosquitto.js';
import { until } from '../helpers/mqtt.js';
import { testWindow } from '../helpers/windows.js';

const tmp = mkdtempSync(join(tmpdir(), 'ea-mqtt-integration-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const log = pino({ level: 'silent' });

const config = (port: number, over: Record<string, string> = {}): ReturnType<typeof loadConfig> =>
  loadConfig({
    env: {
      EMOTION_AGENT_CAMERAS: JSON.stringify([
        { id: 'door', source: 'rtsp://x/1' },
        { id: 'off', source: 'rtsp://x/2', enabled: false },
      ]),
    },
    argvOverrides: {
      'device.id': 'int-1',
      'mqtt.enabled': 'true',
      'mqtt.url': 'embedded',
      'mqtt.embeddedPort': String(port),
      'outbox.path': join(tmp, `outbox-${port}.db`),
      ...over,
    },
  });

const task = (version: string): ModelTaskState => ({
  state: 'active',
  progress: null,
  version,
  previousVersion: null,
  target: null,
  error: null,
  time: new Date(0).toISOString(),
});

/** Model updates as the integration sees them: one command and a state the test pushes. */
function fakeUpdates(): ModelUpdateLink & { push(s: ModelStatePayload): void } {
  let listener: ((s: ModelStatePayload) => void) | undefined;
  return {
    commands: () => ({ 'model/status': () => ({ stored: true }) }),
    onState: (fn) => {
      listener = fn;
    },
    push: (s) => listener?.(s),
  };
}

describe('MqttIntegration', () => {
  it('is absent when mqtt.enabled is false', () => {
    expect(
      mqttIntegrationFromConfig(loadConfig({ env: {} }), log, { models: () => null, startedAt: () => undefined }),
    ).toBeNull();
  });

  it('embedded: starts the broker, gives one sink that publishes info, camera and model states and answers model commands; stop closes the broker', async () => {
    const port = await freePort();
    const updates = fakeUpdates();
    let models = { detector: 'd@1', classifier: 'c@1' };
    const startedAt = new Date(1000);
    const mqtt = mqttIntegrationFromConfig(config(port), log, {
      models: () => models,
      startedAt: () => startedAt,
      updates,
    })!;
    await mqtt.start();
    await mqtt.start(); // idempotent
    expect(mqtt.sinks.map((s) => s.name)).toEqual(['mqtt']);
    const sub = await connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
    const got: { topic: string; text: string }[] = [];
    sub.on('message', (t, p) => got.push({ topic: t, text: p.toString() }));
    await sub.subscribeAsync('emotion-agent/int-1/#', { qos: 1 });
    const last = (topic: string): string | undefined =>
      got.filter((m) => m.topic === `emotion-agent/int-1/${topic}`).at(-1)?.text;

    const [sink] = mqtt.sinks;
    await sink!.start();
    await until('connected', () => mqtt.stats()?.connected === true);
    mqtt.cameraState({
      id: 'door',
      state: 'backoff',
      previous: 'connecting',
      reason: 'refused',
      since: new Date(0).toISOString(),
    });
    updates.push({ 'face-detector': task('1.0.0'), 'emotion-classifier': task('1.0.0') });
    await sink!.write(testWindow(0, 'door'));
    await until('window, state, model and info', () =>
      ['cameras/door/window', 'cameras/door/state', 'model', 'info'].every((t) => last(t) !== undefined),
    );
    expect(JSON.parse(last('info')!)).toEqual({
      version: expect.any(String) as string,
      models,
      cameras: ['door'],
      startedAt: startedAt.toISOString(),
    } satisfies InfoPayload);
    expect(JSON.parse(last('cameras/door/state')!)).toEqual({
      state: 'backoff',
      since: new Date(0).toISOString(),
      lastError: 'refused',
    });
    expect(JSON.parse(last('model')!)).toMatchObject({ 'emotion-classifier': { version: '1.0.0' } });

    // A new serving version re-publishes info with the models of now.
    models = { detector: 'd@1', classifier: 'c@2' };
    updates.push({ 'face-detector': task('1.0.0'), 'emotion-classifier': task('2.0.0') });
    await until(
      'info names the new model',
      () => (JSON.parse(last('info')!) as InfoPayload).models?.classifier === 'c@2',
    );

    await sub.publishAsync('emotion-agent/int-1/cmd/model/status', '{"id":"q"}');
    await until('reply', () => last('cmd/model/status/response') !== undefined);
    expect(JSON.parse(last('cmd/model/status/response')!)).toMatchObject({
      id: 'q',
      ok: true,
      result: { stored: true },
    } satisfies Partial<CommandResponse>);
    await sub.endAsync();

    await sink!.flush();
    await sink!.stop();
    await mqtt.stop();
    await mqtt.stop(); // idempotent
    expect(mqtt.stats()).toBeNull();
    // The broker is gone: its port can be bound again.
    const again = createServer();
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.listen(port, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((r) => again.close(() => r()));
  });

  it('a taken embedded port means no sink (the agent runs without MQTT), and camera states go nowhere', async () => {
    const port = await freePort();
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
    try {
      const mqtt = mqttIntegrationFromConfig(config(port), log, { models: () => null, startedAt: () => undefined })!;
      await mqtt.start();
      expect(mqtt.sinks).toEqual([]);
      expect(mqtt.stats()).toBeNull();
      mqtt.cameraState({ id: 'door', state: 'streaming', previous: 'connecting', since: new Date(0).toISOString() });
      await mqtt.stop();
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });
});
