// Windows to MQTT without losing any. write() stores the window in the durable outbox first (so a
// window survives a broker outage, a crash or a power cut from the moment write() resolves), then a
// drain loop publishes the outbox oldest-first with QoS 1, ONE message in flight at a time, and deletes
// each row only on its PUBACK. One in flight keeps the order trivially right across reconnects (mqtt.js
// resends the unacknowledged one first); at one window per camera per minute throughput is no concern.
// Delivery is at-least-once: a PUBACK lost in a crash means that window is sent again, with the same
// `seq`, which consumers use to drop duplicates. When the outbox cannot write (a full disk), windows wait
// in a bounded in-memory queue (store-queue.ts) instead of being lost; every drop is counted and leaves a
// gap in seq.
import type { IPublishPacket, MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { WindowSink } from '../aggregate/sink.js';
import { redactString } from '../config/redact-url.js';
import { within } from '../platform/async.js';
import type { AggregateWindow } from '../aggregate/window.js';
import type { CommandHandler } from './commands.js';
import { connectClient, describeMqttError, type MqttClientConfig } from './client.js';
import { homeAssistantDiscovery, type HomeAssistantOptions } from './home-assistant.js';
import type { Outbox, OutboxStats } from './outbox.js';
import { StoreQueue, type StoreQueueStats } from './store-queue.js';
import { UnstoredCount } from './unstored-count.js';
import {
  encode,
  publishOptions,
  Topics,
  type CameraStatePayload,
  type InfoPayload,
  type ModelStatePayload,
} from './topics.js';

export interface MqttSinkOptions {
  client: MqttClientConfig;
  deviceId: string;
  /** Topic root, e.g. emotion-agent/<deviceId>. */
  topicRoot: string;
  /** Retained `info`, published on every connect. */
  info?: () => InfoPayload;
  /** Period of the `stats` message; 0 = none. Default 0. */
  statsIntervalMs?: number;
  /** Answers requests on the command topics; none = no subscription at all. */
  commands?: CommandHandler;
  /** How long stop() tries to deliver what is left before closing. Default 3000 ms. */
  stopTimeoutMs?: number;
  /** Home Assistant discovery configs, published retained on every connect; none = no discovery. */
  homeAssistant?: Omit<HomeAssistantOptions, 'deviceId'>;
  /** Windows kept in memory while the outbox cannot write (disk full); beyond it the oldest are dropped. Default 1000. */
  maxUnstored?: number;
}

export interface MqttSinkStats {
  connected: boolean;
  /** The last connection or publish error, in words (kept after a reconnect, with its time, for diagnosis). */
  lastError: string | null;
  lastErrorAt: string | null;
  published: number;
  /** `dropped` includes windows dropped before they could be stored; `unstored`: waiting in memory. */
  outbox: OutboxStats & Omit<StoreQueueStats, 'unrecordedDrops'>;
}

type State = 'new' | 'started' | 'stopped';

export class MqttSink implements WindowSink {
  readonly name = 'mqtt';
  private state: State = 'new';
  private client: MqttClient | undefined;
  private draining: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private statsTimer: NodeJS.Timeout | undefined;
  private startedAtMs = 0;
  /** Latest state per camera: retained and latest-wins, so kept in memory (not the outbox) and re-sent on connect. */
  private readonly cameraStates = new Map<string, CameraStatePayload>();
  private stopping: Promise<void> | undefined;
  /** Latest model update state (retained, latest-wins), re-sent on connect like the camera states. */
  private modelState: ModelStatePayload | undefined;
  private lastError: string | null = null;
  private lastErrorAt: string | null = null;
  private published = 0;
  private readonly topics: Topics;
  private readonly unstoredCount: UnstoredCount;
  private readonly queue: StoreQueue;
  /** Delivered rows whose delete failed (disk full): not sent again by this process; deleted on a later retry. */
  private readonly acked = new Set<number>();
  private storeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly opts: MqttSinkOptions,
    private readonly outbox: Outbox,
    private readonly log: Logger,
  ) {
    this.topics = new Topics(opts.topicRoot);
    this.unstoredCount = new UnstoredCount(`${outbox.path}.unstored`);
    this.queue = new StoreQueue(outbox, opts.maxUnstored ?? 1000, this.unstoredCount, log);
  }

  /** Opens the outbox (throws naming the file when it cannot) and starts connecting; does not wait for the broker. */
  start(): Promise<void> {
    if (this.state === 'stopped') return Promise.reject(new Error('mqtt: cannot start a stopped sink'));
    if (this.state === 'started') return Promise.resolve();
    try {
      this.outbox.open();
      this.queue.inherit(this.unstoredCount.open());
      const client = connectClient(this.opts.client, {
        topic: this.topics.status(),
        payload: encode('status', 'offline'),
      });
      this.client = client;
      client.on('connect', () => this.onConnect());
      client.on('error', (err) => this.setError(err));
      client.on('close', () => this.log.debug('connection closed'));
      client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet));
      client.on('offline', () =>
        this.log.warn({ pending: this.outbox.stats().pending }, 'broker offline; windows kept in the outbox'),
      );
    } catch (err) {
      this.outbox.close(); // opened above when the client options were the problem
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    this.state = 'started';
    this.startedAtMs = Date.now();
    const every = this.opts.statsIntervalMs ?? 0;
    if (every > 0) this.statsTimer = setInterval(() => this.publishStats(), every).unref();
    // While the outbox cannot write, retry on a clock too: the cameras may be between windows.
    this.storeTimer = setInterval(() => {
      if (this.queue.writable) return;
      this.deleteAcked();
      if (this.queue.retry()) this.kick();
    }, 1000).unref();
    this.log.info(
      { url: redactString(this.opts.client.url), root: this.opts.topicRoot, pending: this.outbox.stats().pending },
      'mqtt sink started',
    );
    return Promise.resolve();
  }

  /**
   * Resolves once the window is in the outbox (durable) or, while the outbox cannot write, waiting in
   * the bounded in-memory queue (counted in stats, stored when writing works again); publishing happens behind.
   */
  write(w: AggregateWindow): Promise<void> {
    if (this.state !== 'started')
      return Promise.reject(
        new Error(`mqtt: write() on a sink that is ${this.state === 'new' ? 'not started' : 'stopped'}`),
      );
    // The seq is given by the outbox when the row is stored, so a window that waits gets it later, in order.
    if (
      this.queue.store(this.topics.window(w.cameraId), (seq) =>
        encode('window', { ...w, seq, deviceId: this.opts.deviceId }),
      )
    )
      this.kick();
    return Promise.resolve();
  }

  /** Every written window is already durable in the outbox; nothing to wait for. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.stopping ??= this.close();
    return this.stopping;
  }

  stats(): MqttSinkStats {
    const q = this.queue.stats();
    const stored = this.state === 'started' ? this.outbox.stats() : { pending: 0, dropped: 0, lastSeq: 0 };
    // Delivered rows whose delete is still to be written are not waiting for the broker any more.
    const outbox = {
      ...stored,
      pending: Math.max(0, stored.pending - this.acked.size),
      dropped: stored.dropped + q.unrecordedDrops,
      unstored: q.unstored,
      writable: q.writable,
      storeError: q.storeError,
    };
    return {
      connected: this.client?.connected ?? false,
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt,
      published: this.published,
      outbox,
    };
  }

  private onConnect(): void {
    // Rows that aged out during a long outage go now, before they are sent (the counter records them).
    let expired = 0;
    try {
      expired = this.outbox.expire();
    } catch (err) {
      this.queue.fail(err as Error);
    }
    if (expired > 0) this.log.warn({ expired }, 'outbox: dropped windows older than outbox.maxAgeS');
    this.log.info({ pending: this.outbox.stats().pending }, 'connected to the broker');
    const client = this.client;
    if (!client) return;
    // Retained, so a dashboard that subscribes later sees the state; the will overwrites it with offline.
    client.publish(this.topics.status(), encode('status', 'online'), publishOptions('status'));
    if (this.opts.info) client.publish(this.topics.info(), encode('info', this.opts.info()), publishOptions('info'));
    for (const [id, st] of this.cameraStates) this.publishCameraState(id, st);
    if (this.modelState) this.setModelState(this.modelState);
    const ha = this.opts.homeAssistant;
    if (ha) {
      for (const m of homeAssistantDiscovery({ ...ha, deviceId: this.opts.deviceId }, this.topics)) {
        client.publish(m.topic, m.payload, publishOptions('discovery'), (err) => {
          if (err)
            this.log.debug({ topic: m.topic, err: err.message }, 'mqtt: Home Assistant discovery config not sent');
        });
      }
    }
    // A clean session forgets subscriptions, so every connect subscribes again.
    const commands = this.opts.commands;
    if (commands) {
      // MQTT 5's noLocal spares us our own replies, which `#` matches; with 3.1.1 the handler drops them.
      client.subscribe(
        commands.subscriptions,
        { qos: publishOptions('command').qos, ...(this.opts.client.protocolVersion === 5 ? { nl: true } : {}) },
        (err) => {
          if (err) this.log.warn({ err: err.message }, 'mqtt: cannot subscribe to the command topics');
        },
      );
    }
    this.kick();
  }

  /** Never throws: a caller's bad request must not reach the process's error handlers. */
  private onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const client = this.client;
    if (!client || this.state !== 'started' || !this.opts.commands) return;
    const p = packet.properties;
    let reply;
    try {
      reply = this.opts.commands.handle(topic, payload, {
        ...(p?.responseTopic ? { responseTopic: p.responseTopic } : {}),
        ...(p?.correlationData ? { correlationData: p.correlationData } : {}),
      });
    } catch (err) {
      this.log.error({ topic, err: (err as Error).message }, 'mqtt: command handling failed');
      return;
    }
    if (!reply) return;
    const properties =
      reply.correlationData && this.opts.client.protocolVersion === 5
        ? { properties: { correlationData: reply.correlationData } }
        : {};
    client.publish(reply.topic, reply.payload, { ...publishOptions('commandResponse'), ...properties }, (err) => {
      if (err) this.log.debug({ topic: reply.topic, err: err.message }, 'mqtt: command reply not sent');
    });
  }

  /** Publishes (now, or on the next connect) a camera's state, retained. */
  setCameraState(cameraId: string, state: CameraStatePayload): void {
    this.cameraStates.set(cameraId, state);
    this.publishCameraState(cameraId, state);
  }

  /** Re-publishes the retained `info` (its models changed: a model update was activated or rolled back). */
  refreshInfo(): void {
    if (!this.client?.connected || this.state !== 'started' || !this.opts.info) return;
    this.client.publish(this.topics.info(), encode('info', this.opts.info()), publishOptions('info'));
  }

  /** Publishes (now, or on the next connect) the model update state, retained. */
  setModelState(state: ModelStatePayload): void {
    this.modelState = state;
    if (!this.client?.connected || this.state !== 'started') return;
    this.client.publish(this.topics.model(), encode('model', state), publishOptions('model'));
  }

  private publishCameraState(cameraId: string, state: CameraStatePayload): void {
    if (!this.client?.connected || this.state !== 'started') return;
    this.client.publish(this.topics.cameraState(cameraId), encode('cameraState', state), publishOptions('cameraState'));
  }

  /** Only while connected (and QoS 0): stats are not worth storing, the next one says more. */
  private publishStats(): void {
    const client = this.client;
    if (!client?.connected || this.state !== 'started') return;
    const o = this.stats().outbox;
    const payload = encode('stats', {
      at: new Date().toISOString(),
      uptimeS: Math.round((Date.now() - this.startedAtMs) / 1000),
      outboxPending: o.pending,
      outboxDropped: o.dropped,
      published: this.published,
      outboxUnstored: o.unstored,
      outboxWritable: o.writable,
    });
    client.publish(this.topics.stats(), payload, publishOptions('stats'));
  }

  /** Starts the drain loop unless it runs already. */
  private kick(): void {
    if (this.draining || !this.client?.connected || this.state !== 'started') return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  private async drain(): Promise<void> {
    const client = this.client;
    while (client?.connected && this.state === 'started') {
      const row = this.outbox.peek(this.acked.size + 1).find((r) => !this.acked.has(r.seq));
      if (!row) return;
      this.outbox.inFlight(row.seq);
      try {
        // Resolves on PUBACK. A connection lost meanwhile keeps it pending: mqtt.js resends it first
        // on reconnect, so waiting here keeps the order.
        await client.publishAsync(row.topic, row.payload, publishOptions('window')); // the outbox holds windows only
      } catch (err) {
        this.outbox.inFlight(undefined);
        this.setError(err as Error);
        this.retryTimer ??= setTimeout(() => {
          this.retryTimer = undefined;
          this.kick();
        }, 1000);
        return;
      }
      this.outbox.inFlight(undefined);
      // Stopped meanwhile: the outbox is closed; the row is sent again next start (same seq).
      if (this.state !== 'started') return;
      this.published += 1;
      try {
        this.outbox.ack(row.seq);
      } catch (err) {
        // Delivered, but the delete could not be written (disk full): remember it so it is not sent
        // again now; a crash before the delete succeeds sends it once more (same seq, at-least-once).
        this.acked.add(row.seq);
        this.queue.fail(err as Error);
      }
    }
  }

  /** Retries the deletes that failed while the disk was full. */
  private deleteAcked(): void {
    for (const seq of this.acked) {
      try {
        this.outbox.ack(seq);
        this.acked.delete(seq);
      } catch {
        return;
      }
    }
  }

  private setError(err: Error): void {
    const text = describeMqttError(err);
    if (text !== this.lastError)
      this.log.error({ err: err.message }, `mqtt: ${text} (retrying; windows kept in the outbox)`);
    this.lastError = text;
    this.lastErrorAt = new Date().toISOString();
  }

  private async close(): Promise<void> {
    const wasStarted = this.state === 'started';
    const client = this.client;
    clearTimeout(this.retryTimer);
    clearInterval(this.statsTimer);
    clearInterval(this.storeTimer);
    if (!wasStarted || !client) {
      this.state = 'stopped';
      return;
    }
    const deadline = Date.now() + (this.opts.stopTimeoutMs ?? 3000);
    // Deliver what we can in the time given; the rest waits in the outbox for the next start.
    if (!this.queue.writable) this.queue.retry(); // a last chance for windows waiting in memory
    while (client.connected && this.outbox.stats().pending > this.acked.size && Date.now() < deadline) {
      this.kick();
      await within(this.draining ?? sleep(50), deadline - Date.now());
    }
    this.state = 'stopped';
    clearTimeout(this.retryTimer); // a failed publish during the loop may have set one
    if (client.connected) {
      // A clean DISCONNECT discards the last will, so say offline ourselves first.
      await within(
        client.publishAsync(this.topics.status(), encode('status', 'offline'), publishOptions('status')),
        Math.max(200, deadline - Date.now()),
      );
      await within(client.endAsync(), 1000);
    }
    if (!client.disconnected) await client.endAsync(true).catch(() => undefined);
    this.deleteAcked();
    const left = this.outbox.stats().pending;
    const unstored = this.queue.stats().unstored;
    if (unstored > 0)
      this.log.error(
        { unstored },
        'mqtt sink stopped with windows the outbox could not store; the next start counts them as dropped',
      );
    this.unstoredCount.close();
    this.outbox.close();
    this.log.info(
      { left, published: this.published },
      left > 0 ? 'mqtt sink stopped; undelivered windows stay in the outbox' : 'mqtt sink stopped',
    );
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
