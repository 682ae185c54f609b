// The `cameras` array. convict validates scalars only, so the array is one custom format whose check
// walks every element against CAMERA_FIELDS and reports each problem with its own path
// (`cameras[1].fps: …`). The same walk fills the defaults and resolves kind "auto" for loadConfig.
import { parseJson } from './json.js';
import {
  bool,
  int,
  isSecretName,
  Key,
  num,
  oneOf,
  optional,
  shown,
  str,
  type ConfigValues,
  type Tree,
  type ValueType,
} from './values.js';

/** Camera ids become MQTT topic levels and metric labels: short, lower case, no separators. */
export const CAMERA_ID = /^[a-z0-9][a-z0-9_-]{0,31}$/;

const round = (n: number): number => Math.round(n * 1e6) / 1e6;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** How a camera's source is opened. The file's "auto" is resolved at load time, so it never appears in CameraConfig. */
export const CAMERA_KINDS = ['rtsp', 'file', 'v4l2', 'gstreamer'] as const;
export type CameraKind = (typeof CAMERA_KINDS)[number];

const roiType: ValueType<Roi | null> = {
  describe: 'object {x, y, width, height}, or null',
  check: (v) => (v === null || isObject(v) ? undefined : 'must be an object {x, y, width, height} or null'),
  fromString: (s) => s,
};

const fraction = num({ min: 0, max: 1 });
const size = num({ min: 0, max: 1, minExclusive: true });
export const ROI_FIELDS = {
  x: new Key(fraction, undefined, 'Left edge, fraction of the frame width.', { required: true }),
  y: new Key(fraction, undefined, 'Top edge, fraction of the frame height.', { required: true }),
  width: new Key(size, undefined, 'Width, fraction of the frame width.', { required: true }),
  height: new Key(size, undefined, 'Height, fraction of the frame height.', { required: true }),
} satisfies Tree;

/** Region of interest as fractions of the frame (0..1), origin top left. */
export type Roi = ConfigValues<typeof ROI_FIELDS>;

export const CAMERA_FIELDS = {
  id: new Key(
    str(CAMERA_ID, 'lower-case letters, digits, _ and -, at most 32; it becomes an MQTT topic level'),
    undefined,
    'Unique camera id.',
    { required: true },
  ),
  enabled: new Key(bool, true, 'false = keep the entry but do not open the camera.'),
  source: new Key(
    str(),
    undefined,
    'rtsp:// or rtsps:// URL, video file path, /dev/videoN, or a GStreamer pipeline ("… ! …").',
    { required: true },
  ),
  kind: new Key(oneOf(['auto', ...CAMERA_KINDS]), 'auto', 'How to open the source. auto = from the source string.'),
  username: new Key(optional(str()), null, 'RTSP user name, put into the URL at connect time.'),
  password: new Key(
    optional(str()),
    null,
    'RTSP password, put into the URL at connect time and never logged. Prefer passwordFile.',
  ),
  passwordFile: new Key(
    optional(str()),
    null,
    'File holding the RTSP password (one trailing newline ignored). Relative: against $CREDENTIALS_DIRECTORY when set. Wins over password.',
  ),
  loop: new Key(bool, false, 'Restart a file source at its end (files only).'),
  fps: new Key(
    num({ min: 0, max: 120, minExclusive: true }),
    5,
    'Frames analysed per second (frames in between are dropped).',
  ),
  width: new Key(int(0, 7680), 0, "Analysis frame width in pixels; 0 = the source's."),
  height: new Key(int(0, 4320), 0, "Analysis frame height in pixels; 0 = the source's."),
  roi: new Key(
    roiType,
    null,
    'Analyse only this region, as fractions of the frame (keys below). null = the whole frame.',
  ),
  minFaceSize: new Key(int(0, 4320), 40, 'Ignore faces smaller than this many pixels high (in the analysis frame).'),
  rtspTransport: new Key(
    oneOf(['tcp', 'udp']),
    'tcp',
    'RTSP transport: tcp is reliable through NAT and lossy Wi-Fi; udp has less latency.',
  ),
  stallTimeoutS: new Key(
    num({ min: 0, max: 3600, minExclusive: true }),
    10,
    'Reconnect when no frame arrives for this many seconds while streaming.',
  ),
  connectTimeoutS: new Key(
    num({ min: 0, max: 600, minExclusive: true }),
    10,
    'Give up on a (re)connect when the first frame has not arrived after this many seconds (RTSP setup, probing, waiting for a keyframe); then back off and retry.',
  ),
  backoff: {
    initialMs: new Key(int(1, 3_600_000), 1000, 'First reconnect delay; doubles after each failure.'),
    maxMs: new Key(int(1, 3_600_000), 30000, 'Longest reconnect delay.'),
    resetAfterMs: new Key(
      int(0, 3_600_000),
      10000,
      'Streaming this long without a failure starts the delays again at initialMs (a camera that streams a while and drops reconnects quickly).',
    ),
  },
} satisfies Tree;

/**
 * One loaded camera: CAMERA_FIELDS' values, with kind resolved. The source may carry user:pass@ and
 * password is a secret (injected at connect time): redact before logging, never log.
 */
export interface CameraConfig extends Omit<ConfigValues<typeof CAMERA_FIELDS>, 'kind'> {
  readonly kind: CameraKind;
}

/** What a source string looks like; undefined for URL schemes other than rtsp (say kind explicitly). */
export function inferKind(source: string): CameraKind | undefined {
  if (/^rtsps?:\/\//i.test(source)) return 'rtsp';
  if (/^\/dev\/(video\d+$|v4l\/)/.test(source)) return 'v4l2';
  if (/\s!\s/.test(source)) return 'gstreamer';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) return undefined;
  return 'file';
}

/** Why an explicit kind does not fit the source, or undefined when it does. */
function kindMismatch(kind: CameraKind, source: string): string | undefined {
  const inferred = inferKind(source);
  switch (kind) {
    case 'rtsp':
      return inferred === 'rtsp' ? undefined : 'kind "rtsp" needs an rtsp:// or rtsps:// source';
    case 'v4l2':
      return source.startsWith('/dev/') ? undefined : 'kind "v4l2" needs a device path such as /dev/video0';
    // A pipeline head, or a URI/path handed to uridecodebin: anything goes.
    case 'gstreamer':
      return undefined;
    // Other URLs (http://, hls) are files to the decoder; rtsp, devices and pipelines are not.
    case 'file':
      return inferred === 'file' || inferred === undefined
        ? undefined
        : `kind "file" does not fit a ${inferred} source`;
  }
}

/** Checks `raw` against `tree`, filling defaults; problems are pushed as `<at>.<key>: <problem>`. */
function applyTree(raw: Record<string, unknown>, tree: Tree, at: string, problems: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(raw)) if (!(k in tree)) problems.push(`${at}.${k}: unknown key`);
  for (const [k, spec] of Object.entries(tree)) {
    const has = Object.prototype.hasOwnProperty.call(raw, k);
    if (!(spec instanceof Key)) {
      const sub = has ? raw[k] : {};
      if (isObject(sub)) out[k] = applyTree(sub, spec, `${at}.${k}`, problems);
      else problems.push(`${at}.${k}: must be an object`);
      continue;
    }
    if (!has) {
      if (spec.opts.required) problems.push(`${at}.${k}: missing (required)`);
      else out[k] = spec.defaultValue;
      continue;
    }
    // Strings are read like env vars ("5" → 5), as convict does for the other keys of a file.
    const v = typeof raw[k] === 'string' ? spec.type.fromString(raw[k]) : raw[k];
    const problem = spec.type.check(v);
    if (problem) problems.push(`${at}.${k}: ${problem}${isSecretName(k) ? '' : ` (got ${shown(v)})`}`);
    out[k] = v;
  }
  return out;
}

function parseCamera(raw: unknown, at: string, problems: string[]): Record<string, unknown> | undefined {
  if (!isObject(raw)) {
    problems.push(`${at}: must be an object with at least id and source`);
    return undefined;
  }
  const c = applyTree(raw, CAMERA_FIELDS, at, problems);
  if (isObject(c.roi)) {
    const roi = applyTree(c.roi, ROI_FIELDS, `${at}.roi`, problems);
    const { x, y, width, height } = roi;
    // Sums only of valid parts, so one bad number is reported once.
    const ok = (v: unknown, t: ValueType): v is number => t.check(v) === undefined;
    if (ok(x, fraction) && ok(width, size) && x + width > 1 + 1e-9)
      problems.push(`${at}.roi: x + width must be ≤ 1 (got ${round(x + width)})`);
    if (ok(y, fraction) && ok(height, size) && y + height > 1 + 1e-9)
      problems.push(`${at}.roi: y + height must be ≤ 1 (got ${round(y + height)})`);
    c.roi = roi;
  }
  if (typeof c.source !== 'string' || c.source === '') return c;
  if (c.kind === 'auto') {
    const inferred = inferKind(c.source);
    if (inferred) c.kind = inferred;
    else
      problems.push(
        `${at}.kind: cannot tell the kind of ${shown(c.source)}; use rtsp://, a file path, /dev/videoN or a GStreamer pipeline, or set kind (e.g. "file" for http:// streams)`,
      );
  } else if (typeof c.kind === 'string') {
    const why = kindMismatch(c.kind as CameraKind, c.source);
    if (why) problems.push(`${at}.kind: ${why} (source ${shown(c.source)})`);
  }
  const credentials = (['username', 'password', 'passwordFile'] as const).filter(
    (k) => c[k] !== null && c[k] !== undefined,
  );
  if (credentials.length > 0) {
    if (c.kind !== 'rtsp') problems.push(`${at}.${credentials[0]}: credentials are only used with rtsp sources`);
    else if (/^[a-z][a-z0-9+.-]*:\/\/[^/@]*@/i.test(c.source))
      problems.push(`${at}.source: credentials are in both the URL and ${credentials.join('/')}; use one`);
    else if (c.username === null) problems.push(`${at}.username: required when ${credentials.join(' and ')} is set`);
  }
  if (c.loop === true && c.kind !== 'file') problems.push(`${at}.loop: only file sources can loop`);
  // gst-launch writes headerless raw frames: their size must be fixed in the caps before the first byte.
  if (c.kind === 'gstreamer') {
    for (const k of ['width', 'height'] as const) {
      if (c[k] === 0)
        problems.push(
          `${at}.${k}: required (> 0) for gstreamer sources: the frame size is fixed in the pipeline's caps`,
        );
    }
  }
  const backoff = c.backoff as Record<string, unknown> | undefined;
  if (
    typeof backoff?.initialMs === 'number' &&
    typeof backoff.maxMs === 'number' &&
    backoff.maxMs < backoff.initialMs
  ) {
    problems.push(`${at}.backoff.maxMs: must be ≥ backoff.initialMs (${backoff.initialMs})`);
  }
  return c;
}

/** Validates and normalises the array. `cameras` holds every element that was an object, even with problems. */
export function parseCameras(value: unknown, at = 'cameras'): { cameras: CameraConfig[]; problems: string[] } {
  const problems: string[] = [];
  if (typeof value === 'string') {
    // Only text that fromString could not parse stays a string (EMOTION_AGENT_CAMERAS='[{"id": …').
    const r = parseJson(value);
    const why = r.ok ? '' : `; the text is not valid JSON (${r.line}:${r.column}: ${r.problem})`;
    return { cameras: [], problems: [`${at}: must be a JSON array of camera objects${why}`] };
  }
  if (!Array.isArray(value)) return { cameras: [], problems: [`${at}: must be an array of camera objects`] };
  const cameras: CameraConfig[] = [];
  const seen = new Map<string, number>();
  value.forEach((raw, i) => {
    const c = parseCamera(raw, `${at}[${i}]`, problems);
    if (!c) return;
    if (typeof c.id === 'string') {
      const first = seen.get(c.id);
      if (first !== undefined) problems.push(`${at}[${i}].id: duplicate id "${c.id}" (also ${at}[${first}])`);
      else seen.set(c.id, i);
    }
    // The shape is what CAMERA_FIELDS describes; callers use it only when there are no problems.
    cameras.push(c as unknown as CameraConfig);
  });
  return { cameras, problems };
}

export const cameraList: ValueType<readonly CameraConfig[]> = {
  describe: 'array of camera objects',
  check: (v) => {
    const { problems } = parseCameras(v);
    return problems.length > 0 ? problems.join('\n') : undefined;
  },
  fromString: (s) => {
    const r = parseJson(s);
    return r.ok ? r.value : s;
  },
};
