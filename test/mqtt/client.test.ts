// mqtt.js options from the configuration: schemes, TLS files, last will; errors in operator words.
import { describe, expect, it } from 'vitest';
import { clientOptions, describeMqttError, type MqttClientConfig } from '../../src/mqtt/client.js';

const cfg = (over: Partial<MqttClientConfig> = {}): MqttClientConfig => ({
  url: 'mqtt://broker:1883',
  clientId: 'kiosk-1',
  username: null,
  password: null,
  ca: null,
  cert: null,
  key: null,
  keepaliveS: 30,
  protocolVersion: 5,
  ...over,
});
const will = { topic: 'emotion-agent/kiosk-1/status', payload: 'offline' };

describe('clientOptions', () => {
  it('sets client id, keepalive, protocol, credentials and a retained QoS 1 last will', () => {
    const o = clientOptions(cfg({ username: 'u', password: 'p' }), will);
    expect(o).toMatchObject({
      clientId: 'kiosk-1',
      keepalive: 30,
      protocolVersion: 5,
      clean: true,
      username: 'u',
      password: 'p',
    });
    expect(o.will).toMatchObject({ topic: will.topic, qos: 1, retain: true });
    expect(o.will?.payload.toString()).toBe('offline');
  });

  it('accepts mqtt, mqtts, ws and wss URLs only', () => {
    for (const url of ['mqtt://h', 'mqtts://h:8883', 'ws://h/mqtt', 'wss://h/mqtt'])
      expect(() => clientOptions(cfg({ url }), will)).not.toThrow();
    expect(() => clientOptions(cfg({ url: 'http://h' }), will)).toThrow(/scheme http:/);
    expect(() => clientOptions(cfg({ url: 'broker:1883x' }), will)).toThrow(/mqtt\.url/);
  });

  it('names the TLS file it cannot read', () => {
    expect(() => clientOptions(cfg({ ca: '/nonexistent/ca.pem' }), will)).toThrow(
      /mqtt\.ca: cannot read \/nonexistent\/ca\.pem/,
    );
  });
});

describe('describeMqttError', () => {
  it('turns refusals and TLS failures into actionable text', () => {
    expect(describeMqttError(new Error('Connection refused: Not authorized'))).toMatch(/not authorized/);
    const tls = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect(describeMqttError(tls)).toMatch(/^TLS error.*mqtt\.ca/);
    expect(describeMqttError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toMatch(
      /not reachable/,
    );
  });
});
