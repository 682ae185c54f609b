// Issue 13, defects 2 and 4, end to end: the agent as a real process (FFmpeg on the demo clip, inference
// worker, real ONNX models), a real Mosquitto, signed bundles built from the shipped model.
// - A model that passes validation but outputs NaN on real faces: no frame with NaN reaches a window
//   (discarded and counted), every window matches its JSON Schema, and `model push` reports the
//   device's automatic rollback as a failure.
// - Replay/downgrade: a lower version than the serving one is refused unless the command asks for it AND
//   the signed manifest allows it; a permission added to the manifest without re-signing is refused by the
//   signature; model/rollback keeps working.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiStatus } from '../src/health/status.js';
import { push, updateArgs } from '../src/cli/models-push.js';
import { generateKeys } from '../src/models/signing.js';
import type { ModelTaskState } from '../src/mqtt/topics.js';
import { AgentProcess, Observer, waitFor } from './helpers/agent-process.js';
import { Mosquitto } from './helpers/mosquitto.js';
import { freePort } from './helpers/net.js';
import { ROOT } from './helpers/paths.js';
import { shippedVariant, withNaNOnRealImages } from './models/fixtures.js';

const TASK = 'emotion-classifier' as const;
const tmp = mkdtempSync(join(tmpdir(), 'ea-e2e-safety-'));
const keys = generateKeys();
const validWindow = new Ajv({ strict: false }).compile(
  JSON.parse(readFileSync(join(ROOT, 'docs', 'mqtt', 'window.schema.json'), 'utf8')) as object,
);
let broker: Mosquitto;
let agent: AgentProcess;
let obs: Observer;
let port = 0;

const state = (): ModelTaskState => obs.model![TASK];
const bundle = (name: string): string => join(tmp, 'bundles', name);
const pushTo = async (
  name: string,
  o: { settleS?: number; allowDowngrade?: boolean } = {},
): Promise<{ ok: boolean; lines: string[] }> => {
  const lines: string[] = [];
  const ok = await push(
    bundle(name),
    { broker: broker.url, device: 'kiosk-s', prefix: 'emotion-agent', timeout: 120, replyWaitS: 1, settleS: 0, ...o },
    (l) => lines.push(l),
  );
  return { ok, lines };
};
const status = async (): Promise<ApiStatus> =>
  (await (await fetch(`http://127.0.0.1:${port}/api/status`)).json()) as ApiStatus;

beforeAll(async () => {
  broker = await Mosquitto.start();
  obs = await Observer.start(broker.url, 'emotion-agent/kiosk-s');
  const k = keys.privatePem;
  const allow = (m: Record<string, unknown>, b: Uint8Array): Uint8Array => {
    m.allowDowngrade = true;
    return b;
  };
  await shippedVariant(bundle('nanfaces'), 'emotion-fp32', '2.0.0', k, (_m, b) => withNaNOnRealImages(b), 2);
  await shippedVariant(bundle('newer'), 'emotion-int8', '3.0.0', k);
  await shippedVariant(bundle('older'), 'emotion-int8', '2.5.0', k);
  await shippedVariant(bundle('older-allowed'), 'emotion-int8', '2.6.0', k, allow);
  port = await freePort();
  agent = new AgentProcess(
    {
      EMOTION_AGENT_DEVICE_ID: 'kiosk-s',
      EMOTION_AGENT_CAMERAS: JSON.stringify([
        { id: 'demo', source: join(ROOT, 'var', 'demo', 'demo.mp4'), loop: true, fps: 4 },
      ]),
      EMOTION_AGENT_AGGREGATE_WINDOW_S: '2',
      EMOTION_AGENT_AGGREGATE_MIN_PEOPLE: '1',
      EMOTION_AGENT_SINKS_JSONL_ENABLED: 'false',
      EMOTION_AGENT_INFERENCE_THREADS: '1',
      EMOTION_AGENT_HTTP_PORT: String(port),
      EMOTION_AGENT_MQTT_ENABLED: 'true',
      EMOTION_AGENT_MQTT_URL: broker.url,
      EMOTION_AGENT_MQTT_STATS_INTERVAL_S: '0',
      EMOTION_AGENT_OUTBOX_PATH: join(tmp, 'outbox.db'),
      EMOTION_AGENT_LOG_LEVEL: 'info',
      // The update checks count versions from the borrowed model's 1.0.0, whatever the default is.
      EMOTION_AGENT_MODELS_CLASSIFIER: join(ROOT, 'models', 'emotion-int8'),
      EMOTION_AGENT_MODELS_UPDATE_TRUSTED_KEYS: keys.publicKey,
      EMOTION_AGENT_MODELS_UPDATE_DIR: join(tmp, 'store'),
      EMOTION_AGENT_MODELS_UPDATE_LATENCY_MULTIPLE: '5',
    },
    tmp,
  );
  const t0 = Date.now();
  agent.start();
  await waitFor(
    () => obs.model !== undefined && obs.windows.some((w) => w.receivedAt > t0 && w.faceDetections > 0),
    90_000,
    'the agent to publish a window with faces',
  );
}, 240_000);

afterAll(async () => {
  await agent?.kill();
  await obs?.close();
  await broker?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

describe('model safety, end to end', () => {
  it('NaN on real faces: frames discarded and counted, every window valid, and push fails on the automatic rollback', async () => {
    const { ok, lines } = await pushTo('nanfaces', { settleS: 30 });
    expect(ok, lines.join('\n')).toBe(false);
    expect(lines.join('\n')).toMatch(/kiosk-s emotion-classifier rolled_back 1\.0\.0: automatic rollback: NaN outputs/);
    expect(state()).toMatchObject({ state: 'rolled_back', version: '1.0.0', previousVersion: '2.0.0' });
    const since = Date.now();
    await waitFor(
      () => obs.windows.some((w) => w.startMs >= since && w.faceDetections > 0),
      30_000,
      'a window with faces after the rollback',
    );
    expect((await status()).cameras[0]!.framesDiscarded).toBeGreaterThan(0);
    for (const w of obs.windows) {
      const payload: Partial<typeof w> = { ...w };
      delete payload.receivedAt; // added by the observer
      expect(validWindow(payload), `${JSON.stringify(payload)}: ${JSON.stringify(validWindow.errors)}`).toBe(true);
    }
    expect(
      obs.windows.every((w) => w.meanProbabilities === null || w.meanProbabilities.every((p) => typeof p === 'number')),
    ).toBe(true);
  }, 180_000);

  it('refuses a lower version unless the command asks AND the signed manifest allows it; rollback still works', async () => {
    expect((await pushTo('newer')).ok).toBe(true);
    expect(state()).toMatchObject({ state: 'active', version: '3.0.0' });
    // A replay of an older signed bundle, with and without the command's flag: no permission signed in.
    for (const allowDowngrade of [false, true]) {
      const r = await pushTo('older', { allowDowngrade });
      expect(r.ok).toBe(false);
      expect(r.lines.join('\n')).toMatch(
        /refused: bad_request: version 2\.5\.0 is lower than the serving 3\.0\.0: refused as a downgrade or replay \(.*signed manifest does not carry allowDowngrade/,
      );
    }
    // Signed permission but the operator did not ask.
    const asked = await pushTo('older-allowed');
    expect(asked.lines.join('\n')).toMatch(/command does not say args\.allowDowngrade: true\)/);
    // The permission added to the manifest after signing: accepted for checking, then refused by the signature.
    const { args } = updateArgs(bundle('older'), {});
    const forged = await obs.command('model/update', {
      ...args,
      manifest: { ...(args.manifest as object), allowDowngrade: true },
      allowDowngrade: true,
    });
    expect(forged).toMatchObject({ ok: true });
    await waitFor(
      () => state().state === 'failed' && state().target === '2.5.0',
      30_000,
      'the forged permission refused',
    );
    expect(state().error).toMatch(/signature/);
    expect(state().version).toBe('3.0.0');
    // Both: a deliberate downgrade.
    const deliberate = await pushTo('older-allowed', { allowDowngrade: true });
    expect(deliberate.ok, deliberate.lines.join('\n')).toBe(true);
    expect(state()).toMatchObject({ state: 'active', version: '2.6.0', previousVersion: '3.0.0' });
    // The explicit rollback command returns to the version before, whatever its number.
    expect(await obs.command('model/rollback', { task: TASK })).toMatchObject({ ok: true });
    await waitFor(() => state().state === 'rolled_back', 30_000, 'rolled_back');
    expect(state()).toMatchObject({ version: '3.0.0', previousVersion: '2.6.0' });
  }, 240_000);
});
