// The loaded configuration as the rest of the agent sees it: plain, fully defaulted, validated and
// frozen (readonly here so the compiler agrees). Optional values are null, never missing.

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type { ExecutionProvider } from '../models/providers.js';
import type { ExecutionProvider } from '../models/providers.js';
/** How a camera's source is opened. The file's "auto" is resolved at load time, so it never appears here. */
export type CameraKind = 'rtsp' | 'file' | 'v4l2' | 'gstreamer';

/** Region of interest as fractions of the frame (0..1), origin top left. */
export interface Roi {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface CameraConfig {
  /** Lower-case id, unique: it becomes an MQTT topic level. */
  readonly id: string;
  readonly enabled: boolean;
  /** rtsp:// URL, file path, /dev/videoN, or GStreamer pipeline. May carry user:pass@ (redact before logging). */
  readonly source: string;
  readonly kind: CameraKind;
  readonly username: string | null;
  /** The RTSP password, read from passwordFile when that is set. Inject at connect time; never log. */
  readonly password: string | null;
  /** Absolute path of the file the password came from, or null. */
  readonly passwordFile: string | null;
  readonly loop: boolean;
  readonly fps: number;
  /** Analysis resolution; 0 = the source's. */
  readonly width: number;
  readonly height: number;
  readonly roi: Roi | null;
  readonly minFaceSize: number;
  readonly rtspTransport: 'tcp' | 'udp';
  readonly stallTimeoutS: number;
  readonly connectTimeoutS: number;
  readonly backoff: { readonly initialMs: number; readonly maxMs: number; readonly resetAfterMs: number };
}

/** models.update.*: remote model updates (src/updates/updates.ts). */
export interface ModelUpdateConfig {
  readonly enabled: boolean;
  readonly trustedKeys: readonly string[];
  readonly allowUnsigned: boolean;
  readonly dir: string;
  readonly keep: number;
  readonly latencyMultiple: number;
  readonly maxFileBytes: number;
  readonly maxInlineBytes: number;
  readonly downloadTimeoutS: number;
  readonly validateTimeoutS: number;
  readonly ca: string | null;
  readonly probationS: number;
  readonly crashLoopBoots: number;
}

export interface AgentConfig {
  readonly device: { readonly id: string | null };
  readonly log: { readonly level: LogLevel; readonly pretty: 'auto' | boolean };
  readonly models: { readonly detector: string; readonly classifier: string; readonly update: ModelUpdateConfig };
  readonly inference: { readonly provider: ExecutionProvider; readonly threads: number; readonly flipTta: boolean };
  readonly detector: { readonly scoreThreshold: number | null };
  readonly cameras: readonly CameraConfig[];
  readonly tracker: { readonly iouThreshold: number; readonly maxUnseenMs: number; readonly minTrackMs: number; readonly minHits: number };
  readonly aggregate: { readonly windowS: number; readonly minPeople: number };
  readonly quality: { readonly minFaceSize: number; readonly minSharpness: number; readonly maxYawDeg: number; readonly maxPitchDeg: number };
  readonly attention: { readonly maxYawDeg: number; readonly maxPitchDeg: number; readonly yawOffsetDeg: number; readonly pitchOffsetDeg: number; readonly minLookS: number };
  readonly sinks: { readonly jsonl: { readonly enabled: boolean; readonly path: string } };
  readonly mqtt: {
    readonly enabled: boolean;
    /** A broker URL, or `embedded` (an in-process broker on 127.0.0.1:embeddedPort). */
    readonly url: string;
    readonly embeddedPort: number;
    readonly clientId: string | null;
    readonly username: string | null;
    /** Read from passwordFile when that is set. Never log. */
    readonly password: string | null;
    readonly passwordFile: string | null;
    /** PEM file paths. */
    readonly ca: string | null;
    readonly cert: string | null;
    readonly key: string | null;
    readonly keepaliveS: number;
    readonly protocolVersion: 4 | 5;
    readonly statsIntervalS: number;
    readonly topicRoot: string | null;
    /** Home Assistant MQTT discovery. */
    readonly homeAssistant: { readonly enabled: boolean; readonly prefix: string };
  };
  readonly outbox: { readonly path: string; readonly maxRows: number; readonly maxAgeS: number; readonly maxUnstored: number };
  /** The local health endpoint and technician page (src/health). */
  readonly http: {
    readonly enabled: boolean;
    readonly host: string;
    readonly port: number;
    /** Read from tokenFile when that is set. Never log. Required when host is not loopback. */
    readonly token: string | null;
    readonly tokenFile: string | null;
    readonly maxEventStreams: number;
  };
  /** The live annotated preview on the technician page: images never leave memory, never stored. */
  readonly preview: { readonly enabled: boolean; readonly fps: number; readonly width: number };
  readonly shutdown: { readonly timeoutS: number };
}
