// Where closed aggregate windows go. JSON Lines first: one window per line, to stdout (a supervisor
// or log shipper picks it up) or appended to a file that survives restarts.
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import type { AggregateWindow } from './window.js';

export interface WindowSink {
  readonly name: string;
  /** Idempotent: a second call waits for the first. */
  start(): Promise<void>;
  write(w: AggregateWindow): Promise<void>;
  /** Everything written so far is durable (as far as the sink can tell) when this resolves. */
  flush(): Promise<void>;
  /** Flushes and releases the output; idempotent. */
  stop(): Promise<void>;
}

type State = 'new' | 'started' | 'stopped';

/**
 * One JSON object per line to a Writable (not ended on stop: stdout is not ours to close) or to a
 * file path (opened for append, parent directory created, fsync on flush so that the partial window
 * written at shutdown survives a power cut right after).
 */
export class JsonLinesSink implements WindowSink {
  readonly name: string;
  private state: State = 'new';
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private file: FileHandle | undefined;
  // Writes are chained so lines stay in order even when a caller does not await each write.
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly target: Writable | string) {
    this.name = typeof target === 'string' ? `jsonl:${target}` : 'jsonl:stream';
  }

  start(): Promise<void> {
    if (this.state === 'stopped') return Promise.reject(new Error(`${this.name}: cannot start a stopped sink`));
    this.starting ??= this.open().then(() => {
      // stop() may have been called while opening; it then closes what was opened.
      if (this.state === 'new') this.state = 'started';
    });
    return this.starting;
  }

  write(w: AggregateWindow): Promise<void> {
    if (this.state !== 'started')
      return Promise.reject(
        new Error(`${this.name}: write() on a sink that is ${this.state === 'new' ? 'not started' : 'stopped'}`),
      );
    const line = `${JSON.stringify(w)}\n`;
    return this.enqueue(() => this.writeLine(line));
  }

  async flush(): Promise<void> {
    await this.chain;
    if (this.file) {
      try {
        await this.file.sync();
      } catch (err) {
        throw new Error(`${this.name}: cannot fsync ${this.target as string}: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
  }

  stop(): Promise<void> {
    this.stopping ??= this.close();
    return this.stopping;
  }

  private async open(): Promise<void> {
    if (typeof this.target !== 'string') return;
    const path = this.target;
    try {
      await mkdir(dirname(path), { recursive: true });
      this.file = await open(path, 'a');
    } catch (err) {
      throw new Error(`cannot open aggregate output file ${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  private async close(): Promise<void> {
    const wasStarted = this.state === 'started';
    this.state = 'stopped';
    if (this.starting) await this.starting.catch(() => undefined);
    if (!wasStarted && !this.file) return;
    try {
      await this.flush();
    } finally {
      await this.file?.close();
      this.file = undefined;
    }
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    const p = this.chain.then(fn);
    // One failed write must not poison every later one; its own promise still rejects.
    this.chain = p.catch(() => undefined);
    return p;
  }

  private async writeLine(line: string): Promise<void> {
    if (this.file) {
      try {
        await this.file.write(line);
      } catch (err) {
        throw new Error(`${this.name}: cannot write to ${this.target as string}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      return;
    }
    const stream = this.target as Writable;
    // The callback fires once the chunk is handed to the underlying resource (or failed), which
    // gives back-pressure for free: the next line waits for this one.
    await new Promise<void>((resolve, reject) => {
      stream.write(line, (err) =>
        err ? reject(new Error(`${this.name}: write failed: ${err.message}`, { cause: err })) : resolve(),
      );
    });
  }
}
