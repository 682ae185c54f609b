// The page's server-sent event streams, all of them together: ONE status snapshot per interval, ONE
// listener on the window history and ONE on the preview hub, each broadcast to every open stream. Per-
// stream listeners made 200 open pages register 200 listeners on the same emitters (Node's
// MaxListenersExceededWarning, not JSON, on stderr) and build 200 status documents a second.
// A capped number of streams (a 503 beyond it), and backpressure: a stream whose socket does not drain
// skips status and preview events until it does, and is closed when even windows pile up past a limit,
// so one stalled browser cannot make the agent buffer without bound.
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { WindowHistory } from './history.js';
import type { PreviewHub } from './preview.js';

export interface EventStreamsOptions {
  /** Most open streams; further requests get 503. */
  maxStreams: number;
  /** How often a status event goes out. */
  intervalMs: number;
  /** Bytes buffered for one stream beyond which it is closed. Default 4 MiB. */
  maxBufferedBytes?: number;
}

interface Stream {
  res: ServerResponse;
  preview: (() => void) | undefined;
}

export class EventStreams {
  private readonly streams = new Set<Stream>();
  private timer: NodeJS.Timeout | undefined;
  /** Events not written because their stream's socket had not drained (counted for tests and diagnosis). */
  skipped = 0;
  private readonly onWindow = (w: unknown): void => this.broadcast('window', w, true);
  private readonly onPreview = (p: unknown): void => this.broadcast('preview', p, false, true);

  constructor(
    private readonly opts: EventStreamsOptions,
    private readonly parts: { status: () => unknown; history: WindowHistory; preview: PreviewHub },
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.streams.size;
  }

  /** Opens a stream on `res`; false (nothing written) when the cap is reached. */
  open(res: ServerResponse, withPreview: boolean): boolean {
    if (this.streams.size >= this.opts.maxStreams) return false;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const stream: Stream = {
      res,
      preview: withPreview && this.parts.preview.enabled ? this.parts.preview.watch() : undefined,
    };
    if (this.streams.size === 0) this.attach();
    this.streams.add(stream);
    this.write(stream, 'status', JSON.stringify(this.parts.status()), true);
    res.on('close', () => this.remove(stream));
    return true;
  }

  /** Ends every stream (shutdown). */
  closeAll(): void {
    for (const s of [...this.streams]) {
      s.res.end();
      this.remove(s);
    }
  }

  private attach(): void {
    this.parts.history.on('window', this.onWindow);
    this.parts.preview.on('preview', this.onPreview);
    this.timer = setInterval(() => this.broadcast('status', this.parts.status(), false), this.opts.intervalMs);
    this.timer.unref();
  }

  private remove(s: Stream): void {
    if (!this.streams.delete(s)) return;
    s.preview?.();
    if (this.streams.size > 0) return;
    clearInterval(this.timer);
    this.parts.history.off('window', this.onWindow);
    this.parts.preview.off('preview', this.onPreview);
  }

  /** Serialised once for all streams. `essential` events (windows) are written even to a congested stream. */
  private broadcast(event: string, data: unknown, essential: boolean, previewOnly = false): void {
    if (this.streams.size === 0) return;
    const text = JSON.stringify(data);
    for (const s of this.streams) if (!previewOnly || s.preview) this.write(s, event, text, essential);
  }

  private write(s: Stream, event: string, text: string, essential: boolean): void {
    const res = s.res;
    if (res.writableNeedDrain && !essential) {
      this.skipped += 1; // the browser is behind: the next status says more
      return;
    }
    if (res.writableLength > (this.opts.maxBufferedBytes ?? 4 * 1024 * 1024)) {
      this.log.warn({ buffered: res.writableLength }, 'event stream closed: the client does not read');
      res.destroy();
      this.remove(s);
      return;
    }
    res.write(`event: ${event}\ndata: ${text}\n\n`);
  }
}
