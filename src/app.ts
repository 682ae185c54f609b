// The composition root: builds every part from the configuration and starts them in order (models,
// sinks, captures, pipelines); stop() runs in reverse. Nothing else wires modules together.
import type { Logger } from 'pino';
import { JsonLinesSink, type WindowSink } from './aggregate/sink.js';
import { CameraCapture, type CameraCaptureConfig } from './capture/camera.js';
import type { AgentConfig, CameraConfig } from './config/index.js';
import { readBundleManifest } from './models/bundle.js';
import { packageVersion } from './models/defaults.js';
import type { Task } from './models/manifest.js';
import { mqttIntegrationFromConfig, type MqttIntegration } from './mqtt/integration.js';
import type { MqttSinkStats } from './mqtt/sink.js';
import { CameraPipeline } from './pipeline/camera-pipeline.js';
import type { InferenceEngine } from './inference/engine.js';
import { WorkerEngine } from './inference/worker-engine.js';
import { LatencyWindow } from './pipeline/latency.js';
import { HealthService } from './health/service.js';
import { ModelUpdates } from './updates/updates.js';
import type { ModelStatePayload } from './mqtt/topics.js';
import { healthy, readiness, type Readiness, type ReadinessInput } from './health/readiness.js';
import type { AgentSnapshot, AgentStatus } from './health/agent-status.js';
import { detectorCopyBox } from './vision/preprocess.js';

export function captureConfig(c: CameraConfig, detectorCopy?: { width: number; height: number }): CameraCaptureConfig {
  return {
    ...(detectorCopy ? { detectorCopy } : {}),
    id: c.id,
    source: c.source,
    kind: c.kind,
    ...(c.username !== null ? { username: c.username } : {}),
    ...(c.password !== null ? { password: c.password } : {}),
    loop: c.loop,
    fps: c.fps,
    ...(c.width ? { width: c.width } : {}),
    ...(c.height ? { height: c.height } : {}),
    rtspTransport: c.rtspTransport,
    stallTimeoutS: c.stallTimeoutS,
    connectTimeoutS: c.connectTimeoutS,
    backoff: { initialMs: c.backoff.initialMs, maxMs: c.backoff.maxMs, resetAfterMs: c.backoff.resetAfterMs },
  };
}

export interface AgentOptions {
  /** Sinks besides the configured ones (tests, benchmarks), written after them and before the history. */
  extraSinks?: WindowSink[];
  /** Called when the agent cannot go on (the inference worker died): exit non-zero. */
  onFatal?: (err: Error) => void;
  /**
   * Inference in this thread instead of the worker: tests that start several agents in one process
   * use this; the daemon never does.
   */
  inProcessInference?: boolean;
}

export class Agent {
  private inference: InferenceEngine | undefined;
  /** The detector bundle the inference loaded at start (the configured one or a pushed update). */
  private detectorDir: string | undefined;
  private sinks: WindowSink[] = [];
  private cameras: { capture: CameraCapture; pipeline: CameraPipeline; stallTimeoutS: number }[] = [];
  /** MQTT (src/mqtt/integration.ts): the embedded broker, the MQTT sink and what it publishes; undefined when off. */
  private mqtt: MqttIntegration | undefined;
  private readonly modelLatency = { detect: new LatencyWindow(), classify: new LatencyWindow() };
  /** The local health endpoint and page: started first (so /healthz answers while models load), stopped last. */
  private health: HealthService | undefined;
  private startedAt: Date | undefined;
  private starting: Promise<void> | undefined;
  /** Remote model updates (models.update.*): which bundles serve, and the model/* commands. */
  private updates: ModelUpdates | undefined;

  private readonly opts: Required<AgentOptions>;

  constructor(
    private readonly cfg: AgentConfig,
    private readonly log: Logger,
    opts: AgentOptions = {},
  ) {
    this.opts = {
      extraSinks: opts.extraSinks ?? [],
      onFatal: opts.onFatal ?? (() => undefined),
      inProcessInference: opts.inProcessInference ?? false,
    };
  }

  /** Idempotent. Rejects when the models cannot be loaded (the process should exit non-zero). */
  start(): Promise<void> {
    this.starting ??= this.doStart();
    return this.starting;
  }

  /** The start order (docs/architecture.md); stop() undoes it in reverse. */
  private async doStart(): Promise<void> {
    await this.startHealth();
    const inference = await this.startInference(this.startModelUpdates());
    await this.startMqtt(inference);
    await this.startSinks();
    this.startCameras(inference);
    this.startedAt = new Date();
    this.log.info({ cameras: this.cameras.length, version: packageVersion() }, 'agent started');
  }

  /** First, so /healthz answers while the models load. */
  private async startHealth(): Promise<void> {
    if (!this.cfg.http.enabled) return;
    this.health = new HealthService(this.cfg, this, this.log.child({ module: 'http' }));
    await this.health.start();
  }

  /**
   * Remote model updates (src/updates/updates.ts): the store may name newer bundles than the
   * configuration. Returns the bundle to load per task, or undefined when updates are off.
   */
  private startModelUpdates(): Record<Task, string> | undefined {
    const { cfg } = this;
    if (!cfg.models.update.enabled) return undefined;
    const configured = { 'face-detector': cfg.models.detector, 'emotion-classifier': cfg.models.classifier };
    this.updates = new ModelUpdates(cfg.models.update, configured, this.log.child({ module: 'model-update' }));
    return this.updates.boot();
  }

  /** Loads the models in the worker thread (or in this one, for tests) and lets the updates swap them. */
  private async startInference(bundles: Record<Task, string> | undefined): Promise<InferenceEngine> {
    const { cfg } = this;
    const analyzerOptions = {
      detector: (this.detectorDir = bundles?.['face-detector'] ?? cfg.models.detector),
      classifier: bundles?.['emotion-classifier'] ?? cfg.models.classifier,
      executionProvider: cfg.inference.provider,
      threads: cfg.inference.threads,
      flipTta: cfg.inference.flipTta,
      quality: { ...cfg.quality },
      ...(cfg.detector.scoreThreshold !== null ? { scoreThreshold: cfg.detector.scoreThreshold } : {}),
    };
    let inference: InferenceEngine;
    if (this.opts.inProcessInference) {
      // Imported here so the daemon's main thread never loads the model code (the worker does).
      const { InProcessEngine } = await import('./inference/in-process.js');
      inference = new InProcessEngine(analyzerOptions);
    } else {
      inference = new WorkerEngine(analyzerOptions);
    }
    inference.on('error', (err) => this.opts.onFatal(err));
    await inference.start();
    this.inference = inference;
    this.updates?.attach(inference);
    const mlog = this.log.child({ module: 'models' });
    mlog.info({ ...inference.models, provider: cfg.inference.provider }, 'models loaded');
    for (const why of inference.providerFallbacks) mlog.warn({ provider: cfg.inference.provider }, why);
    return inference;
  }

  /** MQTT (when mqtt.enabled): the embedded broker (mqtt.url = embedded), then the MQTT sink, first of the sinks. */
  private async startMqtt(inference: InferenceEngine): Promise<void> {
    const mqtt = mqttIntegrationFromConfig(this.cfg, this.log, {
      models: () => inference.models,
      startedAt: () => this.startedAt,
      ...(this.updates ? { updates: this.updates } : {}),
    });
    if (!mqtt) return;
    this.mqtt = mqtt;
    await mqtt.start();
    this.sinks.push(...mqtt.sinks);
  }

  /**
   * After MQTT: the pipeline writes sinks in order, so a crash between the two leaves a window in the
   * durable outbox but not in the local file, never the reverse (a local record of a window nobody got).
   */
  private async startSinks(): Promise<void> {
    const { cfg } = this;
    if (cfg.sinks.jsonl.enabled)
      this.sinks.push(new JsonLinesSink(cfg.sinks.jsonl.path === '-' ? process.stdout : cfg.sinks.jsonl.path));
    this.sinks.push(...this.opts.extraSinks);
    if (this.health) this.sinks.push(this.health.history);
    for (const s of this.sinks) await s.start();
  }

  /** A capture and a pipeline per enabled camera, each independent: one that fails to connect goes to backoff, the others stream. */
  private startCameras(inference: InferenceEngine): void {
    const { cfg, log, mqtt } = this;
    // FFmpeg scales a copy of each frame to the detector's input (docs/performance.md). Sized for the
    // detector loaded now; after a swap to another input size the detector reads the full frame if the
    // copy is too small.
    const copy = detectorCopyBox(readBundleManifest(this.detectorDir!, 'face-detector').input);
    for (const c of cfg.cameras.filter((cam) => cam.enabled)) {
      // The capture adds its own module/camera fields and logs its state changes itself.
      const capture = new CameraCapture(captureConfig(c, copy), log);
      if (mqtt) capture.on('state', (ch) => mqtt.cameraState(ch));
      const pipeline = new CameraPipeline(
        {
          cameraId: c.id,
          ...(c.roi ? { roi: c.roi } : {}),
          minFaceSize: c.minFaceSize,
          tracker: cfg.tracker,
          windowMs: cfg.aggregate.windowS * 1000,
          minPeople: cfg.aggregate.minPeople,
          modelLatency: this.modelLatency,
          attention: cfg.attention,
          ...(this.health?.preview.enabled ? { preview: this.health.preview } : {}),
        },
        capture,
        inference,
        this.sinks,
        log.child({ module: 'pipeline', camera: c.id }),
      );
      this.cameras.push({ capture, pipeline, stallTimeoutS: c.stallTimeoutS });
    }
    for (const { capture, pipeline } of this.cameras) {
      try {
        capture.start();
        pipeline.start();
      } catch (err) {
        // Not expected (start() reports its own failures as state), but one camera must never stop the rest.
        log.error({ camera: capture.id, err: (err as Error).message }, 'camera could not start; the others go on');
      }
    }
  }

  /** Idempotent: stop pipelines (closing the open window as partial), captures, then flush sinks. */
  async stop(): Promise<void> {
    if (!this.starting) return;
    await this.starting.catch(() => undefined);
    this.starting = undefined;
    this.updates?.stop();
    const cams = this.cameras;
    this.cameras = [];
    await Promise.all(cams.map(({ pipeline }) => pipeline.stop()));
    await Promise.all(cams.map(({ capture }) => capture.stop()));
    for (const s of [...this.sinks].reverse()) {
      try {
        await s.flush();
        await s.stop();
      } catch (err) {
        this.log.error({ err, sink: s.name }, 'sink failed to flush on shutdown');
      }
    }
    this.sinks = [];
    await this.mqtt?.stop();
    this.mqtt = undefined;
    await this.inference?.stop();
    await this.health?.stop();
    this.health = undefined;
    this.log.info('agent stopped');
  }

  status(): AgentStatus {
    return this.statusOf(this.cameraStats());
  }

  /**
   * Status, readiness and MQTT counters from one pass over the cameras and the outbox: what the health
   * endpoint serves per request, so a poll reads each counter (and queries SQLite) once.
   */
  snapshot(): AgentSnapshot {
    const cams = this.cameraStats();
    const mqtt = this.mqttStats();
    return {
      status: this.statusOf(cams),
      readiness: readiness(this.readinessInput(cams, mqtt)),
      mqtt,
      modelUpdates: this.modelUpdateStatus(),
    };
  }

  private cameraStats(): ReadinessInput['cameras'] {
    return this.cameras.map(({ capture, pipeline, stallTimeoutS }) => ({
      capture: capture.stats(),
      pipeline: pipeline.stats(),
      stallTimeoutS,
    }));
  }

  private statusOf(cams: ReadinessInput['cameras']): AgentStatus {
    return {
      version: packageVersion(),
      startedAt: this.startedAt?.toISOString() ?? null,
      models: this.inference ? this.inference.models : null,
      modelLatencyMs: { detect: this.modelLatency.detect.summary(), classify: this.modelLatency.classify.summary() },
      cameras: cams.map(({ capture, pipeline }) => ({ capture, pipeline })),
    };
  }

  /** Where the health endpoint listens (tests use port 0); null when it is off. */
  get healthUrl(): string | null {
    return this.health?.url ?? null;
  }

  /** What /readyz and systemd's READY go by (src/health/readiness.ts). */
  readiness(): Readiness {
    return readiness(this.readinessInput());
  }

  /** What the systemd watchdog goes by: the agent's own machinery, not its cameras or broker. */
  healthy(): Readiness {
    return healthy(this.readinessInput());
  }

  /** Remote model update state per task (the retained MQTT `model` topic); null when updates are off. */
  modelUpdateStatus(): ModelStatePayload | null {
    return this.updates ? this.updates.status() : null;
  }

  /** The MQTT sink's counters; null when MQTT is off. */
  mqttStats(): MqttSinkStats | null {
    return this.mqtt ? this.mqtt.stats() : null;
  }

  private readinessInput(cams = this.cameraStats(), m = this.mqttStats()): ReadinessInput {
    return {
      modelsLoaded: this.inference !== undefined && this.startedAt !== undefined,
      cameras: cams,
      mqtt: m
        ? {
            connected: m.connected,
            pending: m.outbox.pending,
            maxRows: this.cfg.outbox.maxRows,
            writable: m.outbox.writable,
            storeError: m.outbox.storeError,
            unstored: m.outbox.unstored,
          }
        : null,
    };
  }
}
