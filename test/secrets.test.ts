// No planted secret in any output channel (issue 13, defect 3): the agent as a real process with a real
// RTSP server that wants a password, a real Mosquitto that wants one, and secrets planted everywhere a
// secret can be configured: URL userinfo, ?password= in a URL, GStreamer's user-pw=, the camera and MQTT
// password fields, the HTTP token. Three cameras are refused (401), so their decoders' error texts are
// logged (debug level) and published as camera state. Every channel is then searched: stdout, stderr,
// the JSON-lines file, every MQTT message under the device's root (config/get reply included) and
// every HTTP route.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, waitFor } from './helpers/agent-process.js';
import { Mosquitto } from './helpers/mosquitto.js';
import { freePort } from './helpers/net.js';
import { ROOT } from './helpers/paths.js';
import { RtspTestServer } from './helpers/rtsp-server.js';
import { findSecrets, PLANTED } from './helpers/secrets.js';

const DEMO = join(ROOT, 'var', 'demo', 'demo.mp4');
const ROOT_TOPIC = 'emotion-agent/sec-1';
const tmp = mkdtempSync(join(tmpdir(), 'ea-secrets-'));
let broker: Mosquitto;
let rtsp: RtspTestServer;
let agent: AgentProcess;
let watcher: MqttClient;
let mqttText = '';
let port = 0;

const http = async (path: string): Promise<string> => {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    headers: { authorization: `Bearer ${PLANTED.httpToken}` },
  });
  return `${res.status} ${JSON.stringify([...res.headers])}\n${await res.text()}`;
};

/** The first chunk of the event stream (it starts with a full status). */
async function firstEvents(): Promise<string> {
  const ac = new AbortController();
  const res = await fetch(`http://127.0.0.1:${port}/api/events`, {
    headers: { authorization: `Bearer ${PLANTED.httpToken}` },
    signal: ac.signal,
  });
  const reader = res.body!.getReader();
  const { value } = await reader.read();
  ac.abort();
  return Buffer.from(value ?? new Uint8Array()).toString('utf8');
}

beforeAll(async () => {
  broker = await Mosquitto.start({ users: { agent: PLANTED.mqttPassword, watcher: 'watch-pw' } });
  rtsp = await RtspTestServer.start({ file: DEMO, user: 'viewer', password: PLANTED.cameraField });
  port = await freePort();
  watcher = await connectAsync(broker.url, { username: 'watcher', password: 'watch-pw', reconnectPeriod: 200 });
  watcher.on('message', (topic, payload) => {
    mqttText += `${topic} ${payload.toString('utf8')}\n`;
  });
  await watcher.subscribeAsync(`${ROOT_TOPIC}/#`, { qos: 1 });
  const cameras = [
    { id: 'good', source: rtsp.url, username: 'viewer', password: PLANTED.cameraField, fps: 2 },
    { id: 'userinfo', source: rtsp.url.replace('rtsp://', `rtsp://viewer:${PLANTED.urlUserinfo}@`), fps: 2 },
    { id: 'query', source: `${rtsp.url}?password=${PLANTED.queryParam}`, fps: 2 },
    {
      id: 'gst',
      kind: 'gstreamer',
      source: `rtspsrc location=${rtsp.url} user-id=viewer user-pw=${PLANTED.gstUserPw} ! rtph264depay ! h264parse ! avdec_h264`,
      width: 320,
      height: 180,
      fps: 2,
    },
  ];
  agent = new AgentProcess(
    {
      EMOTION_AGENT_DEVICE_ID: 'sec-1',
      EMOTION_AGENT_LOG_LEVEL: 'debug',
      EMOTION_AGENT_CAMERAS: JSON.stringify(cameras),
      EMOTION_AGENT_AGGREGATE_WINDOW_S: '2',
      EMOTION_AGENT_INFERENCE_THREADS: '1',
      EMOTION_AGENT_MQTT_ENABLED: 'true',
      EMOTION_AGENT_MQTT_URL: broker.url,
      EMOTION_AGENT_MQTT_USERNAME: 'agent',
      EMOTION_AGENT_MQTT_PASSWORD: PLANTED.mqttPassword,
      EMOTION_AGENT_MQTT_STATS_INTERVAL_S: '1',
      EMOTION_AGENT_OUTBOX_PATH: join(tmp, 'outbox.db'),
      EMOTION_AGENT_SINKS_JSONL_PATH: join(tmp, 'windows.jsonl'),
      EMOTION_AGENT_HTTP_PORT: String(port),
      EMOTION_AGENT_HTTP_TOKEN: PLANTED.httpToken,
      EMOTION_AGENT_MODELS_UPDATE_DIR: join(tmp, 'models'),
    },
    tmp,
  );
  agent.start();
}, 60_000);

afterAll(async () => {
  await agent?.kill();
  await watcher?.endAsync();
  await rtsp?.close();
  await broker?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

describe('secrets', () => {
  it('appear in no output channel: logs, windows, MQTT, HTTP', async () => {
    // Every camera has had its say: the good one streams, the three refused ones have a reason.
    await waitFor(
      () =>
        ['good', 'userinfo', 'query', 'gst'].every((id) => mqttText.includes(`${ROOT_TOPIC}/cameras/${id}/state`)) &&
        /cameras\/good\/state \{"state":"streaming"/.test(mqttText) &&
        (mqttText.match(/"state":"failed"/g)?.length ?? 0) >= 3 &&
        mqttText.includes('/window ') &&
        agent.output.includes('decoder exited'),
      90_000,
      'camera states, a window and a decoder error',
    );
    await watcher.publishAsync(`${ROOT_TOPIC}/cmd/config/get`, JSON.stringify({ id: 'cfg' }), { qos: 1 });
    await waitFor(() => mqttText.includes('cmd/config/get/response'), 10_000, 'the config/get reply');
    const channels: Record<string, string> = {
      'http /': await http('/'),
      'http /api/status': await http('/api/status'),
      'http /metrics': await http('/metrics'),
      'http /readyz': await http('/readyz'),
      'http /api/history': await http('/api/history'),
      'http /api/events': await firstEvents(),
    };
    await agent.kill('SIGTERM');
    Object.assign(channels, {
      'stdout+stderr': agent.output,
      mqtt: mqttText,
      jsonl: readFileSync(join(tmp, 'windows.jsonl'), 'utf8'),
    });
    // The channels really carry what a leak would be in: the sources (masked) and the decoders' errors.
    expect(agent.output).toMatch(/"msg":"capture starting"/);
    expect(agent.output).toContain('password=***');
    expect(agent.output).toContain('user-pw=***');
    expect(mqttText).toMatch(/Unauthorized/);
    expect(findSecrets(channels)).toEqual([]);
  }, 150_000);
});
