// Remote model updates end to end (issue 6): the agent as a real process (inference worker, FFmpeg on
// the demo clip), a real Mosquitto, a local HTTPS server with its own CA, real ONNX models built from
// the shipped ones. One agent goes through the whole story, as a kiosk would: a good update without a
// lost window, every bad case refused with the old model serving, a resumed download, rollbacks by
// command, automatically on NaN, and after a crash loop, and SIGKILL in the middle of an update.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelTaskState } from '../src/mqtt/topics.js';
import { push, updateArgs } from '../src/cli/models-push.js';
import { generateKeys } from '../src/models/signing.js';
import { AgentProcess, Observer, waitFor } from './helpers/agent-process.js';
import { HttpsFiles } from './helpers/https-files.js';
import { Mosquitto } from './helpers/mosquitto.js';
import { ROOT } from './helpers/paths.js';
import {
  makeBundle,
  shippedEmotion,
  shippedVariant,
  withExtraClass,
  withInputSize,
  withNaNOnRealImages,
  withNaNOutput,
  withSlowChain,
} from './models/fixtures.js';

const TASK = 'emotion-classifier' as const;
const tmp = mkdtempSync(join(tmpdir(), 'ea-e2e-model-'));
const keys = generateKeys();
const rogue = generateKeys();
let broker: Mosquitto;
let https: HttpsFiles;
let agent: AgentProcess;
let obs: Observer;
const lines: string[] = [];

const state = (): ModelTaskState => obs.model![TASK];
const bundle = (name: string): string => join(tmp, 'bundles', name);

/** Serves a bundle's files under /<name>/ (optionally tampering one or cutting the first transfer). */
function serve(name: string, opts: { tamper?: boolean; cutFirst?: boolean } = {}): string {
  const dir = bundle(name);
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { files: Record<string, unknown> };
  for (const f of Object.keys(m.files)) {
    const bytes = Buffer.from(readFileSync(join(dir, f)));
    if (opts.tamper && f === 'model.onnx') bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 0xff;
    https.put(`/${name}/${f}`, {
      bytes,
      token: 'sesame',
      ...(opts.cutFirst && f === 'model.onnx' ? { cutFirst: true } : {}),
    });
  }
  return `${https.url}/${name}`;
}

const pushTo = (name: string, baseUrl?: string, settleS = 0): Promise<boolean> =>
  push(
    bundle(name),
    {
      broker: broker.url,
      device: 'kiosk-1',
      prefix: 'emotion-agent',
      timeout: 120,
      replyWaitS: 1,
      settleS,
      ...(baseUrl ? { baseUrl, token: 'sesame' } : {}),
    },
    (l) => lines.push(l),
  );

/** A fresh window with analysed faces after `since`: the model serving can do its job. */
async function servesAfter(since: number): Promise<void> {
  // startMs: a window analysed entirely after `since` (replayed windows from before a restart do not count).
  await waitFor(
    () => obs.windows.some((w) => w.startMs >= since && w.framesAnalysed > 0 && w.faceDetections > 0),
    30_000,
    'a window with faces',
  );
}

/** Starts the agent and waits for its own first model state and window (not the retained ones of the last run). */
async function startAgent(): Promise<void> {
  const states = obs.modelStates.length;
  const t0 = Date.now();
  agent.start();
  await waitFor(
    () => obs.modelStates.length > states && obs.windows.some((w) => w.receivedAt > t0),
    60_000,
    'the agent to publish',
  );
}

beforeAll(async () => {
  broker = await Mosquitto.start();
  https = await HttpsFiles.start();
  obs = await Observer.start(broker.url, 'emotion-agent/kiosk-1');
  const v = (
    name: string,
    version: string,
    key: string | undefined,
    edit?: Parameters<typeof shippedVariant>[4],
    golden = 2,
    src = 'emotion-int8',
  ): Promise<string> => shippedVariant(bundle(name), src, version, key, edit, golden);
  const k = keys.privatePem;
  await v('good', '2.0.0', k, undefined, 2, 'emotion-fp32');
  await v('badsig', '2.1.0', rogue.privatePem);
  await v('tampered', '2.2.0', k);
  await v('unsigned', '2.3.0', undefined);
  await v('shape', '2.4.0', k, (_m, b) => withInputSize(b, 48), 0);
  await v(
    'labels',
    '2.5.0',
    k,
    (m, b) => {
      (m.outputs as { shape: number[] }[])[0]!.shape = [-1, 8];
      return withExtraClass(b);
    },
    0,
  );
  await v('corrupt', '2.6.0', k, (_m, b) => b.subarray(0, 5000), 0);
  await v('nan', '2.7.0', k, (_m, b) => withNaNOutput(b), 0);
  await v('slow', '2.8.0', k, (_m, b) => withSlowChain(b, 600));
  await v('resumed', '3.0.0', k);
  await v('autonan', '4.0.0', k, (_m, b) => withNaNOnRealImages(b), 2, 'emotion-fp32');
  await v('later', '5.0.0', k);
  await v('fleet', '6.0.0', k);
  const { manifest, model } = shippedEmotion();
  manifest.version = '3.1.0';
  await makeBundle(
    bundle('oversize'),
    manifest,
    { 'model.onnx': model, 'padding.bin': Buffer.alloc(3 * 1024 * 1024, 7) },
    { key: k, golden: 0 },
  );
  agent = new AgentProcess(
    {
      EMOTION_AGENT_DEVICE_ID: 'kiosk-1',
      EMOTION_AGENT_CAMERAS: JSON.stringify([
        { id: 'demo', source: join(ROOT, 'var', 'demo', 'demo.mp4'), loop: true, fps: 4 },
      ]),
      EMOTION_AGENT_AGGREGATE_WINDOW_S: '2',
      EMOTION_AGENT_AGGREGATE_MIN_PEOPLE: '1',
      EMOTION_AGENT_SINKS_JSONL_ENABLED: 'false',
      EMOTION_AGENT_INFERENCE_THREADS: '1',
      EMOTION_AGENT_HTTP_PORT: '0',
      EMOTION_AGENT_MQTT_ENABLED: 'true',
      EMOTION_AGENT_MQTT_URL: broker.url,
      EMOTION_AGENT_MQTT_STATS_INTERVAL_S: '0',
      EMOTION_AGENT_OUTBOX_PATH: join(tmp, 'outbox.db'),
      EMOTION_AGENT_LOG_LEVEL: 'info',
      // The update checks count versions from the borrowed model's 1.0.0, whatever the default is.
      EMOTION_AGENT_MODELS_CLASSIFIER: join(ROOT, 'models', 'emotion-int8'),
      EMOTION_AGENT_MODELS_UPDATE_TRUSTED_KEYS: keys.publicKey,
      EMOTION_AGENT_MODELS_UPDATE_DIR: join(tmp, 'store'),
      EMOTION_AGENT_MODELS_UPDATE_CA: https.caFile,
      EMOTION_AGENT_MODELS_UPDATE_LATENCY_MULTIPLE: '5',
      EMOTION_AGENT_MODELS_UPDATE_MAX_FILE_BYTES: String(2 * 1024 * 1024),
      EMOTION_AGENT_MODELS_UPDATE_CRASH_LOOP_BOOTS: '1',
    },
    tmp,
  );
  await startAgent();
}, 300_000);

afterAll(async () => {
  await agent?.kill();
  await obs?.close();
  await https?.close();
  await broker?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

describe('remote model update, end to end', () => {
  it('a good update (HTTPS, bearer token) becomes active without a lost window', async () => {
    expect(state()).toMatchObject({ state: 'idle', version: '1.0.0' });
    const before = obs.windows.length;
    expect(await pushTo('good', serve('good'))).toBe(true);
    expect(state()).toMatchObject({ state: 'active', version: '2.0.0', previousVersion: '1.0.0', error: null });
    await waitFor(() => obs.info?.models?.classifier === 'emotion@2.0.0', 10_000, 'info naming the new model');
    const activeAt = Date.now();
    await waitFor(
      () => obs.windows.filter((w) => w.receivedAt > activeAt).length >= 2,
      30_000,
      'two windows after activation',
    );
    // No window lost across the swap: seq has no gap and each window starts where the last one ended.
    const ws = obs.windows.slice(Math.max(0, before - 1));
    for (let i = 1; i < ws.length; i++) {
      expect(ws[i]!.seq).toBe(ws[i - 1]!.seq + 1);
      expect(ws[i]!.startMs).toBe(ws[i - 1]!.endMs);
    }
    expect(ws.at(-1)!.framesAnalysed).toBeGreaterThan(0);
    expect(https.requests.filter((r) => r.path.startsWith('/good/')).every((r) => r.status === 200)).toBe(true);
    const status = await obs.command('model/status');
    expect(status).toMatchObject({
      ok: true,
      result: { [TASK]: { version: '2.0.0' }, stored: { [TASK]: { current: { version: '2.0.0' } } } },
    });
  }, 120_000);

  const bad: [string, string, RegExp, boolean][] = [
    ['a bad signature', 'badsig', /bad signature: .* does not verify against any trusted key/, false],
    ['a tampered file', 'tampered', /files\.model\.onnx: sha256 .* \(tampered or corrupt\)/, true],
    ['an unsigned bundle', 'unsigned', /unsigned bundle refused/, false],
    [
      'a wrong input shape',
      'shape',
      /input\.shape: manifest says \[-1,64,64,1\], the ONNX model has \[.*48,48,1\]/,
      false,
    ],
    ['wrong labels', 'labels', /labels\.modelOrder: 7 labels but output "probabilities" has 8 classes/, false],
    ['a corrupt ONNX file', 'corrupt', /model\.onnx: ONNX Runtime cannot load it/, false],
    ['a model producing NaN', 'nan', /produces NaN/, false],
    ['a too slow model', 'slow', /too slow: .* more than 5x the serving model's/, false],
    [
      'an oversize file',
      'oversize',
      /files\.padding\.bin: oversize: 3145728 bytes exceeds models\.update\.maxFileBytes/,
      true,
    ],
  ];
  for (const [what, name, error, viaUrl] of bad) {
    it(`refuses ${what}: the old model keeps serving, the model state says why`, async () => {
      const t0 = Date.now();
      expect(await pushTo(name, viaUrl ? serve(name, { tamper: name === 'tampered' }) : undefined)).toBe(false);
      expect(state()).toMatchObject({ state: 'failed', version: '2.0.0' });
      expect(state().error).toMatch(error);
      await servesAfter(t0);
    }, 120_000);
  }

  it('the oversize file was refused before any byte was downloaded', () => {
    expect(https.requests.some((r) => r.path.startsWith('/oversize/'))).toBe(false);
  });

  it('an interrupted download resumes with a Range request and the update activates', async () => {
    expect(await pushTo('resumed', serve('resumed', { cutFirst: true }))).toBe(true);
    const reqs = https.requests.filter((r) => r.path === '/resumed/model.onnx');
    expect(reqs[0]).toMatchObject({ status: 200, range: undefined });
    expect(reqs[1]?.status).toBe(206);
    expect(reqs[1]?.range).toMatch(/^bytes=[1-9]\d*-$/);
    expect(state()).toMatchObject({ state: 'active', version: '3.0.0', previousVersion: '2.0.0' });
  }, 120_000);

  it('a second update while one runs is refused as busy', async () => {
    const first = pushTo('later');
    // Validation alone (a child process loading ONNX Runtime) takes far longer than one command round trip.
    await waitFor(
      () => state().target === '5.0.0' && ['verifying', 'downloading', 'validating'].includes(state().state),
      20_000,
      'the first update to run',
    );
    const r = await obs.command('model/update', updateArgs(bundle('later'), {}).args);
    expect(r).toMatchObject({ ok: false, error: { code: 'busy' } });
    expect(await first).toBe(true);
  }, 120_000);

  it('rolls back by command to the previous version', async () => {
    const r = await obs.command('model/rollback', { task: TASK });
    expect(r).toMatchObject({ ok: true, result: { accepted: true, from: '5.0.0' } });
    await waitFor(() => state().state === 'rolled_back', 30_000, 'rolled_back');
    expect(state()).toMatchObject({ version: '3.0.0', previousVersion: '5.0.0' });
    expect(state().error).toMatch(/rolled back by command/);
    const t0 = Date.now();
    await servesAfter(t0);
  }, 60_000);

  it('rolls back automatically when the new model gives NaN on real frames', async () => {
    // It passes validation (only real faces make it fail) and activates; push watches and reports the rollback as a failure.
    expect(await pushTo('autonan', undefined, 60)).toBe(false);
    await waitFor(
      () => state().state === 'rolled_back' && state().previousVersion === '4.0.0',
      60_000,
      'the automatic rollback',
    );
    expect(state().version).toBe('3.0.0');
    expect(state().error).toMatch(/automatic rollback: NaN outputs on 3 frames after activation/);
    await servesAfter(Date.now());
  }, 120_000);

  it('SIGKILL in the middle of an update: after the restart the old model serves and the state says it was interrupted', async () => {
    const done = pushTo('later');
    await waitFor(() => state().state === 'validating' && state().target === '5.0.0', 60_000, 'validating');
    await agent.kill('SIGKILL');
    void done; // the device is gone; push ends at its timeout
    const t0 = Date.now();
    await startAgent();
    await waitFor(
      () => state().state === 'failed' && state().error?.includes('interrupted by a restart') === true,
      60_000,
      'the reset state',
    );
    expect(state()).toMatchObject({ state: 'failed', version: '3.0.0', target: '5.0.0' });
    expect(state().error).toMatch(/interrupted by a restart while validating version 5\.0\.0/);
    await servesAfter(t0);
    const status = await obs.command('model/status');
    expect(status).toMatchObject({ ok: true, result: { stored: { [TASK]: { current: { version: '3.0.0' } } } } });
  }, 180_000);

  it('a crash loop after an activation rolls back at boot, and says so', async () => {
    expect(await pushTo('later')).toBe(true);
    expect(state()).toMatchObject({ state: 'active', version: '5.0.0' });
    await agent.kill('SIGKILL');
    await startAgent(); // boot 1 on probation: allowed (crashLoopBoots = 1)
    await waitFor(() => state().version === '5.0.0' && state().state === 'active', 30_000, '5.0.0 after one restart');
    await agent.kill('SIGKILL');
    const t0 = Date.now();
    await startAgent(); // boot 2: a crash loop
    await waitFor(
      () => state().state === 'rolled_back' && state().previousVersion === '5.0.0',
      60_000,
      'the crash-loop rollback',
    );
    expect(state().version).toBe('3.0.0');
    expect(state().error).toMatch(/crash loop: 1 restarts while version 5\.0\.0 was on probation/);
    await servesAfter(t0);
  }, 240_000);

  it('a fleet-wide push (--all) updates every device that answers', async () => {
    const out: string[] = [];
    // A newer version than the serving 3.0.0: a lower one would be refused as a downgrade (test/e2e-model-safety.test.ts).
    const ok = await push(
      bundle('fleet'),
      { broker: broker.url, all: true, prefix: 'emotion-agent', timeout: 120, replyWaitS: 2, settleS: 0 },
      (l) => out.push(l),
    );
    expect(ok, out.join('\n')).toBe(true);
    expect(out).toContain('kiosk-1 accepted emotion-classifier@6.0.0');
    expect(state()).toMatchObject({ state: 'active', version: '6.0.0', previousVersion: '3.0.0' });
  }, 120_000);
});
