// Decoding video with an FFmpeg subprocess emitting raw BGR24 frames: decode runs outside the event
// loop, in a process we can kill and restart, and every container/codec FFmpeg knows works.
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { redactString } from '../config/redact-url.js';
import type { Readable } from 'node:stream';
import { FrameAssembler } from './frame-assembler.js';
import { FramePairer } from './frame-pair.js';
import type { Frame } from '../vision/image.js';

const execFileP = promisify(execFile);

export interface VideoInfo {
  width: number;
  height: number;
  fps: number;
  durationS?: number;
}

export function isStreamUrl(source: string): boolean {
  return /^(rtsp|rtsps|rtmp|http|https|udp|tcp|srt):\/\//i.test(source);
}

function inputArgs(source: string): string[] {
  return /^rtsps?:\/\//i.test(source) ? ['-rtsp_transport', 'tcp', '-i', source] : ['-i', source];
}

export async function probeVideo(source: string, timeoutMs = 15_000): Promise<VideoInfo> {
  const args = [
    '-v',
    'error',
    ...(/^rtsps?:/i.test(source) ? ['-rtsp_transport', 'tcp'] : []),
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=width,height,avg_frame_rate,r_frame_rate:format=duration',
    '-of',
    'json',
    source,
  ];
  let stdout: string;
  try {
    ({ stdout } = await execFileP('ffprobe', args, { timeout: timeoutMs }));
  } catch (err) {
    const msg = ((err as { stderr?: string }).stderr ?? (err as Error).message).trim().split('\n').pop() ?? '';
    throw new Error(`cannot open video ${redactString(source)}: ${redactString(msg)}`);
  }
  const info = JSON.parse(stdout) as {
    streams?: { width?: number; height?: number; avg_frame_rate?: string; r_frame_rate?: string }[];
    format?: { duration?: string };
  };
  const s = info.streams?.[0];
  if (!s?.width || !s.height) throw new Error(`no video stream in ${redactString(source)}`);
  const rate = (r?: string): number => {
    const [n, d] = (r ?? '0/1').split('/').map(Number);
    return n && d ? n / d : 0;
  };
  const fps = rate(s.avg_frame_rate) || rate(s.r_frame_rate) || 25;
  const dur = Number(info.format?.duration);
  return { width: s.width, height: s.height, fps, ...(Number.isFinite(dur) ? { durationS: dur } : {}) };
}

export interface ReadOptions {
  /** Sample the video at this rate (frames per second of video time); default: every frame. */
  fps?: number;
  /** Output size; default: the source size (faces are cropped from full resolution). */
  width?: number;
  height?: number;
  maxFrames?: number;
  signal?: AbortSignal;
  /**
   * Also deliver each frame scaled into this box (aspect kept, never enlarged) as `detectorCopy`:
   * FFmpeg's area scaling of a 1080p frame costs a fraction of resampling it in TypeScript.
   */
  detectorCopy?: { width: number; height: number };
}

export interface TimedFrame extends Frame {
  index: number;
  /** Presentation time in ms from the start of the video. */
  timeMs: number;
}

/**
 * The size of a `width` x `height` frame scaled into `box` keeping its aspect, rounded up so that the
 * copy has at least the scale the detector asks for; undefined when the frame already fits.
 */
export function copySize(
  width: number,
  height: number,
  box: { width: number; height: number },
): { width: number; height: number } | undefined {
  const k = Math.min(box.width / width, box.height / height);
  if (k >= 1) return undefined;
  return {
    width: Math.min(box.width, Math.max(1, Math.ceil(width * k - 1e-9))),
    height: Math.min(box.height, Math.max(1, Math.ceil(height * k - 1e-9))),
  };
}

/**
 * FFmpeg's output arguments for raw BGR frames on pipe:1 after `filters` and, given `copyScale` (a `scale`
 * filter's options), the same frames scaled down on pipe:3. One decode, split after the rate and size
 * filters, so the n-th copy is the n-th frame; area averaging is the right filter for shrinking (no aliasing
 * of fine detail). The daemon's capture and `readFrames` both build their commands with it.
 */
export function rawOutputs(filters: string[], copyScale?: string): string[] {
  const raw = ['-f', 'rawvideo', '-pix_fmt', 'bgr24'];
  if (!copyScale) return ['-map', '0:v:0', ...(filters.length ? ['-vf', filters.join(',')] : []), ...raw, 'pipe:1'];
  const graph = `[0:v:0]${filters.map((f) => `${f},`).join('')}split=2[full][det];[det]scale=${copyScale}[small]`;
  return ['-filter_complex', graph, '-map', '[full]', ...raw, 'pipe:1', '-map', '[small]', ...raw, 'pipe:3'];
}

/** Frames buffered ahead of the consumer before both pipes are paused (FFmpeg then blocks). */
const READ_AHEAD = 2;

/**
 * Yields frames one at a time. The consumer's pace is the pace: once a couple of frames wait, the
 * pipes are not read, so FFmpeg blocks instead of frames piling up in memory.
 */
export async function* readFrames(source: string, info: VideoInfo, opts: ReadOptions = {}): AsyncGenerator<TimedFrame> {
  const width = opts.width ?? info.width;
  const height = opts.height ?? info.height;
  const copy = opts.detectorCopy ? copySize(width, height, opts.detectorCopy) : undefined;
  const filters: string[] = [];
  if (opts.fps) filters.push(`fps=${opts.fps}`);
  if (width !== info.width || height !== info.height) filters.push(`scale=${width}:${height}`);
  const outputs = rawOutputs(filters, copy && `${copy.width}:${copy.height}:flags=area`);
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', ...inputArgs(source), ...outputs];
  const proc = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe', ...(copy ? (['pipe'] as const) : [])] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  const onAbort = (): void => {
    proc.kill('SIGKILL');
  };
  opts.signal?.addEventListener('abort', onAbort);
  const step = 1000 / (opts.fps ?? info.fps);

  // Frames are cut from the pipes by the capture's assemblers (one copy per frame, no concatenation)
  // and, with a detector copy, paired as the daemon pairs them.
  const ready: Frame[] = [];
  let wake: (() => void) | undefined;
  const pipes = [proc.stdout!, ...(copy ? [proc.stdio[3] as Readable] : [])];
  const deliver = (frame: Frame): void => {
    ready.push(frame);
    if (ready.length >= READ_AHEAD) for (const p of pipes) p.pause();
    wake?.();
  };
  const pairer = copy ? new FramePairer(deliver) : undefined;
  const full = new FrameAssembler((data) =>
    pairer ? pairer.full({ data, width, height }) : deliver({ data, width, height }),
  );
  full.setSize(width, height);
  let open = pipes.length;
  pipes.forEach((pipe, i) => {
    const assembler = i === 0 ? full : new FrameAssembler((data) => pairer!.copy({ data, ...copy! }));
    if (i > 0) assembler.setSize(copy!.width, copy!.height);
    pipe.on('data', (chunk: Buffer) => assembler.push(chunk));
    pipe.on('error', () => undefined); // the exit code and stderr tell what went wrong
    pipe.on('close', () => {
      open--;
      wake?.();
    });
  });
  let index = 0;
  try {
    for (;;) {
      const frame = ready.shift();
      if (!frame) {
        if (open === 0) break;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      if (ready.length < READ_AHEAD) for (const p of pipes) p.resume();
      yield { ...frame, index, timeMs: Math.round(index * step) };
      index++;
      if (opts.maxFrames !== undefined && index >= opts.maxFrames) return;
    }
    const code = await exited;
    if (code !== 0 && !opts.signal?.aborted && index === 0) {
      throw new Error(
        `ffmpeg could not decode ${redactString(source)}: ${redactString(stderr.trim().split('\n').pop() ?? `exit ${code}`)}`,
      );
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    if (proc.exitCode === null) proc.kill('SIGKILL');
  }
}
