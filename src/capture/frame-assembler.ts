// Cuts a raw BGR24 byte stream (FFmpeg's or GStreamer's stdout) into whole frames. Pipe chunks
// (typically 64 KiB) are copied straight into a frame-sized buffer, so a 1280x720 frame costs one
// 2.7 MB allocation and no concatenation; a frame nobody took can be handed back and refilled.
//
// Frame buffers are SharedArrayBuffers: the inference worker reads them in place, with nothing
// transferred. A transferred ArrayBuffer counts as new external memory in the isolate that receives
// it until a GC sweeps it, so two 1080p transfers per frame (there and back) kept both isolates in
// mark-compacts (measured with --trace-gc: 23 in the worker in 20 s of one camera; 6-8 shared).
// Sharing is safe because a buffer is refilled only once the capture has it back (recycle()): after
// the analysis of its frame has finished, or when it was never handed out.

export type FrameSink = (data: Buffer, width: number, height: number) => void;

/** Bytes held while the frame size is still unknown (FFmpeg prints it just before the first frame). */
const MAX_EARLY_BYTES = 64 * 1024 * 1024;

export class FrameAssembler {
  private width = 0;
  private height = 0;
  private size = 0;
  private current: Buffer | null = null;
  private filled = 0;
  /** Chunks that arrived before setSize(). */
  private early: Buffer[] = [];
  private earlyBytes = 0;
  /** One recycled buffer of the current size; bounds allocations when frames are dropped. */
  private spare: Buffer | null = null;
  /** Reads while the size is unknown land here (see readInto). */
  private scratch: Buffer | null = null;
  private lastTarget: 'frame' | 'scratch' = 'frame';

  constructor(private readonly sink: FrameSink) {}

  get sizeKnown(): boolean {
    return this.size > 0;
  }

  /** True when bytes pile up without a known frame size: the caller should give up on this run. */
  get overflowed(): boolean {
    return this.earlyBytes > MAX_EARLY_BYTES;
  }

  setSize(width: number, height: number): void {
    if (this.size) return;
    this.width = width;
    this.height = height;
    this.size = width * height * 3;
    const early = this.early;
    this.early = [];
    this.earlyBytes = 0;
    for (const chunk of early) this.push(chunk);
  }

  push(chunk: Buffer): void {
    if (!this.size) {
      this.early.push(chunk);
      this.earlyBytes += chunk.length;
      return;
    }
    let off = 0;
    while (off < chunk.length) {
      const current = this.currentFrame();
      const n = chunk.copy(current, this.filled, off, Math.min(chunk.length, off + this.size - this.filled));
      off += n;
      this.filled += n;
      if (this.filled === this.size) {
        const frame = current;
        this.current = null;
        this.filled = 0;
        this.sink(frame, this.width, this.height);
      }
    }
  }

  /**
   * For a reader that fills buffers itself (frame-socket.ts): the rest of the frame being filled, so a
   * read lands in place with no copy; a scratch buffer while the frame size is still unknown.
   */
  readInto(): Buffer {
    if (!this.size) {
      this.lastTarget = 'scratch';
      return (this.scratch ??= Buffer.allocUnsafe(64 * 1024));
    }
    this.lastTarget = 'frame';
    return this.currentFrame().subarray(this.filled);
  }

  /** n bytes arrived in the buffer readInto() gave last. */
  wrote(n: number): void {
    if (this.lastTarget === 'scratch') {
      // Copied: the scratch buffer is read into again. setSize() may have come in between: push() sorts it.
      // Past the early limit the bytes are not kept (the caller gives up on the run, see overflowed).
      if (!this.overflowed) this.push(Buffer.from(this.scratch!.subarray(0, n)));
      return;
    }
    this.filled += n;
    if (this.filled === this.size) {
      const frame = this.current!;
      this.current = null;
      this.filled = 0;
      this.sink(frame, this.width, this.height);
    }
  }

  /** The frame being filled: the recycled spare if there is one, else a new shared buffer. */
  private currentFrame(): Buffer {
    if (!this.current) {
      this.current = this.spare ?? Buffer.from(new SharedArrayBuffer(this.size));
      this.spare = null;
    }
    return this.current;
  }

  /** Takes back a frame buffer nobody reads any more (dropped, or analysed), to fill with a later frame. */
  recycle(buf: Buffer): void {
    if (buf.length === this.size && !this.spare) this.spare = buf;
  }
}
