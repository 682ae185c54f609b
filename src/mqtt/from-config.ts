// Builds the MQTT sink from the loaded configuration, so the composition root stays a list of parts
// and this mapping (client id and topic root defaults, device id) can be tested without models.
import type { Logger } from 'pino';
import { redactConfig, type AgentConfig } from '../config/index.js';
import { packageVersion } from '../models/defaults.js';
import { CommandHandler, type CommandFn } from './commands.js';
import { resolveDeviceId } from './device-id.js';
import { EMBEDDED_URL, EmbeddedBroker } from './embedded-broker.js';
import { Outbox } from './outbox.js';
import { MqttSink } from './sink.js';
import { defaultTopicRoot, type InfoPayload } from './topics.js';

/** extraCommands: more commands (model/update…); maxCommandBytes: raised for inline model files. */
export function mqttSinkFromConfig(
  cfg: AgentConfig,
  log: Logger,
  info?: () => InfoPayload,
  extraCommands: Record<string, CommandFn> = {},
  maxBytesFor?: Record<string, number>,
): MqttSink {
  const deviceId = resolveDeviceId(cfg.device.id);
  const m = cfg.mqtt;
  const client = {
    url: m.url === EMBEDDED_URL ? `mqtt://127.0.0.1:${m.embeddedPort}` : m.url,
    clientId: m.clientId ?? deviceId,
    username: m.username,
    password: m.password,
    ca: m.ca,
    cert: m.cert,
    key: m.key,
    keepaliveS: m.keepaliveS,
    protocolVersion: m.protocolVersion,
  };
  const topicRoot = m.topicRoot ?? defaultTopicRoot(deviceId);
  const commands: Record<string, CommandFn> = {
    ping: () => ({ pong: true, time: new Date().toISOString() }),
    // Redacted on every call: the reply leaves the box, the secrets must not.
    'config/get': () => redactConfig(cfg),
    ...(info ? { info: () => info() } : {}),
    ...extraCommands,
  };
  const handler = new CommandHandler({
    root: topicRoot,
    deviceId,
    commands,
    log: log.child({ module: 'mqtt-cmd' }),
    ...(maxBytesFor ? { maxBytesFor } : {}),
  });
  const outbox = new Outbox({ path: cfg.outbox.path, maxRows: cfg.outbox.maxRows, maxAgeS: cfg.outbox.maxAgeS });
  const homeAssistant = m.homeAssistant.enabled
    ? {
        homeAssistant: {
          prefix: m.homeAssistant.prefix,
          cameras: cfg.cameras.filter((c) => c.enabled).map((c) => c.id),
          swVersion: packageVersion(),
        },
      }
    : {};
  return new MqttSink(
    {
      client,
      deviceId,
      topicRoot,
      commands: handler,
      statsIntervalMs: m.statsIntervalS * 1000,
      maxUnstored: cfg.outbox.maxUnstored,
      ...(info ? { info } : {}),
      ...homeAssistant,
    },
    outbox,
    log.child({ module: 'mqtt' }),
  );
}

/**
 * Starts the in-process broker when mqtt.url is `embedded`; null when it is not. A port already in use
 * resolves to 'unavailable' with a warning: the demo goes on without MQTT instead of failing.
 */
export async function embeddedBrokerFromConfig(
  cfg: AgentConfig,
  log: Logger,
): Promise<EmbeddedBroker | null | 'unavailable'> {
  if (!cfg.mqtt.enabled || cfg.mqtt.url !== EMBEDDED_URL) return null;
  const broker = new EmbeddedBroker(cfg.mqtt.embeddedPort);
  try {
    await broker.start();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    log.warn(
      { port: cfg.mqtt.embeddedPort, code },
      `cannot start the embedded MQTT broker on 127.0.0.1:${cfg.mqtt.embeddedPort} (${code}${code === 'EADDRINUSE' ? ': another broker runs there? point mqtt.url at it or change mqtt.embeddedPort' : ''}); running without MQTT`,
    );
    return 'unavailable';
  }
  log.info({ url: broker.url }, "embedded MQTT broker listening (try: npx mqtt sub -t 'emotion-agent/#' -v)");
  return broker;
}
