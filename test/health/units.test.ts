// The health endpoint's pure parts: percentiles, readiness rules, rates, the preview PNG and hub.
import { describe, expect, it } from 'vitest';
import { inflateSync } from 'node:zlib';
import { readiness, healthy, type ReadinessInput } from '../../src/health/readiness.js';
import { encodePng, PreviewHub } from '../../src/health/preview.js';
import { RateTracker } from '../../src/health/status.js';
import { LatencyWindow } from '../../src/pipeline/latency.js';
import { downscaleToRgb } from '../../src/pipeline/preview-tap.js';
import type { CaptureStats } from '../../src/capture/camera.js';
import type { PipelineStats } from '../../src/pipeline/camera-pipeline.js';

function camera(
  id: string,
  lastFrameAgeMs: number | null,
  lastAnalysedAgeMs: number | null,
  state: CaptureStats['state'] = 'streaming',
): ReadinessInput['cameras'][number] {
  const capture = {
    id,
    state,
    framesIn: 1,
    dropped: 0,
    reconnects: 0,
    lastFrameAgeMs,
    fpsIn: 5,
    width: 640,
    height: 480,
    since: '',
  } as CaptureStats;
  const pipeline = {
    cameraId: id,
    framesAnalysed: 1,
    faceDetections: 0,
    activeTracks: 0,
    peopleInWindow: 0,
    lastAnalysedAgeMs,
    latencyMs: { detect: { p50: null, p95: null }, classify: { p50: null, p95: null } },
    stageMs: { detectMs: 0, classifyMs: 0, trackMs: 0 },
  } as PipelineStats;
  return { capture, pipeline, stallTimeoutS: 10 };
}

describe('LatencyWindow', () => {
  it('gives nearest-rank percentiles over the last N values only', () => {
    const w = new LatencyWindow(100);
    expect(w.percentile(50)).toBeNull();
    for (let i = 1; i <= 100; i++) w.add(i);
    expect(w.summary()).toEqual({ p50: 50, p95: 95 });
    for (let i = 0; i < 100; i++) w.add(1000); // the old values are gone
    expect(w.summary()).toEqual({ p50: 1000, p95: 1000 });
  });
});

describe('readiness', () => {
  it('is ready with models, fresh frames and MQTT connected or with room in the outbox', () => {
    expect(
      readiness({
        modelsLoaded: true,
        cameras: [camera('a', 100, 100)],
        mqtt: { connected: false, pending: 5, maxRows: 10 },
      }),
    ).toEqual({ ready: true, reasons: [] });
  });
  it('names every unmet condition', () => {
    const r = readiness({
      modelsLoaded: false,
      cameras: [camera('a', null, null, 'backoff'), camera('b', 11_000, 100)],
      mqtt: { connected: false, pending: 10, maxRows: 10 },
    });
    expect(r.ready).toBe(false);
    expect(r.reasons).toEqual([
      'models not loaded',
      'camera a: no frame yet (backoff)',
      'camera b: no frame for 11 s (streaming)',
      'mqtt: not connected and the outbox is full (10 windows)',
    ]);
  });
  it('healthy ignores a dead camera but not frames that are never analysed', () => {
    expect(healthy({ modelsLoaded: true, cameras: [camera('a', null, null, 'failed')], mqtt: null }).ready).toBe(true);
    const hung = healthy({ modelsLoaded: true, cameras: [camera('a', 50, 30_000)], mqtt: null });
    expect(hung.ready).toBe(false);
    expect(hung.reasons[0]).toMatch(/camera a: frames arrive but none analysed for 30 s/);
  });
});

describe('RateTracker', () => {
  it('computes rates from two snapshots at least a second apart', () => {
    const r = new RateTracker();
    const snap = (frames: number, faces: number) => [
      {
        capture: camera('a', 0, 0).capture,
        pipeline: { ...camera('a', 0, 0).pipeline, framesAnalysed: frames, faceDetections: faces },
      },
    ];
    r.update(snap(0, 0), 0);
    r.update(snap(3, 3), 500); // too soon: ignored
    expect(r.get('a')).toEqual({ fps: 0, faces: 0 });
    r.update(snap(10, 20), 2000);
    expect(r.get('a')).toEqual({ fps: 5, faces: 10 });
  });
});

describe('preview', () => {
  it('downscales BGR to RGB and encodes a PNG that decodes to the same pixels', () => {
    const frame = { width: 4, height: 2, data: Buffer.from(Array.from({ length: 24 }, (_, i) => i)) };
    const small = downscaleToRgb(frame, 2);
    expect(small).toMatchObject({ width: 2, height: 1, scale: 0.5 });
    // Pixel (0,0) of the frame is BGR 0,1,2 → RGB 2,1,0; pixel (2,0) is BGR 6,7,8.
    expect([...small.rgb]).toEqual([2, 1, 0, 8, 7, 6]);
    const png = encodePng(small.rgb, 2, 1);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(2); // IHDR width
    const idatLen = png.readUInt32BE(33);
    expect(png.subarray(37, 41).toString()).toBe('IDAT');
    const raw = inflateSync(png.subarray(41, 41 + idatLen));
    expect([...raw]).toEqual([0, 2, 1, 0, 8, 7, 6]); // filter byte 0, then the row
  });

  it('takes snapshots only when enabled, watched, and not faster than its fps', () => {
    let now = 0;
    const off = new PreviewHub(false, 2, 320, { now: () => now });
    off.watch();
    expect(off.wants('a')).toBe(false);
    const hub = new PreviewHub(true, 2, 320, { now: () => now });
    now = 10_000;
    expect(hub.wants('a')).toBe(false); // nobody watching
    const unwatch = hub.watch();
    expect(hub.wants('a')).toBe(true);
    now += 100;
    expect(hub.wants('a')).toBe(false); // 2 fps: not before 500 ms
    expect(hub.wants('b')).toBe(true); // per camera
    now += 500;
    expect(hub.wants('a')).toBe(true);
    unwatch();
    unwatch(); // idempotent
    now += 1000;
    expect(hub.wants('a')).toBe(false);
  });
});
