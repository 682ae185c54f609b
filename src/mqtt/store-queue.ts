// Between the MQTT sink and the outbox: what to do when the outbox cannot write (a full disk, an I/O
// error). A window that cannot be stored waits in a bounded in-memory queue, in order, and is stored as
// soon as a write succeeds again (retried on every write and by the sink's timer). When the queue is full
// the oldest waiting window is dropped: counted, and its seq skipped when writing works again, so a
// consumer sees the gap. How many windows are waiting is mirrored in a small file (UnstoredCount) so that
// a crash in this state is counted as a drop by the next start instead of vanishing.
import type { Logger } from 'pino';
import type { Outbox } from './outbox.js';
import type { UnstoredCount } from './unstored-count.js';

export interface StoreQueueStats {
  /** Windows accepted but not yet in the outbox (waiting in memory). */
  unstored: number;
  /** Dropped before they could be stored, and not yet recorded in the outbox's own counter. */
  unrecordedDrops: number;
  /** False while the last write to the outbox failed. */
  writable: boolean;
  /** The last write error, in words; null while writable. */
  storeError: string | null;
}

interface Waiting {
  topic: string;
  payload: (seq: number) => string;
}

export class StoreQueue {
  private readonly waiting: Waiting[] = [];
  /** Drops (queue overflow, or a previous run's unstored windows) whose seqs are not yet skipped. */
  private lost = 0;
  private storeError: string | null = null;

  constructor(
    private readonly outbox: Outbox,
    private readonly max: number,
    private readonly count: UnstoredCount,
    private readonly log: Logger,
  ) {}

  /** A previous run left `n` windows unstored: they are drops, recorded with the next successful write. */
  inherit(n: number): void {
    if (n <= 0) return;
    this.lost += n;
    this.log.warn(
      { windows: n },
      'outbox: the previous run ended with windows it could not store (disk full); counted as dropped',
    );
    this.retry();
  }

  /** Stores the message now, or queues it. True when it is in the outbox. */
  store(topic: string, payload: (seq: number) => string): boolean {
    this.waiting.push({ topic, payload });
    if (this.waiting.length > this.max) {
      this.waiting.shift();
      this.lost += 1;
      this.log.warn(
        { max: this.max },
        'outbox: in-memory queue full while the outbox cannot write; dropped the oldest window (seq gap)',
      );
    }
    return this.retry();
  }

  /** Stores everything waiting, oldest first; false (and the reason kept) when a write fails. */
  retry(): boolean {
    try {
      if (this.lost > 0) {
        this.outbox.recordLost(this.lost);
        this.lost = 0;
      }
      while (this.waiting.length > 0) {
        this.outbox.enqueue(this.waiting[0]!.topic, this.waiting[0]!.payload);
        this.waiting.shift();
      }
    } catch (err) {
      this.fail(err as Error);
      return false;
    }
    if (this.storeError !== null) this.log.info('outbox: writable again; every waiting window is stored');
    this.storeError = null;
    this.count.set(0);
    return true;
  }

  /** Some other outbox write (an ack) failed: the same state, without a window to keep. */
  fail(err: Error): void {
    if (this.storeError === null)
      this.log.error(
        { err: err.message, waiting: this.waiting.length },
        'outbox: cannot write (disk full?); windows wait in memory',
      );
    this.storeError = err.message;
    this.count.set(this.waiting.length + this.lost);
    this.outbox.reclaim();
  }

  get writable(): boolean {
    return this.storeError === null;
  }

  stats(): StoreQueueStats {
    return {
      unstored: this.waiting.length,
      unrecordedDrops: this.lost,
      writable: this.storeError === null,
      storeError: this.storeError,
    };
  }
}
