// The MQTT topic map, in one place: every topic the agent publishes or subscribes to, its payload
// type, and (in the TOPICS table) its path pattern, QoS, retain flag and JSON Schema. Consumers
// (dashboards, bridges) read docs/mqtt.md and docs/mqtt/*.schema.json, which describe exactly these
// types. Everything lives under one root, `emotion-agent/<deviceId>` by default, so an ACL can grant a
// device its own subtree and nothing else (Home Assistant discovery, off by default, is the exception).
import type { AggregateWindow } from '../aggregate/window.js';
import type { CaptureState } from '../capture/camera.js';

export type Status = 'online' | 'offline';

export interface InfoPayload {
  version: string;
  models: { detector: string; classifier: string } | null;
  cameras: string[];
  startedAt: string;
}

/** A window as published: `seq` is per device, strictly increasing, so consumers detect gaps and duplicates. */
export interface WindowPayload extends AggregateWindow {
  seq: number;
  deviceId: string;
}

export interface CameraStatePayload {
  state: CaptureState;
  since: string;
  lastError: string | null;
}

export interface StatsPayload {
  at: string;
  uptimeS: number;
  outboxPending: number;
  outboxDropped: number;
  published: number;
  /** Windows waiting in memory because the outbox cannot write (disk full). */
  outboxUnstored: number;
  /** False while the outbox cannot write. */
  outboxWritable: boolean;
}

/** A command request on `<root>/cmd/<name>` or `<prefix>/all/cmd/<name>`; an empty payload counts as `{}`. */
export interface CommandRequest {
  /** Echoed in the response so a caller matches replies (MQTT 5 callers may use correlationData instead). */
  id?: string | number | null;
  args?: Record<string, unknown>;
}

export type CommandErrorCode = 'bad_request' | 'unknown_command' | 'internal' | 'busy';

/** The reply on `<request topic>/response`, or on the MQTT 5 responseTopic with the request's correlationData. */
export type CommandResponse =
  | { id: string | number | null; deviceId: string; ok: true; result: unknown }
  | { id: string | number | null; deviceId: string; ok: false; error: { code: CommandErrorCode; message: string } };

/** Where a task's remote model update stands (docs/models.md, "Remote updates"). */
export type ModelUpdateState =
  'idle' | 'downloading' | 'verifying' | 'validating' | 'active' | 'failed' | 'rolled_back';

export interface ModelTaskState {
  state: ModelUpdateState;
  /** 0..1 while downloading, else null. */
  progress: number | null;
  /** The version serving now (the configured bundle's when no update was activated). */
  version: string;
  /** The version it replaced, or null. */
  previousVersion: string | null;
  /** The version being installed (or that failed), or null. */
  target: string | null;
  /** Why it failed or rolled back, in words; null otherwise. */
  error: string | null;
  /** When this state was entered. */
  time: string;
}

/** Retained on `<root>/model`: one entry per task. */
export interface ModelStatePayload {
  'face-detector': ModelTaskState;
  'emotion-classifier': ModelTaskState;
}

/** Table entry (TOPICS key) → payload; the discovery configs are typed in home-assistant.ts. */
export interface TopicPayloads {
  status: Status;
  info: InfoPayload;
  window: WindowPayload;
  cameraState: CameraStatePayload;
  stats: StatsPayload;
  model: ModelStatePayload;
  command: CommandRequest;
  commandResponse: CommandResponse;
}

/** The same payloads by topic suffix (relative to the root). `<id>` is a camera id. */
export interface SuffixPayloads {
  status: Status;
  info: InfoPayload;
  [k: `cameras/${string}/window`]: WindowPayload;
  [k: `cameras/${string}/state`]: CameraStatePayload;
  stats: StatsPayload;
  model: ModelStatePayload;
  [k: `cmd/${string}/response`]: CommandResponse;
}

export interface TopicSpec {
  qos: 0 | 1;
  retain: boolean;
}

export interface TopicEntry extends TopicSpec {
  /**
   * Path relative to the device's topic root; `<id>` is a camera id, `<name>` a command name (it may
   * have levels: config/get). An entry `outside` the root is relative to another prefix instead.
   */
  readonly pattern: string;
  /** Published by the agent, or subscribed to (the command requests). */
  readonly direction: 'publish' | 'subscribe';
  /** The payload's JSON Schema, docs/mqtt/<schema>.schema.json (`$id` from schemaId()); null when none. */
  readonly schema: string | null;
  /** Set when the topic is not under the device's root: what its pattern is relative to. */
  readonly outside?: string;
  /** The payload, in a few words, for the table in docs/mqtt.md. */
  readonly about: string;
}

/** The device level that addresses every device under a prefix: `<prefix>/all/cmd/<name>`. */
export const FLEET_DEVICE = 'all';

/**
 * Every topic the agent publishes or subscribes to, with its QoS and retain flag: the one table that
 * the sink, the command handler, the Home Assistant discovery, the last will and docs/mqtt.md (its
 * topic table is renderTopicTable()) all read. Nothing else spells a topic suffix, a QoS or a retain flag.
 */
export const TOPICS = {
  status: {
    pattern: 'status',
    qos: 1,
    retain: true,
    direction: 'publish',
    schema: 'status',
    about: '`online` / `offline` (plain text)',
  },
  info: {
    pattern: 'info',
    qos: 1,
    retain: true,
    direction: 'publish',
    schema: 'info',
    about: 'versions, models, cameras',
  },
  window: {
    pattern: 'cameras/<id>/window',
    qos: 1,
    retain: false,
    direction: 'publish',
    schema: 'window',
    about: 'one aggregation window + `seq`, `deviceId`',
  },
  cameraState: {
    pattern: 'cameras/<id>/state',
    qos: 1,
    retain: true,
    direction: 'publish',
    schema: 'camera-state',
    about: 'camera capture state, on each change and each connect',
  },
  // Periodic: the next one replaces a lost one.
  stats: {
    pattern: 'stats',
    qos: 0,
    retain: false,
    direction: 'publish',
    schema: 'stats',
    about: 'counters every `mqtt.statsIntervalS`, only while connected',
  },
  model: {
    pattern: 'model',
    qos: 1,
    retain: true,
    direction: 'publish',
    schema: 'model',
    about: 'remote model update state per task, on each change and each connect',
  },
  command: {
    pattern: 'cmd/<name>',
    qos: 1,
    retain: false,
    direction: 'subscribe',
    schema: 'command-request',
    about: `a command request (also \`<prefix>/${FLEET_DEVICE}/cmd/<name>\`)`,
  },
  commandResponse: {
    pattern: 'cmd/<name>/response',
    qos: 1,
    retain: false,
    direction: 'publish',
    schema: 'command-response',
    about: 'the reply to a request',
  },
  discovery: {
    pattern: 'sensor/<objectId>/config',
    outside: 'mqtt.homeAssistant.prefix',
    qos: 1,
    retain: true,
    direction: 'publish',
    schema: null,
    about: 'a Home Assistant discovery config, per camera and sensor, on every connect',
  },
} as const satisfies Record<string, TopicEntry>;

export type TopicKey = keyof typeof TOPICS;

/** The publish (or subscribe) options of a topic: its QoS and retain flag from the table. */
export function publishOptions(key: TopicKey): TopicSpec {
  const { qos, retain } = TOPICS[key];
  return { qos, retain };
}

/** The `$id` of a topic's JSON Schema (docs/mqtt/<schema>.schema.json). */
export const schemaId = (schema: string): string => `https://emotion-agent.invalid/mqtt/${schema}.schema.json`;

/** A pattern with its placeholders filled; `#` or `+` may stand for one as a wildcard in a subscription. */
export function fillPattern(pattern: string, values: Readonly<Record<string, string>>): string {
  return pattern.replace(/<(\w+)>/g, (_, k: string) => {
    const v = values[k];
    if (v === undefined) throw new Error(`topic pattern ${pattern}: no value for <${k}>`);
    return v;
  });
}

const matchers = Object.entries(TOPICS)
  .filter(([, e]) => !('outside' in e))
  .map(([key, e]) => ({
    key: key as TopicKey,
    length: e.pattern.length,
    re: new RegExp(`^${e.pattern.replace(/<name>/g, '.+').replace(/<\w+>/g, '[^/]+')}$`),
  }))
  // The most specific pattern wins: cmd/<name>/response before cmd/<name>.
  .sort((a, b) => b.length - a.length);

/** The table entry a suffix (relative to the root) belongs to; throws for a topic that is not in the table. */
export function topicKeyOf(suffix: string): TopicKey {
  const m = matchers.find(({ re }) => re.test(suffix));
  if (!m) throw new Error(`not an emotion-agent topic: ${suffix}`);
  return m.key;
}

/** QoS and retain flag of a suffix (relative to the root), from the table. */
export function topicSpec(suffix: string): TopicSpec {
  return publishOptions(topicKeyOf(suffix));
}

/** The table of docs/mqtt.md: topics under the root, in table order (test/mqtt/topics.test.ts checks the doc). */
export function renderTopicTable(): string {
  const rows = Object.values(TOPICS as Record<string, TopicEntry>)
    .filter((e) => e.outside === undefined)
    .map((e) => {
      const topic = `\`${e.pattern}\`${e.direction === 'subscribe' ? ' (subscribed)' : ''}`;
      const schema = e.schema ? `[${e.schema}](mqtt/${e.schema}.schema.json)` : '';
      return `| ${topic} | ${e.qos} | ${e.retain ? 'yes' : 'no'} | ${e.about} | ${schema} |`;
    });
  return [
    '| Topic (under the root) | QoS | Retained | Payload | Schema |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

export const defaultTopicRoot = (deviceId: string): string => `emotion-agent/${deviceId}`;

const under = (root: string, key: TopicKey, values: Readonly<Record<string, string>> = {}): string =>
  `${root}/${fillPattern(TOPICS[key].pattern, values)}`;

/** The fleet root next to a device root (its last level replaced by `all`); null for a root of one level. */
export function fleetRoot(root: string): string | null {
  const cut = root.lastIndexOf('/');
  return cut > 0 ? `${root.slice(0, cut)}/${FLEET_DEVICE}` : null;
}

/** What a response topic adds to its request topic: `/response`. */
const RESPONSE_SUFFIX = TOPICS.commandResponse.pattern.slice(TOPICS.command.pattern.length);

/** Builds full topic names under one root, from the table's patterns. */
export class Topics {
  constructor(readonly root: string) {}
  status(): string {
    return under(this.root, 'status');
  }
  info(): string {
    return under(this.root, 'info');
  }
  stats(): string {
    return under(this.root, 'stats');
  }
  model(): string {
    return under(this.root, 'model');
  }
  /** `+` subscribes to every camera. */
  window(cameraId: string): string {
    return under(this.root, 'window', { id: cameraId });
  }
  cameraState(cameraId: string): string {
    return under(this.root, 'cameraState', { id: cameraId });
  }
  /** A request topic for this device (`<root>/cmd/<name>`). */
  command(name: string): string {
    return under(this.root, 'command', { name });
  }
  /**
   * Where command requests arrive, each followed by the command name: this device's, then the fleet's
   * (`<prefix>/all/cmd/`) unless the root has no level above it (no fleet to share topics with).
   */
  commandPrefixes(): string[] {
    const fleet = fleetRoot(this.root);
    return [this.root, ...(fleet !== null ? [fleet] : [])].map((r) => under(r, 'command', { name: '' }));
  }
  /** The reply topic of a request topic. */
  static response(requestTopic: string): string {
    return `${requestTopic}${RESPONSE_SUFFIX}`;
  }
  /** Whether a topic is a reply (our own replies match the command subscription too). */
  static isResponse(topic: string): boolean {
    return topic.endsWith(RESPONSE_SUFFIX);
  }
  /** A Home Assistant discovery config topic under its prefix. */
  static discovery(prefix: string, objectId: string): string {
    return `${prefix}/${fillPattern(TOPICS.discovery.pattern, { objectId })}`;
  }
}

/** Serialises a payload for a table entry (or a topic suffix), checked against its type at compile time. */
export function encode<K extends keyof TopicPayloads>(key: K, payload: TopicPayloads[K]): string;
export function encode<K extends keyof SuffixPayloads>(suffix: K, payload: SuffixPayloads[K]): string;
export function encode(_topic: string, payload: unknown): string {
  return typeof payload === 'string' ? payload : JSON.stringify(payload);
}
