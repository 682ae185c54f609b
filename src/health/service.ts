// Assembles the health endpoint from the configuration: host monitor, rates, metrics, window history,
// preview hub and the HTTP server, started and stopped as one part of the agent.
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { AgentConfig } from '../config/index.js';
import { PACKAGE_ROOT } from '../models/defaults.js';
import { resolveDeviceId } from '../mqtt/device-id.js';
import { WindowHistory } from './history.js';
import { HostMonitor } from './host.js';
import { AgentMetrics } from './metrics.js';
import { PreviewHub } from './preview.js';
import { HealthServer } from './server.js';
import { buildStatus, RateTracker, type ApiStatus, type HealthSource } from './status.js';

export class HealthService {
  readonly history = new WindowHistory();
  readonly preview: PreviewHub;
  private readonly host: HostMonitor;
  private readonly server: HealthServer;
  private started = false;
  private sampler: NodeJS.Timeout | undefined;
  private readonly rates = new RateTracker();

  constructor(
    private readonly cfg: AgentConfig,
    private readonly source: HealthSource,
    private readonly log: Logger,
  ) {
    this.preview = new PreviewHub(cfg.preview.enabled, cfg.preview.fps, cfg.preview.width);
    this.host = new HostMonitor(dirname(cfg.outbox.path), log);
    const deviceId = resolveDeviceId(cfg.device.id);
    const status = (): ApiStatus =>
      buildStatus(source, deviceId, this.host.current(), this.rates, this.preview.enabled);
    this.server = new HealthServer(
      {
        host: cfg.http.host,
        port: cfg.http.port,
        token: cfg.http.token,
        maxEventStreams: cfg.http.maxEventStreams,
        webDir: join(PACKAGE_ROOT, 'web'),
      },
      {
        status,
        readiness: () => source.readiness(),
        history: this.history,
        preview: this.preview,
        metrics: new AgentMetrics(status, cfg.mqtt.enabled),
      },
      log,
    );
  }

  get url(): string {
    return this.server.url;
  }

  /**
   * A port that cannot be bound is logged, not fatal: the analysis (and MQTT) go on, and a supervisor's
   * health check on /healthz reports the problem. Stopping a kiosk's counting over its page is worse.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.host.start();
    // Rates sampled every second in the background, so even the first poll (a technician's curl) has them.
    this.sampler = setInterval(() => this.rates.update(this.source.status().cameras, Date.now()), 1000).unref();
    try {
      await this.server.start();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      this.log.error(
        { host: this.cfg.http.host, port: this.cfg.http.port, code },
        `cannot listen on ${this.cfg.http.host}:${this.cfg.http.port} (${code}); running without the health endpoint: change http.port`,
      );
    }
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    clearInterval(this.sampler);
    await this.server.stop();
    await this.host.stop();
  }
}
