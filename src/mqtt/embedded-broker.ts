// An in-process MQTT broker (aedes) for the demo and for trying the agent without installing one:
// `mqtt.url` = `embedded`. It listens on 127.0.0.1 only, keeps nothing on disk, and is started before
// the agent's client and stopped after it, so the clean `offline` status still goes out.
import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';

export const EMBEDDED_URL = 'embedded';

export class EmbeddedBroker {
  private broker: Aedes | undefined;
  private server: Server | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly port: number,
    private readonly host = '127.0.0.1',
  ) {}

  /** The URL clients use; valid once start() resolved. */
  get url(): string {
    return `mqtt://${this.host}:${this.port}`;
  }

  /** Idempotent. Rejects (with the listen error's code, e.g. EADDRINUSE) when the port cannot be bound. */
  start(): Promise<void> {
    if (this.stopping) return Promise.reject(new Error('embedded broker: cannot start a stopped broker'));
    this.starting ??= this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const broker = await Aedes.createBroker();
    const server = createServer((socket) => broker.handle(socket));
    this.broker = broker;
    this.server = server;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.port, this.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      // Not through stop(): that waits for this very start to settle.
      this.server = undefined;
      this.broker = undefined;
      await new Promise<void>((r) => broker.close(() => r()));
      throw err;
    }
  }

  /** Idempotent; closes client connections too, so it never waits on a connected client. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    const { server, broker } = this;
    // server.close() only calls back once every connection is gone, and aedes' close() is what ends
    // them: stop accepting first, then close the broker, then wait for the server.
    const closed = server?.listening ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
    if (broker) await new Promise<void>((r) => broker.close(() => r()));
    await closed;
  }
}
