// The agent's MQTT side as one part that the composition root creates from the configuration, starts
// as one step and stops (like Zigbee2MQTT's extensions): the embedded broker when mqtt.url = embedded,
// the MQTT sink (client, outbox, remote commands) and what it publishes besides windows: the retained
// info, each camera's capture state and the model update state. The Agent only composes it.
import type { Logger } from 'pino';
import type { WindowSink } from '../aggregate/sink.js';
import type { StateChange } from '../capture/camera.js';
import type { AgentConfig } from '../config/index.js';
import { packageVersion } from '../models/defaults.js';
import { MAX_COMMAND_BYTES, type CommandFn } from './commands.js';
import type { EmbeddedBroker } from './embedded-broker.js';
import { embeddedBrokerFromConfig, mqttSinkFromConfig } from './from-config.js';
import type { MqttSink, MqttSinkStats } from './sink.js';
import type { InfoPayload, ModelStatePayload } from './topics.js';

/** Remote model updates as MQTT sees them: their `model/*` commands and their state (src/updates/ has them). */
export interface ModelUpdateLink {
  commands(): Record<string, CommandFn>;
  onState(fn: (s: ModelStatePayload) => void): void;
}

/** What the integration reads from the rest of the agent. */
export interface MqttIntegrationDeps {
  /** The models serving now (they change with a model update), for `info`. */
  models(): InfoPayload['models'];
  /** When the agent finished starting; undefined while it starts (then `info` says now). */
  startedAt(): Date | undefined;
  /** Remote model updates, when models.update.enabled. */
  updates?: ModelUpdateLink;
}

export class MqttIntegration {
  private broker: EmbeddedBroker | undefined;
  private sink: MqttSink | undefined;
  private starting: Promise<void> | undefined;

  constructor(
    private readonly cfg: AgentConfig,
    private readonly log: Logger,
    private readonly deps: MqttIntegrationDeps,
  ) {}

  /**
   * Idempotent. Starts the embedded broker (mqtt.url = embedded; a port in use means "run without MQTT")
   * and builds the MQTT sink; the Agent starts the sink with the others, first of them (see `sinks`).
   */
  start(): Promise<void> {
    this.starting ??= this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const { cfg, log, deps } = this;
    const broker = await embeddedBrokerFromConfig(cfg, log.child({ module: 'mqtt-broker' }));
    if (broker !== null && broker !== 'unavailable') this.broker = broker;
    if (!cfg.mqtt.enabled || broker === 'unavailable') return;
    const updates = deps.updates;
    const sink = mqttSinkFromConfig(
      cfg,
      log,
      () => this.info(),
      updates?.commands(),
      updates
        ? { 'model/update': MAX_COMMAND_BYTES + Math.ceil((cfg.models.update.maxInlineBytes * 4) / 3) }
        : undefined,
    );
    let served = '';
    updates?.onState((st) => {
      sink.setModelState(st);
      // info names the serving models: after a swap or rollback it would be stale until the next reconnect.
      const now = `${st['face-detector'].version} ${st['emotion-classifier'].version}`;
      if (now !== served) sink.refreshInfo();
      served = now;
    });
    this.sink = sink;
  }

  private info(): InfoPayload {
    const { cfg, deps } = this;
    return {
      version: packageVersion(),
      models: deps.models(),
      cameras: cfg.cameras.filter((c) => c.enabled).map((c) => c.id),
      startedAt: (deps.startedAt() ?? new Date()).toISOString(),
    };
  }

  /** The window sinks MQTT adds, to be written first: the MQTT sink, or none (MQTT unavailable). */
  get sinks(): WindowSink[] {
    return this.sink ? [this.sink] : [];
  }

  /** A camera's capture changed state: published retained on its `state` topic, now or on the next connect. */
  cameraState(ch: StateChange): void {
    this.sink?.setCameraState(ch.id, { state: ch.state, since: ch.since, lastError: ch.reason ?? null });
  }

  /** The MQTT sink's counters; null when it is not there. */
  stats(): MqttSinkStats | null {
    return this.sink ? this.sink.stats() : null;
  }

  /**
   * Stops the sink (a no-op when the Agent already flushed and stopped it with the other sinks, and
   * reported its failure), then the embedded broker: after the client, so the clean `offline` went out.
   */
  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    await this.sink?.stop().catch(() => undefined);
    this.sink = undefined;
    await this.broker?.stop();
    this.broker = undefined;
  }
}

/** The MQTT integration the configuration asks for; null when mqtt.enabled is false. */
export function mqttIntegrationFromConfig(
  cfg: AgentConfig,
  log: Logger,
  deps: MqttIntegrationDeps,
): MqttIntegration | null {
  return cfg.mqtt.enabled ? new MqttIntegration(cfg, log, deps) : null;
}
