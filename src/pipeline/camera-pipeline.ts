// One camera's analysis loop: take the newest frame, detect, classify, track, aggregate. The capture
// keeps only the newest frame, so when analysis is slower than the stream frames are dropped (and
// counted) instead of queueing; this loop never holds more than the frame it is working on.
import type { Logger } from 'pino';
import { performance } from 'node:perf_hooks';
import type { WindowSink } from '../aggregate/sink.js';
import { WindowAggregator, type AggregateWindow, type SkippedFaces } from '../aggregate/window.js';
import type { CameraCapture } from '../capture/camera.js';
import { DEFAULT_ATTENTION, isLooking, type AttentionOptions } from '../vision/attention.js';
import type { Rect } from '../vision/image.js';
import { Tracker, type TrackView } from '../vision/tracker.js';
import type { InferenceEngine } from '../inference/engine.js';
import { CANONICAL_LABELS } from '../models/manifest.js';
import { LatencyWindow } from './latency.js';
import { downscaleToRgb, type PreviewTap } from './preview-tap.js';

export interface CameraPipelineOptions {
  cameraId: string;
  /** Region of interest as fractions of the frame (0..1). */
  roi?: Rect;
  minFaceSize: number;
  tracker: { iouThreshold: number; maxUnseenMs: number; minTrackMs: number; minHits: number };
  windowMs: number;
  minPeople: number;
  /** The live preview (only when preview.enabled). */
  preview?: PreviewTap;
  /** Latency windows shared by all cameras: the per-model figures. */
  modelLatency?: { detect: LatencyWindow; classify: LatencyWindow };
  /** When a face "looks at the kiosk", and how long makes a viewer (default DEFAULT_ATTENTION). */
  attention?: AttentionOptions;
}

/** Seconds of CPU-ish wall time per stage, for the benchmark and the status page. */
export interface StageTimes {
  detectMs: number;
  classifyMs: number;
  trackMs: number;
}

export interface PipelineStats {
  cameraId: string;
  framesAnalysed: number;
  /** Frames discarded because the models' outputs were not finite (NaN, Infinity): never tracked or counted. */
  framesDiscarded: number;
  faceDetections: number;
  activeTracks: number;
  peopleInWindow: number;
  /** Per-frame inference latency over the last 512 frames (detector: one run; classifier: all faces of a frame). */
  latencyMs: {
    detect: { p50: number | null; p95: number | null };
    classify: { p50: number | null; p95: number | null };
  };
  /** Milliseconds since the last frame was analysed; null before the first. */
  lastAnalysedAgeMs: number | null;
  stageMs: StageTimes;
  /** Audience figures of the last closed window (null before the first closes). */
  lastWindow: LastWindowAudience | null;
  lastError?: string;
}

export type LastWindowAudience = Pick<
  AggregateWindow,
  'people' | 'viewers' | 'passersBy' | 'notClassified' | 'lookTime'
>;

export class CameraPipeline {
  private running: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private tracker: Tracker | undefined;
  private aggregator: WindowAggregator | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastDropped = 0;
  private active: TrackView[] = [];
  private readonly counters = {
    framesAnalysed: 0,
    framesDiscarded: 0,
    faceDetections: 0,
    stageMs: { detectMs: 0, classifyMs: 0, trackMs: 0 },
  };
  private lastError: string | undefined;
  private lastWindow: LastWindowAudience | null = null;
  private lastAnalyzedAt: number | undefined;
  private readonly latency = { detect: new LatencyWindow(), classify: new LatencyWindow() };

  constructor(
    private readonly opts: CameraPipelineOptions,
    private readonly capture: CameraCapture,
    private readonly inference: Pick<InferenceEngine, 'analyze'>,
    private readonly sinks: WindowSink[],
    private readonly log: Logger,
    private readonly clock: { now(): number } = Date,
  ) {}

  start(): void {
    if (this.running) return;
    const now = this.clock.now();
    this.tracker = new Tracker(this.opts.tracker);
    const minLookMs = (this.opts.attention ?? DEFAULT_ATTENTION).minLookS * 1000;
    this.aggregator = new WindowAggregator(
      this.opts.cameraId,
      { windowMs: this.opts.windowMs, minPeople: this.opts.minPeople, minLookMs },
      now,
    );
    this.abort = new AbortController();
    // Windows close on the clock even when the camera delivers nothing (a dead camera shows as
    // empty windows, not as silence).
    this.timer = setInterval(() => {
      void this.closeDue();
    }, 1000);
    this.timer.unref();
    this.running = this.loop(this.abort.signal);
  }

  /** Stops the loop and closes the current window as partial; returns it (already written to sinks). */
  async stop(): Promise<AggregateWindow | undefined> {
    if (!this.running) return undefined;
    this.abort?.abort();
    if (this.timer) clearInterval(this.timer);
    await this.running.catch(() => undefined);
    this.running = undefined;
    const now = this.clock.now();
    if (!this.aggregator) return undefined;
    // Windows due by now first, then the open one as partial. Tracks cut short by the shutdown are
    // not fed in: their truncated visits would bias the dwell figures.
    await this.closeDue(now);
    const last = this.aggregator.close(now, true);
    await this.emit([last]);
    return last;
  }

  stats(): PipelineStats {
    return {
      cameraId: this.opts.cameraId,
      framesAnalysed: this.counters.framesAnalysed,
      framesDiscarded: this.counters.framesDiscarded,
      faceDetections: this.counters.faceDetections,
      activeTracks: this.active.length,
      peopleInWindow: this.aggregator?.peopleSoFar() ?? 0,
      latencyMs: { detect: this.latency.detect.summary(), classify: this.latency.classify.summary() },
      lastAnalysedAgeMs: this.lastAnalyzedAt === undefined ? null : Math.max(0, this.clock.now() - this.lastAnalyzedAt),
      stageMs: { ...this.counters.stageMs },
      lastWindow: this.lastWindow,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  private async loop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let frame;
      try {
        frame = await this.capture.next(signal);
      } catch (err) {
        // next() only rejects when the capture is over: stopped, or a non-looped file ended.
        if (!signal.aborted)
          this.log.info({ reason: (err as Error).message }, 'capture over; analysis idle until stop');
        return;
      }
      try {
        await this.analyze(frame);
      } catch (err) {
        // A failed frame is logged and skipped: one bad frame must not stop the camera.
        this.lastError = (err as Error).message;
        this.log.error({ err }, 'analysis failed for a frame');
      }
    }
  }

  private async analyze(frame: Awaited<ReturnType<CameraCapture['next']>>): Promise<void> {
    const roi = this.opts.roi
      ? {
          x: this.opts.roi.x * frame.width,
          y: this.opts.roi.y * frame.height,
          width: this.opts.roi.width * frame.width,
          height: this.opts.roi.height * frame.height,
        }
      : undefined;
    // Copied before analyze(): the inference worker takes ownership of the frame's buffer.
    const tap = this.opts.preview;
    const small = tap?.wants(this.opts.cameraId) ? downscaleToRgb(frame, tap.width) : undefined;
    const { faces, detectMs, classifyMs } = await this.inference.analyze(frame, roi, this.opts.minFaceSize);
    // Nothing reads the pixels after this: the capture may fill them with a later frame.
    this.capture.release(frame);
    // A model gone bad (NaN on real faces) must not reach a track or a window: the whole frame goes,
    // counted (faces the quality gate left unclassified have none). Updates see it and roll back.
    if (
      !faces.every(
        (f) =>
          (f.probabilities ?? []).every(Number.isFinite) &&
          [f.box.x, f.box.y, f.box.width, f.box.height].every(Number.isFinite),
      )
    ) {
      this.counters.framesDiscarded++;
      this.lastAnalyzedAt = this.clock.now(); // the loop is alive: this is the model's fault, not a hang
      if (this.counters.framesDiscarded === 1 || this.counters.framesDiscarded % 100 === 0) {
        this.log.warn(
          { discarded: this.counters.framesDiscarded },
          'frame discarded: the model output is not finite (NaN or Infinity)',
        );
      }
      return;
    }
    if (tap && small) {
      tap.publish({
        cameraId: this.opts.cameraId,
        capturedAtMs: frame.capturedAtMs,
        width: small.width,
        height: small.height,
        rgb: small.rgb,
        faces: faces.map((f) => {
          const p = f.probabilities;
          const best = p ? p.indexOf(Math.max(...p)) : -1;
          const b = f.box;
          // A face the quality gate kept back shows why instead of an emotion.
          const label = p ? (CANONICAL_LABELS[best] ?? '?') : `(${f.skipped ?? 'not classified'})`;
          return {
            box: {
              x: b.x * small.scale,
              y: b.y * small.scale,
              width: b.width * small.scale,
              height: b.height * small.scale,
            },
            label,
            score: p?.[best] ?? 0,
          };
        }),
      });
    }
    const t2 = performance.now();
    const now = frame.capturedAtMs;
    const attention = this.opts.attention ?? DEFAULT_ATTENTION;
    const { active, ended } = this.tracker!.update(
      now,
      faces.map((f) => ({ box: f.box, probabilities: f.probabilities, looking: isLooking(f.pose, attention) })),
    );
    const skipped: Partial<SkippedFaces> = {};
    for (const f of faces) if (f.skipped) skipped[f.skipped] = (skipped[f.skipped] ?? 0) + 1;
    this.active = active;
    const dropped = this.capture.dropped;
    if (dropped > this.lastDropped) this.aggregator!.framesDropped(dropped - this.lastDropped);
    this.lastDropped = dropped;
    await this.closeDue(now);
    this.aggregator!.frameAnalyzed(now, faces.length, active, ended, skipped);
    const t3 = performance.now();
    this.counters.framesAnalysed++;
    this.lastAnalyzedAt = this.clock.now();
    this.counters.faceDetections += faces.length;
    this.latency.detect.add(detectMs);
    this.latency.classify.add(classifyMs);
    this.opts.modelLatency?.detect.add(detectMs);
    this.opts.modelLatency?.classify.add(classifyMs);
    this.counters.stageMs.detectMs += detectMs;
    this.counters.stageMs.classifyMs += classifyMs;
    this.counters.stageMs.trackMs += t3 - t2;
  }

  private async closeDue(now = this.clock.now()): Promise<void> {
    if (!this.aggregator) return;
    const closed = this.aggregator.tick(now);
    if (closed.length) await this.emit(closed);
  }

  private async emit(windows: AggregateWindow[]): Promise<void> {
    for (const w of windows) {
      this.lastWindow = {
        people: w.people,
        viewers: w.viewers,
        passersBy: w.passersBy,
        notClassified: w.notClassified,
        lookTime: w.lookTime,
      };
      for (const sink of this.sinks) {
        try {
          await sink.write(w);
        } catch (err) {
          this.log.error({ err, sink: sink.name }, 'sink failed to write a window');
        }
      }
    }
  }
}
