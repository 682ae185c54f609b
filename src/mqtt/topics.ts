// The MQTT topic map, in one place: every topic the agent publishes, its payload type, QoS and
// retain flag. Consumers (dashboards, bridges) read docs/mqtt.md and docs/mqtt/*.schema.json, which
// describe exactly these types. Everything lives under one root, `emotion-agent/<deviceId>` by default,
// so an ACL can grant a device its own subtree and nothing else.
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
export type ModelUpdateState = 'idle' | 'downloading' | 'verifying' | 'validating' | 'active' | 'failed' | 'rolled_back';

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

/** Topic suffix (relative to the root) → payload. `<id>` is a camera id. */
export interface TopicPayloads {
  status: Status;
  info: InfoPayload;
  [k: `cameras/${string}/window`]: WindowPayload;
  [k: `cameras/${string}/state`]: CameraStatePayload;
  stats: StatsPayload;
  model: ModelStatePayload;
  [k: `cmd/${string}/response`]: CommandResponse;
}

export interface TopicSpec { qos: 0 | 1; retain: boolean }

export function topicSpec(suffix: string): TopicSpec {
  if (suffix === 'status' || suffix === 'info' || suffix === 'model' || suffix.endsWith('/state')) return { qos: 1, retain: true };
  if (suffix.endsWith('/window') || suffix.endsWith('/response')) return { qos: 1, retain: false };
  return { qos: 0, retain: false }; // stats: periodic, the next one replaces a lost one
}

export const defaultTopicRoot = (deviceId: string): string => `emotion-agent/${deviceId}`;

/** Builds full topic names under one root; `typed` pairs a suffix with its payload type at compile time. */
export class Topics {
  constructor(readonly root: string) {}
  status(): string { return `${this.root}/status`; }
  info(): string { return `${this.root}/info`; }
  stats(): string { return `${this.root}/stats`; }
  model(): string { return `${this.root}/model`; }
  window(cameraId: string): string { return `${this.root}/cameras/${cameraId}/window`; }
  cameraState(cameraId: string): string { return `${this.root}/cameras/${cameraId}/state`; }
}

/** Serialises a payload for a topic suffix, checked against the map. */
export function encode<K extends keyof TopicPayloads>(_suffix: K, payload: TopicPayloads[K]): string {
  return typeof payload === 'string' ? payload : JSON.stringify(payload);
}
