// Decoding video with an FFmpeg subprocess emitting raw BGR24 frames: decode runs outside the event
// loop, in a process we can kill and restart, and every container/codec FFmpeg knows works.
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { redactString } from '../config/redact-url.js';
import { FrameAssembler } from './frame-assembler.js';
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
}

export interface TimedFrame extends Frame {
  index: number;
  /** Presentation time in ms from the start of the video. */
  timeMs: number;
}

/**
 * Yields frames one at a time. The consumer's pace is the pace: while a frame is being analysed the
 * pipe is not read, so FFmpeg blocks instead of frames piling up in memory.
 */
export async function* readFrames(source: string, info: VideoInfo, opts: ReadOptions = {}): AsyncGenerator<TimedFrame> {
  const width = opts.width ?? info.width;
  const height = opts.height ?? info.height;
  const filters: string[] = [];
  if (opts.fps) filters.push(`fps=${opts.fps}`);
  if (width !== info.width || height !== info.height) filters.push(`scale=${width}:${height}`);
  const args = [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostdin',
    ...inputArgs(source),
    '-map',
    '0:v:0',
    ...(filters.length ? ['-vf', filters.join(',')] : []),
    '-f',
    'rawvideo',
    '-pix_fmt',
    'bgr24',
    'pipe:1',
  ];
  const proc = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  const onAbort = (): void => {
    proc.kill('SIGKILL');
  };
  opts.signal?.addEventListener('abort', onAbort);
  const step = 1000 / (opts.fps ?? info.fps);
  // Frames are cut from the pipe by the capture's assembler: one copy per frame, no concatenation.
  const ready: Buffer[] = [];
  const assembler = new FrameAssembler((data) => ready.push(data));
  assembler.setSize(width, height);
  let index = 0;
  try {
    for await (const chunk of proc.stdout as AsyncIterable<Buffer>) {
      assembler.push(chunk);
      for (let data = ready.shift(); data; data = ready.shift()) {
        yield { data, width, height, index, timeMs: Math.round(index * step) };
        index++;
        if (opts.maxFrames !== undefined && index >= opts.maxFrames) return;
      }
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
