// Readiness and liveness, computed from the agent's status snapshot. One definition serves /readyz,
// the systemd watchdog and the technician page, so they cannot disagree about "is it working".
import type { CaptureStats } from '../capture/camera.js';
import type { PipelineStats } from '../pipeline/camera-pipeline.js';

export interface ReadinessInput {
  modelsLoaded: boolean;
  cameras: { capture: CaptureStats; pipeline: PipelineStats; stallTimeoutS: number }[];
  /** null when MQTT is off. */
  /** `writable` false (with `storeError`) while the outbox cannot store windows; absent = writable. */
  mqtt: {
    connected: boolean;
    pending: number;
    maxRows: number;
    writable?: boolean;
    storeError?: string | null;
    unstored?: number;
  } | null;
}

export interface Readiness {
  ready: boolean;
  /** One short sentence per unmet condition, naming the camera or part. Empty when ready. */
  reasons: string[];
}

/**
 * Ready: models loaded, every enabled camera delivered a frame within its stall timeout, and MQTT is
 * connected or its outbox still has room (a broker outage is survivable until the outbox must drop), and
 * the outbox can write (a full disk is not survivable for long).
 */
export function readiness(input: ReadinessInput): Readiness {
  const reasons: string[] = [];
  if (!input.modelsLoaded) reasons.push('models not loaded');
  for (const { capture, stallTimeoutS } of input.cameras) {
    const age = capture.lastFrameAgeMs;
    if (age === null)
      reasons.push(
        `camera ${capture.id}: no frame yet (${capture.state}${capture.reason ? `: ${capture.reason}` : ''})`,
      );
    else if (age > stallTimeoutS * 1000)
      reasons.push(
        `camera ${capture.id}: no frame for ${Math.round(age / 1000)} s (${capture.state}${capture.reason ? `: ${capture.reason}` : ''})`,
      );
  }
  const m = input.mqtt;
  if (m && !m.connected && m.pending >= m.maxRows)
    reasons.push(`mqtt: not connected and the outbox is full (${m.pending} windows)`);
  // Windows then live in memory only: a crash would drop them (counted, but still lost), so not ready.
  if (m && m.writable === false)
    reasons.push(
      `mqtt: the outbox cannot store windows (${m.storeError ?? 'write failed'}); ${m.unstored ?? 0} waiting in memory`,
    );
  return { ready: reasons.length === 0, reasons };
}

/**
 * Healthy (for the systemd watchdog): the agent's own machinery works. A camera or broker outage is
 * not the agent's fault and a restart would not fix it, so it does not count; an analysis loop that has
 * frames waiting but analyses none for longer than the stall timeout does (a hung worker).
 */
export function healthy(input: ReadinessInput): Readiness {
  const reasons: string[] = [];
  if (!input.modelsLoaded) reasons.push('models not loaded');
  for (const { capture, pipeline, stallTimeoutS } of input.cameras) {
    const frameFresh = capture.lastFrameAgeMs !== null && capture.lastFrameAgeMs <= stallTimeoutS * 1000;
    const analyzedAge = pipeline.lastAnalysedAgeMs;
    if (frameFresh && analyzedAge !== null && analyzedAge > Math.max(stallTimeoutS * 1000, 10_000)) {
      reasons.push(`camera ${capture.id}: frames arrive but none analysed for ${Math.round(analyzedAge / 1000)} s`);
    }
  }
  return { ready: reasons.length === 0, reasons };
}
