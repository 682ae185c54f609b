// One camera's capture for the daemon: a supervised decoder child process (FFmpeg, or gst-launch for
// Jetson hardware decode) writing raw BGR24 frames to a pipe, a watchdog, and reconnects.
//
// - Decoding never runs on the event loop, and a wedged decoder is a process we can kill.
// - gstreamer sources also run as a child (gst-launch-1.0 … ! fdsink), not through OpenCV's
//   VideoCapture: a hung GStreamer pipeline inside Node could be neither interrupted nor killed.
// - Backpressure by dropping, never queueing: the pipe is drained at full speed (a paused RTSP
//   reader gets disconnected by the camera) and only the newest complete frame is kept. A frame
//   replaced before anyone took it is counted in `dropped`.
//
// States:  stopped → connecting → streaming
//          connecting|streaming → stalled (no frame for connectTimeoutS/stallTimeoutS) → backoff → connecting
//          connecting|streaming → backoff (exited: refused, stream ended, …) → connecting
//          connecting|streaming → failed (missing file/device, 401/403) → connecting, after maxMs
//          any → stopped (stop(), or a non-looped file played to its end: reason 'stream ended')
// `failed` still retries, slowly: an unplugged kiosk camera or a fixed password may come back, and
// a daemon that gives up for good needs a person on site.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Frame } from '../vision/image.js';
import { attemptAfterFailure, backoffDelay, jitter, type BackoffConfig } from './backoff.js';
import {
  buildCaptureCommand,
  classifyExit,
  errorLines,
  missingLocalSource,
  parseOutputSizes,
  redactSecrets,
  secretsOf,
  type CaptureCommand,
  type Failure,
  type SourceConfig,
} from './capture-command.js';
import { FrameAssembler } from './frame-assembler.js';
import { closeFrameSocket, openFrameSocket, type FrameSocket, type ReadTarget } from './frame-socket.js';
import { FramePairer } from './frame-pair.js';

export type { SourceKind } from './capture-command.js';

export interface CameraCaptureConfig extends SourceConfig {
  id: string;
  /** No frame for this long while streaming → stalled, child killed and restarted. */
  stallTimeoutS: number;
  /**
   * The same for the first frame after a (re)start, which legitimately takes longer: RTSP
   * DESCRIBE/SETUP, FFmpeg probing the stream, waiting for a keyframe (camera GOPs run to several
   * seconds). Default: max(stallTimeoutS, 10).
   */
  connectTimeoutS?: number;
  backoff: BackoffConfig;
  /**
   * Frames come through Unix sockets read in place (frame-socket.ts), falling back to pipes when they
   * cannot be opened. false: pipes always (a test of that path, or a platform without Unix sockets).
   */
  frameSockets?: boolean;
}

export type CaptureState = 'connecting' | 'streaming' | 'stalled' | 'backoff' | 'failed' | 'stopped';

export interface CapturedFrame extends Frame {
  /** 1, 2, 3… over the capture's life (restarts included); a gap is frames dropped. */
  seq: number;
  /** Clock time when the frame's last byte arrived. */
  capturedAtMs: number;
}

export interface CaptureStats {
  id: string;
  state: CaptureState;
  /** Why it is not streaming (the latest failure, kept while reconnecting); absent while streaming. */
  reason?: string;
  /** Frames delivered by the decoder. */
  framesIn: number;
  /** Frames replaced by a newer one before anyone took them. */
  dropped: number;
  /** Children started after the first one. */
  reconnects: number;
  lastFrameAgeMs: number | null;
  /** Frames per second delivered over the last few seconds. */
  fpsIn: number;
  width: number;
  height: number;
  /** ISO time of the last state change. */
  since: string;
}

export interface StateChange {
  id: string;
  state: CaptureState;
  previous: CaptureState;
  reason?: string;
  since: string;
}

export interface Clock {
  now(): number;
}

/** next() rejections: 'aborted' (stop() or the caller's signal), 'ended' (the file played out). */
export class CaptureClosedError extends Error {
  constructor(
    readonly code: 'aborted' | 'ended',
    message: string,
  ) {
    super(message);
    this.name = 'CaptureClosedError';
  }
}

/** One decoder child and what it has said so far. */
interface Run {
  proc: ChildProcess;
  tool: string;
  assembler: FrameAssembler;
  /** The detector-sized copies (fd 3), when the command makes them. */
  copyAssembler?: FrameAssembler;
  /** Our ends of the frame sockets (frame-socket.ts); none when the frames come through pipes. */
  readers: Socket[];
  startedAt: number;
  lastFrameAt: number | null;
  /** Raw stderr (may contain the URL with credentials: only ever shown through redact()). */
  stderr: string;
  killedFor: 'stop' | 'stall' | null;
  killTimers: NodeJS.Timeout[];
  spawnError: Failure | null;
  exited: boolean;
  done: Promise<void>;
  markDone: () => void;
}

interface Waiter {
  resolve: (f: CapturedFrame) => void;
  reject: (e: Error) => void;
}

const KILL_GRACE_MS = 2_000;
const SECOND_TERM_MS = 250;
const FPS_WINDOW_MS = 5_000;
const STDERR_KEEP = 8 * 1024;

export class CameraCapture extends EventEmitter<{ state: [StateChange] }> {
  private readonly log: Logger;
  private active = false;
  private stopping: Promise<void> | null = null;
  private state: CaptureState = 'stopped';
  private reason: string | undefined;
  private sinceMs: number;
  private run: Run | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private attempt = 0;
  private streamingSince: number | null = null;
  private latest: CapturedFrame | null = null;
  private waiters: Waiter[] = [];
  private framesIn = 0;
  private droppedFrames = 0;
  private reconnects = 0;
  private lastFrameAt: number | null = null;
  private frameTimes: number[] = [];
  private width = 0;
  private height = 0;
  private lastLoggedReason: string | undefined;
  /** Counts launch() calls: a launch whose sockets open after a stop() or a newer launch is dropped. */
  private launches = 0;
  private warnedSockets = false;

  constructor(
    private readonly cfg: CameraCaptureConfig,
    log: Logger,
    private readonly clock: Clock = { now: () => Date.now() },
  ) {
    super();
    this.log = log.child({ module: 'capture', camera: cfg.id });
    this.sinceMs = clock.now();
  }

  get id(): string {
    return this.cfg.id;
  }

  /**
   * Starts capturing (no-op while running). Never throws: a camera whose settings can never work (the
   * configuration check should have caught it) goes to `failed` with the reason and stays there, alone;
   * the agent's other cameras are not its concern.
   */
  start(): void {
    if (this.active) return;
    try {
      buildCaptureCommand(this.cfg); // validate now, loudly, rather than as a retried failure
    } catch (err) {
      const reason = `cannot start: ${this.redact((err as Error).message)}`;
      this.log.error({ reason }, 'capture cannot start; this camera stays failed until its configuration is fixed');
      this.setState('failed', reason);
      return;
    }
    this.active = true;
    this.stopping = null;
    this.attempt = 0;
    this.reason = undefined;
    this.log.info({ source: this.redact(this.cfg.source), kind: this.cfg.kind, fps: this.cfg.fps }, 'capture starting');
    const shortest = Math.min(this.cfg.stallTimeoutS, this.cfg.connectTimeoutS ?? Infinity);
    const tick = Math.max(100, Math.min(1_000, (shortest * 1000) / 4));
    this.watchdog = setInterval(() => this.checkStall(), tick);
    this.launch();
  }

  /** Kills the child (SIGTERM, SIGKILL after 2 s) and rejects pending next() calls. Idempotent. */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    if (!this.active && !this.run) return Promise.resolve();
    this.stopping = this.shutdown('stopped', new CaptureClosedError('aborted', `capture ${this.cfg.id} stopped`));
    return this.stopping;
  }

  /**
   * The newest frame nobody has taken yet, waiting for one if there is none. Frames are never
   * queued: a slow caller gets the newest and the ones in between count as dropped. While the
   * camera is down this keeps waiting for it to come back: bound it with `signal`.
   */
  next(signal?: AbortSignal): Promise<CapturedFrame> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const ready = this.latest;
    if (ready) {
      this.latest = null;
      return Promise.resolve(ready);
    }
    if (!this.active) {
      const ended = this.reason === 'stream ended';
      return Promise.reject(
        new CaptureClosedError(ended ? 'ended' : 'aborted', `capture ${this.cfg.id} ${ended ? 'ended' : 'is stopped'}`),
      );
    }
    return new Promise<CapturedFrame>((resolve, reject) => {
      const onAbort = (): void => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(abortError(signal));
      };
      const waiter: Waiter = {
        resolve: (f) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(f);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /**
   * Hands a frame's buffers back once nobody reads them any more (after analysis), to be filled with a
   * later frame instead of allocating new ones. Buffers of another size or run are left to the GC.
   */
  release(frame: Frame): void {
    const run = this.run;
    if (!run) return;
    run.assembler.recycle(frame.data);
    if (frame.detectorCopy) run.copyAssembler?.recycle(frame.detectorCopy.data);
  }

  /** Frames replaced before anyone took them (the pipeline reads it per frame: no stats object). */
  get dropped(): number {
    return this.droppedFrames;
  }

  stats(): CaptureStats {
    const now = this.clock.now();
    return {
      id: this.cfg.id,
      state: this.state,
      ...(this.reason !== undefined ? { reason: this.reason } : {}),
      framesIn: this.framesIn,
      dropped: this.droppedFrames,
      reconnects: this.reconnects,
      lastFrameAgeMs: this.lastFrameAt === null ? null : now - this.lastFrameAt,
      fpsIn: this.recentFps(now),
      width: this.width,
      height: this.height,
      since: new Date(this.sinceMs).toISOString(),
    };
  }

  // ---- child lifecycle -------------------------------------------------------------------------

  private launch(): void {
    this.retryTimer = null;
    this.setState('connecting', this.reason);
    const missing = missingLocalSource(this.cfg);
    if (missing) {
      this.retry({ reason: missing, permanent: true });
      return;
    }
    const cmd = buildCaptureCommand(this.cfg);
    const launch = ++this.launches;
    let run: Run | undefined;
    // Frames reach onFrame only after spawn, when `run` is set.
    const onFrame = (f: Frame): void => this.onFrame(run!, f);
    let assembler: FrameAssembler;
    let copyAssembler: FrameAssembler | undefined;
    if (cmd.copyOnFd3) {
      const pairer = new FramePairer(onFrame);
      assembler = new FrameAssembler((data, width, height) => pairer.full({ data, width, height }));
      copyAssembler = new FrameAssembler((data, width, height) => pairer.copy({ data, width, height }));
    } else {
      assembler = new FrameAssembler((data, width, height) => onFrame({ data, width, height }));
    }
    if (cmd.width && cmd.height) assembler.setSize(cmd.width, cmd.height);
    if (cmd.copy) copyAssembler?.setSize(cmd.copy.width, cmd.copy.height);
    const full: ReadTarget = {
      readInto: () => assembler.readInto(),
      wrote: (n) => {
        assembler.wrote(n);
        if (run) this.checkOverflow(run);
      },
    };
    this.openSockets(copyAssembler ? [full, copyAssembler] : [full])
      .then((sockets) => {
        if (launch !== this.launches || !this.active) {
          for (const s of sockets ?? []) closeFrameSocket(s);
          return;
        }
        run = this.spawnRun(cmd, assembler, copyAssembler, sockets);
      })
      // Nothing above should throw; if it does, this camera retries instead of the process dying of an
      // unhandled rejection.
      .catch((err: unknown) => {
        if (launch !== this.launches || !this.active || run) return;
        this.retry({ reason: `cannot start the decoder: ${(err as Error).message}`, permanent: false });
      });
  }

  /** Sockets for the child's frame outputs (see frame-socket.ts); undefined: use pipes. */
  private async openSockets(targets: ReadTarget[]): Promise<FrameSocket[] | undefined> {
    if (this.cfg.frameSockets === false) return undefined;
    const opened: FrameSocket[] = [];
    try {
      for (const t of targets) opened.push(await openFrameSocket(t));
      return opened;
    } catch (err) {
      for (const s of opened) closeFrameSocket(s);
      if (!this.warnedSockets)
        this.log.warn({ err: (err as Error).message }, 'cannot open frame sockets; reading the decoder through pipes');
      this.warnedSockets = true;
      return undefined;
    }
  }

  private checkOverflow(run: Run): void {
    if (run.assembler.overflowed && !run.killedFor) {
      run.spawnError = { reason: 'cannot tell the frame size from ffmpeg output', permanent: false };
      void this.kill(run, 'stall');
    }
  }

  private spawnRun(
    cmd: CaptureCommand,
    assembler: FrameAssembler,
    copyAssembler: FrameAssembler | undefined,
    sockets: FrameSocket[] | undefined,
  ): Run | undefined {
    let markDone = (): void => {};
    const done = new Promise<void>((r) => {
      markDone = r;
    });
    const out = (i: number): 'pipe' | FrameSocket['childEnd'] => sockets?.[i]?.childEnd ?? 'pipe';
    let proc: ChildProcess;
    try {
      proc = spawn(cmd.file, cmd.args, {
        stdio: cmd.copyOnFd3 ? ['ignore', out(0), 'pipe', out(1)] : ['ignore', out(0), 'pipe'],
      });
    } catch (err) {
      for (const s of sockets ?? []) closeFrameSocket(s);
      // Synchronous only for arguments the OS can't take (e.g. a NUL in the source): no retry will help.
      this.retry({
        reason: `cannot start ${cmd.file}: ${(err as NodeJS.ErrnoException).code ?? 'invalid arguments'}`,
        permanent: true,
      });
      return undefined;
    }
    // The child has its own copies of its ends; ours would only keep the readers from seeing the end.
    for (const s of sockets ?? []) s.childEnd.destroy();
    const readers = (sockets ?? []).map((s) => s.reader);
    const run: Run = {
      proc,
      tool: cmd.file,
      startedAt: this.clock.now(),
      lastFrameAt: null,
      stderr: '',
      killedFor: null,
      killTimers: [],
      spawnError: null,
      exited: false,
      done,
      markDone,
      assembler,
      readers,
      ...(copyAssembler ? { copyAssembler } : {}),
    };
    if (!sockets && copyAssembler) {
      const fd3 = proc.stdio[3] as NodeJS.ReadableStream & { on(e: 'error', l: () => void): unknown };
      // Copies whose size FFmpeg never printed are not held without bound: the frames go out alone.
      fd3.on('data', (chunk: Buffer) => {
        if (!copyAssembler.overflowed) copyAssembler.push(chunk);
      });
      fd3.on('error', () => {});
    }
    this.run = run;
    // Flowing mode, never paused: the child must never block on a full pipe.
    proc.stdout?.on('data', (chunk: Buffer) => {
      run.assembler.push(chunk);
      this.checkOverflow(run);
    });
    proc.stderr?.on('data', (chunk: Buffer) => this.onStderr(run, chunk.toString()));
    // A pipe error must not become an uncaught 'error' event; 'close' reports the outcome.
    proc.stdout?.on('error', () => {});
    proc.stderr?.on('error', () => {});
    proc.on('error', (err: NodeJS.ErrnoException) => {
      // Only the code: the error object carries spawnargs, i.e. the URL with credentials.
      run.spawnError =
        err.code === 'ENOENT'
          ? { reason: `${cmd.file} not installed`, permanent: true }
          : { reason: `cannot start ${cmd.file}: ${err.code ?? 'error'}`, permanent: false };
      if (proc.pid === undefined) this.onExit(run, null, null);
    });
    // With sockets, 'close' does not wait for the frame outputs (they are not the child's pipes): the
    // run ends once the readers have read everything too, as it did with pipes (the last frames of a
    // file count), or 2 s after the exit if something else still holds an end open.
    const drained = Promise.all(readers.map((r) => new Promise((ok) => r.once('close', ok))));
    proc.on('close', (code, signal) => {
      const late = setTimeout(() => readers.forEach((r) => r.destroy()), KILL_GRACE_MS);
      void drained.then(() => {
        clearTimeout(late);
        this.onExit(run, code, signal);
      });
    });
    return run;
  }

  private onStderr(run: Run, text: string): void {
    run.stderr += text;
    if (!run.assembler.sizeKnown || (run.copyAssembler && !run.copyAssembler.sizeKnown)) {
      const [size, copy] = parseOutputSizes(run.stderr);
      if (size && !run.assembler.sizeKnown) {
        this.log.debug({ width: size.width, height: size.height }, 'decoder output size');
        run.assembler.setSize(size.width, size.height);
      }
      if (copy && run.copyAssembler && !run.copyAssembler.sizeKnown) {
        this.log.debug({ width: copy.width, height: copy.height }, 'detector copy size');
        run.copyAssembler.setSize(copy.width, copy.height);
      }
    }
    if (run.stderr.length > STDERR_KEEP * 8) run.stderr = run.stderr.slice(-STDERR_KEEP);
  }

  private onFrame(run: Run, picture: Frame): void {
    const { width, height } = picture;
    // Frames still draining from a child being killed are not news.
    if (run !== this.run || run.killedFor || !this.active) return;
    const now = this.clock.now();
    this.framesIn++;
    run.lastFrameAt = now;
    this.lastFrameAt = now;
    this.width = width;
    this.height = height;
    this.frameTimes.push(now);
    while (this.frameTimes.length > 0 && (this.frameTimes[0] ?? now) < now - FPS_WINDOW_MS) this.frameTimes.shift();
    if (this.state !== 'streaming') {
      this.streamingSince = now;
      this.setState('streaming', undefined);
    }
    const frame: CapturedFrame = { ...picture, seq: this.framesIn, capturedAtMs: now };
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter.resolve(frame);
      return;
    }
    if (this.latest) {
      this.droppedFrames++;
      run.assembler.recycle(this.latest.data);
      if (this.latest.detectorCopy) run.copyAssembler?.recycle(this.latest.detectorCopy.data);
    }
    this.latest = frame;
  }

  private onExit(run: Run, code: number | null, signal: NodeJS.Signals | null): void {
    if (run.exited) return;
    run.exited = true;
    for (const r of run.readers) r.destroy();
    for (const t of run.killTimers) clearTimeout(t);
    run.markDone();
    if (run !== this.run) return;
    this.run = null;
    if (!this.active || run.killedFor === 'stop') return; // shutdown() owns the state now
    const errors = errorLines(run.stderr).map((l) => this.redact(l));
    if (errors.length) this.log.debug({ code, errors: errors.slice(-5) }, 'decoder exited');
    if (run.killedFor === 'stall') {
      this.retry(run.spawnError ?? { reason: this.reason ?? 'stalled', permanent: false });
      return;
    }
    const failure = run.spawnError ?? classifyExit(this.cfg.kind, code, errors, signal);
    if (code === 0 && this.cfg.kind === 'file' && !this.cfg.loop) {
      // A non-looped file playing to its end is done, not broken: no reconnect loop replaying it.
      this.stopping = this.shutdown('stream ended', new CaptureClosedError('ended', `capture ${this.cfg.id} ended`));
      return;
    }
    this.retry(failure);
  }

  private retry(failure: Failure): void {
    // Only a stretch of real streaming proves the source healthy again.
    this.attempt = attemptAfterFailure(
      this.attempt,
      this.streamingSince === null ? null : (this.lastFrameAt ?? 0) - this.streamingSince,
      this.cfg.backoff,
    );
    this.streamingSince = null;
    const delay = failure.permanent ? jitter(this.cfg.backoff.maxMs) : backoffDelay(this.attempt++, this.cfg.backoff);
    this.setState(failure.permanent ? 'failed' : 'backoff', failure.reason);
    this.log.debug({ delayMs: delay }, 'reconnect scheduled');
    this.retryTimer = setTimeout(() => {
      this.reconnects++;
      this.launch();
    }, delay);
  }

  private checkStall(): void {
    const run = this.run;
    if (!run || run.killedFor || (this.state !== 'connecting' && this.state !== 'streaming')) return;
    const connecting = run.lastFrameAt === null;
    const limitS = connecting
      ? (this.cfg.connectTimeoutS ?? Math.max(this.cfg.stallTimeoutS, 10))
      : this.cfg.stallTimeoutS;
    if (this.clock.now() - (run.lastFrameAt ?? run.startedAt) < limitS * 1000) return;
    this.setState('stalled', connecting ? `no frame within ${limitS} s of connecting` : `no frame for ${limitS} s`);
    void this.kill(run, 'stall');
  }

  private kill(run: Run, why: 'stop' | 'stall'): Promise<void> {
    if (run.exited) return run.done;
    run.killedFor ??= why;
    if (run.killTimers.length === 0) {
      run.proc.kill('SIGTERM');
      // FFmpeg only notes the first signal once decoding runs; a second one interrupts a read blocked
      // on a hung camera. Without it, a stalled stream would always wait for the SIGKILL.
      if (run.tool === 'ffmpeg') run.killTimers.push(setTimeout(() => run.proc.kill('SIGTERM'), SECOND_TERM_MS));
      run.killTimers.push(setTimeout(() => run.proc.kill('SIGKILL'), KILL_GRACE_MS));
    }
    return run.done;
  }

  private async shutdown(reason: string, err: CaptureClosedError): Promise<void> {
    this.active = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.watchdog) clearInterval(this.watchdog);
    this.retryTimer = null;
    this.watchdog = null;
    const waiters = this.waiters;
    this.waiters = [];
    // After stop() a leftover frame is stale; after the end of a file it is the last one, still wanted.
    if (err.code === 'aborted') this.latest = null;
    for (const w of waiters) w.reject(err);
    const run = this.run;
    if (run) await this.kill(run, 'stop');
    if (this.run === run) this.run = null;
    if (this.active) return; // start() was called again while the old child was dying
    this.setState('stopped', reason);
  }

  // ---- state, stats, redaction -----------------------------------------------------------------

  private setState(state: CaptureState, reason: string | undefined): void {
    if (state === this.state && reason === this.reason) return;
    const previous = this.state;
    this.state = state;
    this.reason = reason;
    this.sinceMs = this.clock.now();
    const change: StateChange = {
      id: this.cfg.id,
      state,
      previous,
      ...(reason !== undefined ? { reason } : {}),
      since: new Date(this.sinceMs).toISOString(),
    };
    this.logState(change);
    this.emit('state', change);
  }

  private logState(c: StateChange): void {
    const trouble = c.state === 'backoff' || c.state === 'failed' || c.state === 'stalled';
    // A dead camera retries for months: say each new reason once at warn, repeats at debug.
    if (trouble && c.reason !== this.lastLoggedReason)
      this.log.warn({ state: c.state, reason: c.reason }, 'capture trouble');
    else if (c.state === 'streaming' || c.state === 'stopped')
      this.log.info({ state: c.state, reason: c.reason }, `capture ${c.state}`);
    else this.log.debug({ state: c.state, reason: c.reason }, 'capture state');
    if (trouble) this.lastLoggedReason = c.reason;
    else if (c.state === 'streaming') this.lastLoggedReason = undefined;
  }

  private recentFps(now: number): number {
    const t = this.frameTimes.filter((x) => x >= now - FPS_WINDOW_MS);
    const first = t[0];
    const last = t[t.length - 1];
    if (t.length < 2 || first === undefined || last === undefined || last === first) return 0;
    return Math.round(((t.length - 1) * 1000 * 10) / (last - first)) / 10;
  }

  private redact(text: string): string {
    return redactSecrets(text, secretsOf(this.cfg));
  }
}

function abortError(signal?: AbortSignal): Error {
  const r: unknown = signal?.reason;
  return r instanceof Error ? r : new CaptureClosedError('aborted', 'aborted');
}
