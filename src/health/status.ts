// The /api/status document: one snapshot of everything a technician asks about, built from the
// agent's counters. Rates (fps, faces/s) come from the difference between two snapshots at least a
// second apart, so any number of pollers see the same figures and none of them resets anything.
import type { ModelStatePayload } from '../mqtt/topics.js';
import type { LastWindowAudience } from '../pipeline/camera-pipeline.js';
import type { AgentSnapshot, AgentStatus } from './agent-status.js';
import type { HostStats } from './host.js';
import type { Readiness } from './readiness.js';

/** What the health server reads; the Agent implements it. */
export interface HealthSource {
  /** Everything a status document needs, read once. */
  snapshot(): AgentSnapshot;
  /** Status alone (the rate sampler). */
  status(): AgentStatus;
  /** Readiness alone (for /readyz: cheaper than a snapshot). */
  readiness(): Readiness;
}

export interface CameraStatusView {
  id: string;
  state: string;
  reason: string | null;
  fpsIn: number;
  fpsAnalysed: number;
  facesPerS: number;
  framesIn: number;
  framesAnalysed: number;
  /** Frames discarded because the models' outputs were not finite. */
  framesDiscarded: number;
  dropped: number;
  reconnects: number;
  lastFrameAgeMs: number | null;
  width: number;
  height: number;
  peopleInWindow: number;
  activeTracks: number;
  /** Audience figures of the last closed window: people, viewers, passers-by, not classified, look time. */
  lastWindow: LastWindowAudience | null;
  latencyMs: AgentStatus['modelLatencyMs'];
  lastError: string | null;
}

export interface ApiStatus {
  version: string;
  deviceId: string;
  startedAt: string | null;
  uptimeS: number;
  ready: boolean;
  reasons: string[];
  cameras: CameraStatusView[];
  models: {
    task: 'face-detector' | 'emotion-classifier';
    version: string;
    p50Ms: number | null;
    p95Ms: number | null;
  }[];
  /** Remote model updates: the same per-task state as the retained MQTT `model` topic; null when off. */
  modelUpdates: ModelStatePayload | null;
  /** `unstored`: windows waiting in memory while the outbox cannot write (`outboxWritable` false, `storeError` why). */
  mqtt: {
    enabled: boolean;
    connected: boolean;
    outboxPending: number;
    published: number;
    dropped: number;
    lastError: string | null;
    unstored: number;
    outboxWritable: boolean;
    storeError: string | null;
  };
  host: HostStats;
  preview: boolean;
  generatedAt: string;
}

interface Sample {
  at: number;
  framesAnalysed: number;
  faces: number;
}

export class RateTracker {
  private readonly previous = new Map<string, Sample>();
  private readonly rates = new Map<string, { fps: number; faces: number }>();

  /** Feeds a snapshot; rates move only when the last sample is at least `minMs` old. */
  update(cameras: AgentStatus['cameras'], now: number, minMs = 1000): void {
    for (const { pipeline } of cameras) {
      const id = pipeline.cameraId;
      const prev = this.previous.get(id);
      const cur = { at: now, framesAnalysed: pipeline.framesAnalysed, faces: pipeline.faceDetections };
      if (!prev) {
        this.previous.set(id, cur);
        continue;
      }
      const dt = (now - prev.at) / 1000;
      if (dt * 1000 < minMs) continue;
      this.rates.set(id, {
        fps: (cur.framesAnalysed - prev.framesAnalysed) / dt,
        faces: (cur.faces - prev.faces) / dt,
      });
      this.previous.set(id, cur);
    }
  }

  get(id: string): { fps: number; faces: number } {
    return this.rates.get(id) ?? { fps: 0, faces: 0 };
  }
}

const round = (n: number, d = 2): number => Math.round(n * 10 ** d) / 10 ** d;
const roundOrNull = (n: number | null): number | null => (n === null ? null : round(n));

export function buildStatus(
  src: HealthSource,
  deviceId: string,
  host: HostStats,
  rates: RateTracker,
  preview: boolean,
  now = Date.now(),
): ApiStatus {
  const snap = src.snapshot();
  const st = snap.status;
  rates.update(st.cameras, now);
  const ready = snap.readiness;
  const m = snap.mqtt;
  const version = (name: string | undefined): string => name ?? 'not loaded';
  return {
    version: st.version,
    deviceId,
    startedAt: st.startedAt,
    uptimeS: Math.round(process.uptime()),
    ready: ready.ready,
    reasons: ready.reasons,
    cameras: st.cameras.map(({ capture: c, pipeline: p }) => {
      const r = rates.get(c.id);
      return {
        id: c.id,
        state: c.state,
        reason: c.reason ?? null,
        fpsIn: round(c.fpsIn),
        fpsAnalysed: round(r.fps),
        facesPerS: round(r.faces),
        framesIn: c.framesIn,
        framesAnalysed: p.framesAnalysed,
        framesDiscarded: p.framesDiscarded,
        dropped: c.dropped,
        reconnects: c.reconnects,
        lastFrameAgeMs: c.lastFrameAgeMs,
        width: c.width,
        height: c.height,
        peopleInWindow: p.peopleInWindow,
        activeTracks: p.activeTracks,
        lastWindow: p.lastWindow,
        latencyMs: p.latencyMs,
        lastError: p.lastError ?? null,
      };
    }),
    models: [
      {
        task: 'face-detector',
        version: version(st.models?.detector),
        p50Ms: roundOrNull(st.modelLatencyMs.detect.p50),
        p95Ms: roundOrNull(st.modelLatencyMs.detect.p95),
      },
      {
        task: 'emotion-classifier',
        version: version(st.models?.classifier),
        p50Ms: roundOrNull(st.modelLatencyMs.classify.p50),
        p95Ms: roundOrNull(st.modelLatencyMs.classify.p95),
      },
    ],
    modelUpdates: snap.modelUpdates,
    mqtt: m
      ? {
          enabled: true,
          connected: m.connected,
          outboxPending: m.outbox.pending,
          published: m.published,
          dropped: m.outbox.dropped,
          lastError: m.lastError ?? null,
          unstored: m.outbox.unstored,
          outboxWritable: m.outbox.writable,
          storeError: m.outbox.storeError,
        }
      : {
          enabled: false,
          connected: false,
          outboxPending: 0,
          published: 0,
          dropped: 0,
          lastError: null,
          unstored: 0,
          outboxWritable: true,
          storeError: null,
        },
    host,
    preview,
    generatedAt: new Date(now).toISOString(),
  };
}
