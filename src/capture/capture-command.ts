// The capture child's command line, and reading its stderr: frame size and why it failed.
//
// Credentials exist in exactly one place outside the config: the URL inside the child's argv (FFmpeg
// and rtspsrc only take them there). Everything shown to people goes through redactSecrets().
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { redactString, secretParams } from '../config/redact-url.js';
import { copySize, isStreamUrl, rawOutputs } from './ffmpeg.js';

export type SourceKind = 'rtsp' | 'file' | 'v4l2' | 'gstreamer';

export interface SourceConfig {
  /**
   * rtsp: rtsp:// URL; file: path (or any URL FFmpeg reads); v4l2: /dev/videoN;
   * gstreamer: a gst-launch pipeline head that ends in decoded video (e.g. `rtspsrc location=… !
   * rtph264depay ! h264parse ! nvv4l2decoder ! nvvidconv`), or a URI/path for `uridecodebin`.
   */
  source: string;
  kind: SourceKind;
  username?: string;
  password?: string;
  /** file: play again from the start when it ends (a file standing in for a camera). */
  loop: boolean;
  /** Frames per second delivered for analysis (0: every frame). */
  fps: number;
  /** Output size; 0/undefined: source size (required for gstreamer). */
  width?: number;
  height?: number;
  rtspTransport: 'tcp' | 'udp';
  /**
   * Also deliver each frame scaled to fit this box (never enlarged), on fd 3, for the detector. Its input
   * is a fraction of the frame: scaling in FFmpeg's decoder process is far cheaper than resampling the
   * full frame in the agent, which then reads only the small copy.
   */
  detectorCopy?: { width: number; height: number };
}

export interface CaptureCommand {
  file: string;
  args: string[];
  /** A second raw BGR24 output, the detector-sized copy, on fd 3. */
  copyOnFd3: boolean;
  /** Known up front for gstreamer; FFmpeg prints it on stderr (see parseOutputSize). */
  width?: number;
  height?: number;
  /** The copy's size when known up front (gstreamer). */
  copy?: { width: number; height: number };
}

/** Puts user/password into the first scheme://host URL in `text` (percent-encoded; replaces any there). */
export function withCredentials(text: string, username?: string, password?: string): string {
  if (!username && !password) return text;
  const auth = `${encodeURIComponent(username ?? '')}:${encodeURIComponent(password ?? '')}@`;
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)(?:[^\s/@'"]*@)?/i, `$1${auth}`);
}

/** The strings that must never be shown: the configured password and any embedded in the source. */
export function secretsOf(cfg: Pick<SourceConfig, 'source' | 'password'>): string[] {
  const out = new Set<string>();
  const add = (s: string | undefined): void => {
    // Very short passwords would blank out ordinary text ("1" in "401"); URLs are masked anyway.
    if (s && s.length >= 4) {
      out.add(s);
      out.add(encodeURIComponent(s));
    }
  };
  add(cfg.password);
  // ?password=… in a URL, user-pw=… in a pipeline: a decoder may echo the value without its name.
  for (const v of secretParams(cfg.source)) add(v);
  for (const m of cfg.source.matchAll(/[a-z][a-z0-9+.-]*:\/\/[^\s/@'"]*:([^\s/@'"]*)@/gi)) {
    add(m[1]);
    try {
      add(decodeURIComponent(m[1] ?? ''));
    } catch {
      // not percent-encoded: the raw form is already listed
    }
  }
  return [...out];
}

/** The one redaction (config/redact-url.ts) with this source's literal secrets. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  return redactString(text, secrets);
}

/** Splits a gst-launch description into argv tokens; gst-launch escapes spaces inside each token. */
export function gstTokens(pipeline: string): string[] {
  return pipeline.match(/(?:[^\s"]+|"(?:[^"\\]|\\.)*")+/g) ?? [];
}

function fpsFraction(fps: number): string {
  return Number.isInteger(fps) ? `${fps}/1` : `${Math.round(fps * 1000)}/1000`;
}

export function buildCaptureCommand(cfg: SourceConfig): CaptureCommand {
  const width = cfg.width && cfg.width > 0 ? cfg.width : 0;
  const height = cfg.height && cfg.height > 0 ? cfg.height : 0;
  if (cfg.kind === 'gstreamer') return gstreamerCommand(cfg, width, height);

  const input: string[] = [];
  if (cfg.kind === 'rtsp') input.push('-rtsp_transport', cfg.rtspTransport);
  // -re: read at the file's own frame rate, so a file behaves like a camera instead of being decoded
  // as fast as the CPU allows (which would starve analysis and burn the box).
  if (cfg.kind === 'file') input.push(...(cfg.loop ? ['-stream_loop', '-1'] : []), '-re');
  if (cfg.kind === 'v4l2') input.push('-f', 'v4l2');
  const filters: string[] = [];
  if (cfg.fps > 0) filters.push(`fps=${cfg.fps}`);
  if (width || height) filters.push(`scale=${width || -2}:${height || -2}`);
  const copy = cfg.detectorCopy;
  // The stream's size is not known before FFmpeg opens it, so the copy's box is an expression: fit
  // inside the detector's input, keep the aspect, never enlarge (the size is read back from stderr).
  const box =
    copy && `w='min(iw,${copy.width})':h='min(ih,${copy.height})':force_original_aspect_ratio=decrease:flags=area`;
  const outputs = rawOutputs(filters, box);
  return {
    file: 'ffmpeg',
    args: [
      // level+info: the output stream line carries the frame size; the [error] tags let us pick out
      // the failure lines. -nostats: no progress lines every half second for months.
      '-hide_banner',
      '-nostdin',
      '-nostats',
      '-loglevel',
      'level+info',
      ...input,
      '-i',
      withCredentials(cfg.source, cfg.username, cfg.password),
      ...outputs,
    ],
    copyOnFd3: Boolean(copy),
  };
}

function gstreamerCommand(cfg: SourceConfig, width: number, height: number): CaptureCommand {
  // Raw frames have no header, so the size must be fixed in the caps before the first byte.
  if (!width || !height)
    throw new Error('a gstreamer source needs width and height (the frame size is fixed in its caps)');
  const src = withCredentials(cfg.source, cfg.username, cfg.password);
  let head: string[];
  if (src.includes('!')) head = gstTokens(src);
  else {
    const uri = isStreamUrl(src) || /^[a-z][a-z0-9+.-]*:\/\//i.test(src) ? src : pathToFileURL(resolve(src)).href;
    head = ['uridecodebin', `uri=${uri}`];
  }
  const rate = cfg.fps > 0 ? ['!', 'videorate', 'drop-only=true'] : [];
  const caps = `video/x-raw,format=BGR,width=${width},height=${height}${cfg.fps > 0 ? `,framerate=${fpsFraction(cfg.fps)}` : ''}`;
  // -q: nothing but frames on stdout. sync=true: frames leave at their timestamps, so a file plays
  // at its real speed and a live source is unaffected.
  const sink = (fd: number): string[] => ['!', 'fdsink', `fd=${fd}`, 'sync=true'];
  const copy = cfg.detectorCopy ? copySize(width, height, cfg.detectorCopy) : undefined;
  // The detector copy as FFmpeg's: a tee after the size caps, the second branch scaled down again
  // (videoscale's filters widen when they shrink, so fine detail does not alias) and sent on fd 3.
  const outputs = copy
    ? [
        ...['!', 'tee', 'name=full', '!', 'queue', ...sink(1), 'full.', '!', 'queue', '!', 'videoscale'],
        ...['!', `video/x-raw,format=BGR,width=${copy.width},height=${copy.height}`, ...sink(3)],
      ]
    : sink(1);
  return {
    file: 'gst-launch-1.0',
    copyOnFd3: Boolean(copy),
    args: ['-q', ...head, ...rate, '!', 'videoconvert', '!', 'videoscale', '!', caps, ...outputs],
    width,
    height,
    ...(copy ? { copy } : {}),
  };
}

/** A path that should exist before a child is worth starting: a local file or a V4L2 device. */
export function missingLocalSource(cfg: Pick<SourceConfig, 'kind' | 'source'>): string | null {
  if (cfg.kind === 'v4l2') return existsSync(cfg.source) ? null : `device not found: ${cfg.source}`;
  if (cfg.kind === 'file' && !/^[a-z][a-z0-9+.-]*:/i.test(cfg.source)) {
    return existsSync(cfg.source) ? null : `file not found: ${cfg.source}`;
  }
  return null;
}

/** The output frame size from FFmpeg's stream dump ("Video: rawvideo (BGR[24] …), bgr24(…), 640x360"). */
export function parseOutputSize(stderr: string): { width: number; height: number } | null {
  return parseOutputSizes(stderr)[0] ?? null;
}

/** Every output's frame size, in output order (pipe:1, then the detector copy on pipe:3). */
export function parseOutputSizes(stderr: string): { width: number; height: number }[] {
  return [...stderr.matchAll(/Video: rawvideo[^\n]*?bgr24(?:\([^)\n]*\))?, (\d+)x(\d+)/g)].map((m) => ({
    width: Number(m[1]),
    height: Number(m[2]),
  }));
}

/** The failure lines of FFmpeg ("[rtsp @ 0x…] [error] …") or gst-launch ("ERROR: from element …: …"). */
export function errorLines(stderr: string): string[] {
  const out: string[] = [];
  for (const line of stderr.split('\n')) {
    const ff = /\[(?:error|fatal|panic)\]\s*(.*)$/.exec(line);
    const gst = /^ERROR: (?:from element [^:]*(?::[^:\s]*)*: )?(.*)$/.exec(line);
    const msg = (ff?.[1] ?? gst?.[1])?.trim();
    if (msg) out.push(msg);
  }
  return out;
}

export interface Failure {
  reason: string;
  /** Won't fix itself soon (missing file/device, wrong credentials): retried only slowly. */
  permanent: boolean;
}

const KNOWN: { re: RegExp; reason: string | ((kind: SourceKind) => string); permanent: boolean }[] = [
  { re: /Unauthorized/i, reason: '401 Unauthorized', permanent: true },
  { re: /403 Forbidden/i, reason: '403 Forbidden', permanent: true },
  { re: /404 Not Found/i, reason: '404 Not Found (wrong stream path?)', permanent: false },
  { re: /Connection refused/i, reason: 'connection refused', permanent: false },
  { re: /Connection timed out/i, reason: 'connection timed out', permanent: false },
  { re: /No route to host|Network is unreachable/i, reason: 'host unreachable', permanent: false },
  {
    re: /Name or service not known|Temporary failure in name resolution|Could not resolve|Failed to resolve/i,
    reason: 'host not found',
    permanent: false,
  },
  { re: /Device or resource busy/i, reason: 'device busy', permanent: false },
  { re: /Permission denied/i, reason: 'permission denied', permanent: true },
  {
    re: /No such file or directory|Resource not found|No such file/i,
    reason: (k) => (k === 'v4l2' ? 'device not found' : 'file not found'),
    permanent: true,
  },
  { re: /Invalid data found when processing input/i, reason: 'invalid data (not a video?)', permanent: false },
  { re: /erroneous pipeline|no element/i, reason: 'invalid gstreamer pipeline', permanent: true },
];

/** Why a child exited, in words a person can act on (already redacted). */
export function classifyExit(
  kind: SourceKind,
  code: number | null,
  errors: readonly string[],
  signal?: NodeJS.Signals | null,
): Failure {
  const tool = kind === 'gstreamer' ? 'gstreamer' : 'ffmpeg';
  const text = errors.join('\n');
  for (const k of KNOWN) {
    if (!k.re.test(text)) continue;
    const reason = typeof k.reason === 'string' ? k.reason : k.reason(kind);
    // Protocol-level answers are the tool's words; socket errors read better on their own.
    return { reason: /^\d{3} /.test(reason) ? `${tool}: ${reason}` : reason, permanent: k.permanent };
  }
  if (code === 0) return { reason: 'stream ended', permanent: false };
  if (errors.length === 0)
    return {
      reason: signal ? `${tool} killed by ${signal}` : `${tool} exited with code ${code ?? '?'}`,
      permanent: false,
    };
  const last = errors[errors.length - 1] ?? '';
  return { reason: `${tool}: ${last.length > 200 ? `${last.slice(0, 200)}…` : last}`, permanent: false };
}
