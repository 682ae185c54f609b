// One chaos run (see index.ts for the command): sets up the world and the agent, plays seeded episodes
// for the given minutes, mends everything, lets the agent deliver what it holds, stops it cleanly, and
// reckons. Returns the report; the caller prints and writes it.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeys } from '../../src/models/signing.js';
import { freePort } from '../../test/helpers/net.js';
import { MODELS } from '../../test/helpers/paths.js';
import { prng } from '../../test/helpers/prng.js';
import { PLANTED } from '../../test/helpers/secrets.js';
import { ChaosAgent, type Crash } from './agent.js';
import { Episodes, type EpisodeLog, type PushOutcome } from './episodes.js';
import { outboxAccount, reckon, type Reckoning } from './reckoning.js';
import { Subscriber } from './subscriber.js';
import { startWorld } from './world.js';

export interface ChaosOptions {
  minutes: number;
  seed: number;
  dir: string;
  clip: string;
}

export interface ChaosReport extends Reckoning {
  seed: number;
  minutes: number;
  startedAt: string;
  finishedAt: string;
  tmpfs: boolean;
  crashes: Crash[];
  agentStarts: number;
  maxRssMb: number;
  episodes: EpisodeLog[];
  pushes: PushOutcome[];
  /** Pushes that ended otherwise than their kind must (a timeout under load counts here too, and is listed). */
  unexpectedPushOutcomes: number;
  diskFullReadiness: { notReady: number; checked: number };
  drained: boolean;
}

const DEVICE = 'chaos-1';
const ROOT_TOPIC = `emotion-agent/${DEVICE}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const startedAt = new Date().toISOString();
  mkdirSync(o.dir, { recursive: true });
  const rand = prng(o.seed);
  const world = await startWorld(o.dir, o.clip);
  const keys = generateKeys();
  const port = await freePort();
  const http: string[] = [];
  const fetchText = async (path: string): Promise<string | null> => {
    try {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, {
        headers: { authorization: `bearer ${PLANTED.httpToken}` },
        signal: AbortSignal.timeout(5000),
      });
      const text = await res.text();
      http.push(`${path} ${res.status}\n${text}`);
      return `${res.status} ${text}`;
    } catch {
      return null;
    }
  };
  const rtsp = world.rtsp.url;
  const cameras = [
    { id: 'file', source: o.clip, loop: true, fps: 2 },
    {
      id: 'flappy',
      source: rtsp,
      username: 'viewer',
      password: PLANTED.cameraField,
      fps: 2,
      backoff: { initialMs: 500, maxMs: 5000 },
    },
    {
      id: 'silent',
      source: `rtsp://127.0.0.1:${world.silentPort}/live?password=${PLANTED.queryParam}`,
      fps: 2,
      connectTimeoutS: 3,
      backoff: { initialMs: 1000, maxMs: 10_000 },
    },
    { id: 'wrongpw', source: rtsp.replace('rtsp://', `rtsp://viewer:${PLANTED.urlUserinfo}@`), fps: 1 },
    {
      id: 'gst',
      kind: 'gstreamer',
      source: `rtspsrc location=${rtsp} user-id=viewer user-pw=${PLANTED.gstUserPw} ! rtph264depay ! h264parse ! avdec_h264`,
      width: 320,
      height: 180,
      fps: 1,
    },
  ];
  const outboxPath = join(world.outboxDir, 'outbox.db');
  const agent = new ChaosAgent(
    {
      EMOTION_AGENT_DEVICE_ID: DEVICE,
      EMOTION_AGENT_LOG_LEVEL: 'debug',
      EMOTION_AGENT_CAMERAS: JSON.stringify(cameras),
      EMOTION_AGENT_AGGREGATE_WINDOW_S: '5',
      EMOTION_AGENT_AGGREGATE_MIN_PEOPLE: '1',
      EMOTION_AGENT_INFERENCE_THREADS: '1',
      EMOTION_AGENT_SINKS_JSONL_PATH: join(o.dir, 'windows.jsonl'),
      EMOTION_AGENT_MQTT_ENABLED: 'true',
      EMOTION_AGENT_MQTT_URL: world.broker.url,
      EMOTION_AGENT_MQTT_USERNAME: 'agent',
      EMOTION_AGENT_MQTT_PASSWORD: PLANTED.mqttPassword,
      EMOTION_AGENT_MQTT_STATS_INTERVAL_S: '5',
      EMOTION_AGENT_OUTBOX_PATH: outboxPath,
      EMOTION_AGENT_HTTP_PORT: String(port),
      EMOTION_AGENT_HTTP_TOKEN: PLANTED.httpToken,
      // The pushes count versions up from the borrowed model's 1.0.0 (episodes.ts), whatever the default is.
      EMOTION_AGENT_MODELS_CLASSIFIER: join(MODELS, 'emotion-int8'),
      EMOTION_AGENT_MODELS_UPDATE_TRUSTED_KEYS: keys.publicKey,
      EMOTION_AGENT_MODELS_UPDATE_DIR: join(o.dir, 'models'),
      EMOTION_AGENT_MODELS_UPDATE_LATENCY_MULTIPLE: '20',
    },
    join(o.dir, 'agent.log'),
  );
  const sub = await Subscriber.start(world.broker.url, ROOT_TOPIC);
  const episodes = new Episodes({
    world,
    agent,
    rand,
    dir: o.dir,
    privateKey: keys.privatePem,
    deviceId: DEVICE,
    ready: async () => {
      const r = await fetchText('/readyz');
      return r === null ? null : r.startsWith('200');
    },
  });
  let drained = false;
  try {
    agent.start();
    const t0 = Date.now();
    while (!sub.messages.some((m) => m.topic.endsWith('/window')) && Date.now() - t0 < 180_000) await sleep(500);
    console.error(
      `chaos: agent up, first window after ${Math.round((Date.now() - t0) / 1000)} s; ${o.minutes} min of episodes (seed ${o.seed})`,
    );
    await episodes.run(Date.now() + o.minutes * 60_000);
    // Mend: everything up, then let the agent deliver what it holds before a clean stop.
    world.free();
    await world.broker.restart().catch((err: Error) => console.error(`chaos: broker restart failed: ${err.message}`));
    await world.rtsp.restart().catch((err: Error) => console.error(`chaos: RTSP restart failed: ${err.message}`));
    if (!agent.running) agent.start();
    const until = Date.now() + 120_000;
    while (Date.now() < until) {
      const s = await fetchText('/api/status');
      const m = s?.startsWith('200')
        ? (JSON.parse(s.slice(4)) as { mqtt: { connected: boolean; outboxPending: number; unstored: number } }).mqtt
        : null;
      if (m?.connected && m.outboxPending === 0 && m.unstored === 0) {
        drained = true;
        break;
      }
      await sleep(1000);
    }
    await fetchText('/metrics');
    await agent.stop('SIGTERM');
    await sleep(3000); // the partial windows written at the stop are on their way
  } finally {
    agent.dispose();
    await sub.close();
  }
  const pushLines = episodes.pushes.flatMap((p) => p.lines).join('\n');
  const reckoning = reckon({
    jsonl: readFileSync(join(o.dir, 'windows.jsonl'), 'utf8'),
    messages: sub.messages,
    outbox: outboxAccount(outboxPath),
    otherChannels: { 'agent stdout+stderr': agent.log(), http: http.join('\n'), 'model push output': pushLines },
  });
  await world.dispose();
  return {
    seed: o.seed,
    minutes: o.minutes,
    startedAt,
    finishedAt: new Date().toISOString(),
    tmpfs: world.tmpfs,
    ...reckoning,
    crashes: agent.crashes,
    agentStarts: agent.starts,
    maxRssMb: Math.round(agent.maxRssBytes / 1024 / 1024),
    episodes: episodes.log,
    pushes: episodes.pushes,
    unexpectedPushOutcomes: episodes.pushes.filter((p) => !p.expected.includes(p.end)).length,
    diskFullReadiness: episodes.diskFullReadiness,
    drained,
  };
}
