// What the Agent reports about itself: the shapes the health endpoint reads. Owned here, by their
// reader, so health never imports the composition root (src/app.ts), which implements them.
import type { CaptureStats } from '../capture/camera.js';
import type { MqttSinkStats } from '../mqtt/sink.js';
import type { ModelStatePayload } from '../mqtt/topics.js';
import type { PipelineStats } from '../pipeline/camera-pipeline.js';
import type { Readiness } from './readiness.js';

export interface CameraStatus {
  capture: CaptureStats;
  pipeline: PipelineStats;
}

/** One consistent reading of the agent, for the health endpoint. */
export interface AgentSnapshot {
  status: AgentStatus;
  readiness: Readiness;
  /** null when MQTT is off. */
  mqtt: MqttSinkStats | null;
  /** null when remote model updates are off. */
  modelUpdates: ModelStatePayload | null;
}

export interface AgentStatus {
  version: string;
  startedAt: string | null;
  models: { detector: string; classifier: string } | null;
  /** Per-frame latency over the last 512 frames of all cameras. */
  modelLatencyMs: {
    detect: { p50: number | null; p95: number | null };
    classify: { p50: number | null; p95: number | null };
  };
  cameras: CameraStatus[];
}
