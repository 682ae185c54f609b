// The last hour of windows per camera, in memory, for the page's chart. A sink like any other, so
// the page sees exactly what MQTT consumers get (withheld breakdowns included).
import { EventEmitter } from 'node:events';
import type { WindowSink } from '../aggregate/sink.js';
import type { AggregateWindow } from '../aggregate/window.js';

export class WindowHistory extends EventEmitter<{ window: [AggregateWindow] }> implements WindowSink {
  readonly name = 'history';
  private readonly byCamera = new Map<string, AggregateWindow[]>();

  constructor(
    private readonly keepMs = 3_600_000,
    private readonly clock: { now(): number } = Date,
  ) {
    super();
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  write(w: AggregateWindow): Promise<void> {
    const list = this.byCamera.get(w.cameraId) ?? [];
    list.push(w);
    const cutoff = this.clock.now() - this.keepMs;
    while (list.length > 0 && list[0]!.endMs < cutoff) list.shift();
    this.byCamera.set(w.cameraId, list);
    this.emit('window', w);
    return Promise.resolve();
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  /** Windows that ended within the last hour, oldest first, per camera. */
  recent(): Record<string, AggregateWindow[]> {
    const cutoff = this.clock.now() - this.keepMs;
    return Object.fromEntries([...this.byCamera].map(([id, list]) => [id, list.filter((w) => w.endMs >= cutoff)]));
  }
}
