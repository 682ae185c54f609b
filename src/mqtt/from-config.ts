// Builds the MQTT sink from the loaded configuration, so the composition root stays a list of parts
// and this mapping (client id and topic root defaults, device id) can be tested without models.
import type { Logger } from 'pino';
import type { AgentConfig } from '../config/index.js';
import { resolveDeviceId } from './device-id.js';
import { Outbox } from './outbox.js';
import { MqttSink } from './sink.js';
import { defaultTopicRoot, type InfoPayload } from './topics.js';

export function mqttSinkFromConfig(cfg: AgentConfig, log: Logger, info?: () => InfoPayload): MqttSink {
  const deviceId = resolveDeviceId(cfg.device.id);
  const m = cfg.mqtt;
  const client = {
    url: m.url, clientId: m.clientId ?? deviceId, username: m.username, password: m.password,
    ca: m.ca, cert: m.cert, key: m.key, keepaliveS: m.keepaliveS, protocolVersion: m.protocolVersion,
  };
  const outbox = new Outbox({ path: cfg.outbox.path, maxRows: cfg.outbox.maxRows, maxAgeS: cfg.outbox.maxAgeS });
  return new MqttSink({ client, deviceId, topicRoot: m.topicRoot ?? defaultTopicRoot(deviceId), statsIntervalMs: m.statsIntervalS * 1000, ...(info ? { info } : {}) }, outbox, log.child({ module: 'mqtt' }));
}
