// Everything the agent publishes, as a consumer sees it: a QoS 1 subscriber with a persistent session
// (the broker keeps its messages while either side is away), recording every message with its topic.
import { connectAsync, type MqttClient } from 'mqtt';

export interface Received {
  topic: string;
  text: string;
  at: number;
}

export class Subscriber {
  readonly messages: Received[] = [];

  private constructor(private readonly client: MqttClient) {}

  static async start(url: string, root: string): Promise<Subscriber> {
    const client = await connectAsync(url, {
      clientId: 'chaos-subscriber',
      clean: false,
      reconnectPeriod: 250,
      username: 'chaos',
      password: 'chaos-watch',
    });
    const s = new Subscriber(client);
    client.on('message', (topic, payload) =>
      s.messages.push({ topic, text: payload.toString('utf8'), at: Date.now() }),
    );
    await client.subscribeAsync(`${root}/#`, { qos: 1 });
    return s;
  }

  async publish(topic: string, body: unknown): Promise<void> {
    await this.client.publishAsync(topic, JSON.stringify(body), { qos: 1 });
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}
