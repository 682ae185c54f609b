// The health endpoint of a real agent (FFmpeg capture of a real RTSP server or the demo clip, ONNX
// models, real HTTP): every route, readiness following a camera that goes away and comes back, auth.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/app.js';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import type { ApiStatus } from '../../src/health/status.js';
import { ROOT } from '../helpers/paths.js';
import { RtspTestServer } from '../helpers/rtsp-server.js';
import { waitFor } from '../helpers/async.js';
import { get, healthAgent } from './agent-helpers.js';

const DEMO = join(ROOT, 'var', 'demo', 'demo.mp4');
const tmp = mkdtempSync(join(tmpdir(), 'health-'));
const agents: Agent[] = [];
const servers: RtspTestServer[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function start(agent: Agent): Agent {
  agents.push(agent);
  return agent;
}

describe('health endpoint on loopback (no token)', () => {
  it('answers /healthz, /readyz, /api/status, /api/history, /metrics and the page', async () => {
    const agent = start(
      healthAgent([{ id: 'demo', source: DEMO, loop: true, fps: 5 }], {
        'aggregate.windowS': '2',
        'aggregate.minPeople': '1',
      }),
    );
    await agent.start();
    const url = agent.healthUrl!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    expect((await get(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    await waitFor(async () => (await get(`${url}/readyz`)).status === 200, 20_000, 'ready');
    expect((await get(`${url}/readyz`)).json()).toEqual({ ready: true, reasons: [] });

    // Rates need two snapshots a second apart; faces appear once the clip shows them.
    let s: ApiStatus | undefined;
    await waitFor(
      async () => {
        s = (await get(`${url}/api/status`)).json() as ApiStatus;
        return s.cameras[0]!.fpsAnalysed > 0 && s.cameras[0]!.facesPerS > 0;
      },
      20_000,
      'analysed fps and faces/s',
    );
    const cam = s!.cameras[0]!;
    expect(cam).toMatchObject({ id: 'demo', state: 'streaming', width: 1280, height: 720, reconnects: 0 });
    expect(cam.framesAnalysed).toBeGreaterThan(0);
    expect(cam.lastFrameAgeMs).not.toBeNull();
    expect(s!.models.map((m) => m.task)).toEqual(['face-detector', 'emotion-classifier']);
    expect(s!.models[0]!.version).toMatch(/@\d+\.\d+\.\d+/);
    expect(s!.models[0]!.p95Ms).toBeGreaterThanOrEqual(s!.models[0]!.p50Ms!);
    expect(s!.mqtt).toMatchObject({ enabled: false });
    expect(s!.host.cpus).toBeGreaterThan(0);
    expect(s!.host.disk?.freeBytes).toBeGreaterThan(0);
    expect(s!.preview).toBe(false);
    // Remote updates are on by default: the same per-task state as the MQTT `model` topic.
    expect(s!.modelUpdates?.['emotion-classifier']).toMatchObject({
      state: 'idle',
      version: s!.models[1]!.version.split('@')[1],
    });

    await waitFor(
      async () =>
        Object.values((await get(`${url}/api/history`)).json() as Record<string, unknown[]>).flat().length > 0,
      15_000,
      'a window in the history',
    );

    const metrics = await get(`${url}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(metrics.body).toMatch(/^emotion_agent_camera_up\{camera="demo"\} 1$/m);
    expect(metrics.body).toMatch(/^emotion_agent_camera_frames_analysed_total\{camera="demo"\} [1-9]\d*$/m);
    expect(metrics.body).toMatch(
      /^emotion_agent_inference_latency_seconds\{task="face-detector",quantile="0.95"\} 0\.\d+/m,
    );
    expect(metrics.body).toMatch(/^emotion_agent_ready 1$/m);
    expect(metrics.body).toMatch(/^emotion_agent_model_update_state\{task="emotion-classifier",state="idle"\} 1$/m);
    expect(metrics.body).toMatch(/^emotion_agent_process_resident_memory_bytes \d+/m);
    expect(metrics.body).not.toMatch(/emotion_agent_mqtt_connected/); // MQTT is off: absent, not 0

    const page = await get(`${url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.body).toContain('<script type="module" src="/app.js">');
    expect((await get(`${url}/app.js`)).status).toBe(200);
    expect((await get(`${url}/nope`)).status).toBe(404);
    expect((await get(`${url}/../package.json`)).status).toBe(404);
    expect((await fetch(`${url}/api/status`, { method: 'POST' })).status).toBe(405);
  }, 60_000);

  it('turns not ready naming the camera while its RTSP server is gone, and ready again when it is back', async () => {
    const rtsp = await RtspTestServer.start({ file: DEMO });
    servers.push(rtsp);
    const agent = start(
      healthAgent([
        { id: 'door', source: rtsp.url, fps: 5, stallTimeoutS: 2, backoff: { initialMs: 200, maxMs: 1000 } },
      ]),
    );
    await agent.start();
    const url = agent.healthUrl!;
    await waitFor(async () => (await get(`${url}/readyz`)).status === 200, 30_000, 'ready');

    await rtsp.kill();
    await waitFor(async () => (await get(`${url}/readyz`)).status === 503, 20_000, '503 after the camera went away');
    const body = (await get(`${url}/readyz`)).json() as { ready: boolean; reasons: string[] };
    expect(body.ready).toBe(false);
    expect(body.reasons.join('\n')).toMatch(/camera door/);
    const metrics = (await get(`${url}/metrics`)).body;
    expect(metrics).toMatch(/^emotion_agent_ready 0$/m);

    await rtsp.restart();
    await waitFor(async () => (await get(`${url}/readyz`)).status === 200, 30_000, 'ready again');
    const s = (await get(`${url}/api/status`)).json() as ApiStatus;
    expect(s.cameras[0]!.reconnects).toBeGreaterThan(0);
  }, 90_000);
});

describe('health endpoint off loopback', () => {
  it('refuses to start without a token, naming the key', () => {
    expect(() => loadConfig({ env: {}, argvOverrides: { 'http.host': '0.0.0.0' } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: {}, argvOverrides: { 'http.host': '0.0.0.0' } })).toThrow(
      /http\.token: required when http\.host is 0\.0\.0\.0/,
    );
  });

  it('requires the bearer token on every route but /healthz', async () => {
    const tokenFile = join(tmp, 'http.token');
    writeFileSync(tmp + '/http.token', 's3cret-token\n');
    const agent = start(
      healthAgent([{ id: 'demo', source: DEMO, loop: true, fps: 5 }], {
        'http.host': '0.0.0.0',
        'http.tokenFile': tokenFile,
      }),
    );
    await agent.start();
    const url = agent.healthUrl!.replace('0.0.0.0', '127.0.0.1');
    expect((await get(`${url}/healthz`)).status).toBe(200);
    for (const route of ['/readyz', '/api/status', '/api/history', '/api/events', '/metrics']) {
      const none = await get(`${url}${route}`);
      expect(none.status, route).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await get(`${url}${route}`, 'wrong-token!')).status, route).toBe(401);
    }
    expect((await get(`${url}/api/status`, 's3cret-token')).status).toBe(200);
    expect((await get(`${url}/metrics`, 's3cret-token')).status).toBe(200);
    // The page itself loads (it holds no data) and then asks for the token.
    expect((await get(`${url}/`)).status).toBe(200);
  }, 60_000);
});
