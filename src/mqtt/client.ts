// mqtt.js client options from the agent's configuration: URL schemes mqtt://, mqtts://, ws://, wss://,
// credentials, TLS files, keepalive, MQTT 3.1.1 (4) or 5, and the last will that marks the device
// offline when the process dies without saying goodbye (power cut, SIGKILL, network gone).
import { readFileSync } from 'node:fs';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { publishOptions } from './topics.js';

export interface MqttClientConfig {
  url: string;
  clientId: string;
  username: string | null;
  password: string | null;
  /** PEM file paths; null = system CAs / no client certificate. */
  ca: string | null;
  cert: string | null;
  key: string | null;
  keepaliveS: number;
  protocolVersion: 4 | 5;
  /** Pause between reconnect attempts; mqtt.js retries forever at this period. */
  reconnectMs?: number;
}

/** The last will: the `offline` status, with the status topic's QoS and retain flag (topics.ts). */
export interface Will {
  topic: string;
  payload: string;
}

const SCHEMES = ['mqtt:', 'mqtts:', 'ws:', 'wss:'];

function readPem(what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`mqtt.${what}: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

export function clientOptions(cfg: MqttClientConfig, will: Will): IClientOptions {
  let scheme: string;
  try {
    scheme = new URL(cfg.url).protocol;
  } catch {
    throw new Error('mqtt.url: not a URL (expected mqtt://host:1883, mqtts://, ws:// or wss://)');
  }
  if (!SCHEMES.includes(scheme)) throw new Error(`mqtt.url: scheme ${scheme} is not one of ${SCHEMES.join(' ')}`);
  return {
    clientId: cfg.clientId,
    protocolVersion: cfg.protocolVersion,
    keepalive: cfg.keepaliveS,
    reconnectPeriod: cfg.reconnectMs ?? 2000,
    // mqtt.js gives up after a refused CONNACK (bad credentials) by default; a kiosk must keep trying,
    // because the fix (new credentials on the broker) happens elsewhere, while windows are stored.
    reconnectOnConnackError: true,
    connectTimeout: 10_000,
    // A clean session: the outbox, not the broker, is what keeps undelivered windows.
    clean: true,
    ...(cfg.username !== null ? { username: cfg.username } : {}),
    ...(cfg.password !== null ? { password: cfg.password } : {}),
    ...(cfg.ca !== null ? { ca: readPem('ca', cfg.ca) } : {}),
    ...(cfg.cert !== null ? { cert: readPem('cert', cfg.cert) } : {}),
    ...(cfg.key !== null ? { key: readPem('key', cfg.key) } : {}),
    will: { topic: will.topic, payload: Buffer.from(will.payload), ...publishOptions('status') },
  };
}

/** Starts connecting (and reconnecting forever); errors arrive as 'error' events. */
export function connectClient(cfg: MqttClientConfig, will: Will): MqttClient {
  return connect(cfg.url, clientOptions(cfg, will));
}

/** A connection error in words an operator can act on; the URL's credentials never appear. */
export function describeMqttError(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  const msg = err.message;
  if (/not authori[sz]ed|bad user ?name or password/i.test(msg))
    return `broker refused the credentials (not authorized): ${msg}`;
  if (typeof code === 'string' && /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO|ERR_TLS/i.test(code))
    return `TLS error (${code}): ${msg}; check mqtt.ca / mqtt.cert / mqtt.key`;
  if (code === 'ECONNREFUSED') return `broker not reachable (connection refused): ${msg}`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `broker host not found (${code}): ${msg}`;
  return code ? `${msg} (${code})` : msg;
}
