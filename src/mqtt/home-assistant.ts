// Home Assistant MQTT discovery: the retained config messages that make each camera's window topic
// appear in Home Assistant as sensors (people, viewers, and people per dominant emotion), grouped under one
// device per agent and marked unavailable when the agent's `status` says offline. Pure: the sink
// publishes what this returns, retained, on every connect (a broker that lost its retained messages
// gets them back).
import { CANONICAL_LABELS } from '../models/manifest.js';
import { Topics } from './topics.js';

export interface HomeAssistantOptions {
  /** Discovery prefix, `homeassistant` unless Home Assistant was configured otherwise. */
  prefix: string;
  deviceId: string;
  /** Enabled camera ids. */
  cameras: readonly string[];
  /** The agent's version, shown in the device block. */
  swVersion: string;
}

export interface DiscoveryMessage {
  topic: string;
  /** JSON text, published with the `discovery` entry's QoS and retain flag (topics.ts). */
  payload: string;
}

export interface DiscoveryConfig {
  name: string;
  unique_id: string;
  state_topic: string;
  value_template: string;
  unit_of_measurement: 'people';
  state_class: 'measurement';
  availability_topic: string;
  payload_available: 'online';
  payload_not_available: 'offline';
  device: { identifiers: string[]; name: string; manufacturer: 'emotion-agent'; sw_version: string };
}

/** Home Assistant accepts only [A-Za-z0-9_-] in a discovery object id; device ids may also hold '.'. */
const objectIdPart = (s: string): string => s.replace(/[^A-Za-z0-9_-]/g, '_');

/** Sensors for people, viewers (issue 12) and one per emotion label, per camera: 9 messages per camera. */
export function homeAssistantDiscovery(opts: HomeAssistantOptions, topics: Topics): DiscoveryMessage[] {
  const device = {
    identifiers: [opts.deviceId],
    name: `emotion-agent ${opts.deviceId}`,
    manufacturer: 'emotion-agent' as const,
    sw_version: opts.swVersion,
  };
  const out: DiscoveryMessage[] = [];
  for (const cameraId of opts.cameras) {
    const sensor = (key: string, name: string, valueTemplate: string): void => {
      const objectId = `${objectIdPart(opts.deviceId)}_${objectIdPart(cameraId)}_${key}`;
      const config: DiscoveryConfig = {
        name,
        unique_id: objectId,
        state_topic: topics.window(cameraId),
        value_template: valueTemplate,
        unit_of_measurement: 'people',
        state_class: 'measurement',
        availability_topic: topics.status(),
        payload_available: 'online',
        payload_not_available: 'offline',
        device,
      };
      out.push({ topic: Topics.discovery(opts.prefix, objectId), payload: JSON.stringify(config) });
    };
    sensor('people', `${cameraId} people`, '{{ value_json.people }}');
    // Windows of agents from before the audience metrics have no viewers field: counted as 0.
    sensor('viewers', `${cameraId} viewers`, '{{ value_json.viewers if value_json.viewers is defined else 0 }}');
    // A withheld window (fewer people than aggregate.minPeople) has emotions = null: counted as 0.
    for (const label of CANONICAL_LABELS)
      sensor(label, `${cameraId} ${label}`, `{{ value_json.emotions.${label} if value_json.emotions else 0 }}`);
  }
  return out;
}
