// /metrics carries the audience figures of each camera's last closed window, and leaves them out
// (rather than 0) until a window has closed.
import { describe, expect, it } from 'vitest';
import { AgentMetrics } from '../../src/health/metrics.js';
import type { ApiStatus } from '../../src/health/status.js';

function status(lastWindow: ApiStatus['cameras'][number]['lastWindow']): ApiStatus {
  const camera = {
    id: 'entrance',
    state: 'streaming',
    reason: null,
    fpsIn: 5,
    fpsAnalysed: 5,
    facesPerS: 1,
    framesIn: 10,
    framesAnalysed: 10,
    dropped: 0,
    reconnects: 0,
    lastFrameAgeMs: 10,
    width: 1920,
    height: 1080,
    peopleInWindow: 2,
    activeTracks: 2,
    latencyMs: { detect: { p50: null, p95: null }, classify: { p50: null, p95: null } },
    lastWindow,
    lastError: null,
  };
  return {
    version: '0.1.0',
    deviceId: 'kiosk-1',
    startedAt: null,
    uptimeS: 1,
    ready: true,
    reasons: [],
    cameras: [camera],
    models: [],
    modelUpdates: null,
    mqtt: { enabled: false, connected: false, outboxPending: 0, published: 0, dropped: 0, lastError: null },
    host: { load1PerCpu: 0, memAvailableBytes: 1, memTotalBytes: 2, temperatureC: null, disk: null, gpu: null },
    preview: false,
    generatedAt: new Date(0).toISOString(),
  } as unknown as ApiStatus;
}

describe('audience metrics on /metrics', () => {
  it('exports viewers, passers-by, not classified and mean look time of the last window', async () => {
    const text = await new AgentMetrics(
      () =>
        status({
          people: 5,
          viewers: 3,
          passersBy: 2,
          notClassified: 1,
          lookTime: { count: 3, meanS: 4.5, p50S: 4, p90S: 7 },
        }),
      false,
    ).text();
    expect(text).toContain('emotion_agent_camera_viewers{camera="entrance"} 3');
    expect(text).toContain('emotion_agent_camera_passers_by{camera="entrance"} 2');
    expect(text).toContain('emotion_agent_camera_not_classified{camera="entrance"} 1');
    expect(text).toContain('emotion_agent_camera_look_time_mean_seconds{camera="entrance"} 4.5');
  });

  it('has no audience samples before a window closed', async () => {
    const text = await new AgentMetrics(() => status(null), false).text();
    expect(text).not.toMatch(/emotion_agent_camera_viewers\{/);
    expect(text).toContain('emotion_agent_camera_people_in_window{camera="entrance"} 2');
  });
});
