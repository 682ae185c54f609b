// Every configuration key: type, default, documentation. docs/config.md, `config --schema`, the
// convict schema and the env var names are all generated from this tree, so they cannot drift apart.
// Defaults are the built-in demo: with no configuration at all the agent analyses the bundled clip.
import { join } from 'node:path';
import { defaultBundleDir, PACKAGE_ROOT } from '../models/defaults.js';
import { MANIFEST_FILE } from '../models/manifest.js';
import { CPU_PROVIDER, EXECUTION_PROVIDERS } from '../models/providers.js';
import { DEFAULT_ATTENTION } from '../vision/attention.js';
import { DEFAULT_QUALITY } from '../vision/quality-options.js';
import { cameraList } from './cameras.js';
import { keyList } from './key-list.js';
import { autoBool, bool, int, Key, num, oneOf, optional, str, type Tree } from './values.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** Device ids become an MQTT topic level too, so no '/', '+', '#'; hostnames and balena UUIDs fit. */
const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** The demo clip, resolved against the package root at load time (the package may live anywhere). */
export const demoClip = (): string => join(PACKAGE_ROOT, 'var', 'demo', 'demo.mp4');

/**
 * Built when loading, not at import: the defaults depend on where the package and its models are.
 * Its inferred type is the configuration's type (AgentConfig in types.ts is ConfigValues of it): a new
 * key here is a new field there, typed by its ValueType.
 */
export function configTree() {
  return {
    device: {
      id: new Key(
        optional(str(DEVICE_ID, 'letters, digits, _ . -; at most 64')),
        null,
        'Device id used in MQTT topics and reports. null = derived from /etc/machine-id.',
      ),
    },
    log: {
      level: new Key(oneOf(LOG_LEVELS), 'info', 'Log level (pino).'),
      pretty: new Key(
        autoBool,
        'auto',
        'Human-readable logs instead of JSON lines. auto = pretty when the log stream is a terminal.',
      ),
    },
    models: {
      detector: new Key(
        str(),
        defaultBundleDir('face-detector'),
        `Face detector model bundle folder (model.onnx + ${MANIFEST_FILE}). Default: the shipped one.`,
      ),
      classifier: new Key(
        str(),
        defaultBundleDir('emotion-classifier'),
        'Expression classifier model bundle folder. Default: the shipped one.',
      ),
      // Remote model updates over MQTT (docs/models.md, "Remote updates").
      update: {
        enabled: new Key(
          bool,
          true,
          'Accept model/update, model/rollback and model/status commands over MQTT (needs mqtt.enabled). Updates must be signed by one of trustedKeys.',
        ),
        trustedKeys: new Key(
          keyList,
          [],
          'Ed25519 public keys (one-line form from `emotion-agent models keygen`, or PEM) whose signatures a bundle may carry. Empty: every signed update is refused. In the environment: a JSON array or a comma-separated list.',
        ),
        allowUnsigned: new Key(
          bool,
          false,
          'DEVELOPMENT ONLY: accept bundles without a signature (the file hashes are still checked).',
        ),
        dir: new Key(
          str(),
          join(PACKAGE_ROOT, 'var', 'state', 'models'),
          'Folder of the on-device model store (versions and the pointer naming the serving one). Default: var/state/models in the package folder.',
        ),
        keep: new Key(int(1, 20), 2, 'Previous versions kept per task for rollback.'),
        latencyMultiple: new Key(
          num({ min: 1, max: 100 }),
          3,
          "Refuse a model whose measured latency exceeds this multiple of the serving model's.",
        ),
        maxFileBytes: new Key(int(1, 4 * 1024 ** 3), 256 * 1024 * 1024, 'Largest file a bundle may hold, in bytes.'),
        maxInlineBytes: new Key(
          int(0, 16 * 1024 * 1024),
          1024 * 1024,
          'Largest bundle (all files together) that may arrive inline (base64) in the command itself, in bytes.',
        ),
        downloadTimeoutS: new Key(
          int(1, 86_400),
          600,
          'Time limit for downloading all files of one update (retries and resumes included).',
        ),
        validateTimeoutS: new Key(
          int(1, 3600),
          120,
          'Time limit for validating a candidate model (loading, golden vectors, latency probe).',
        ),
        ca: new Key(
          optional(str()),
          null,
          'PEM file of the CA(s) trusted for https:// model downloads, in addition to the system CAs. null = the system CAs only.',
        ),
        probationS: new Key(
          int(1, 7 * 86_400),
          600,
          'After an activation, inference errors or NaN/constant outputs within this many seconds roll the model back automatically.',
        ),
        crashLoopBoots: new Key(
          int(1, 100),
          3,
          'Restarts during probation after which the new model is rolled back at boot (a crash loop).',
        ),
      },
    },
    inference: {
      provider: new Key(oneOf(EXECUTION_PROVIDERS), CPU_PROVIDER, 'ONNX Runtime execution provider.'),
      threads: new Key(int(0, 256), 0, 'ONNX Runtime intra-op threads per session. 0 = ONNX Runtime decides.'),
      flipTta: new Key(
        bool,
        false,
        'Also classify each face mirrored and average: slightly more accurate, twice the classifier cost.',
      ),
    },
    detector: {
      scoreThreshold: new Key(
        optional(num({ min: 0, max: 1 })),
        null,
        "Minimum face detection score. null = the detector bundle's own threshold.",
      ),
    },
    cameras: new Key(
      cameraList,
      [{ id: 'demo', source: demoClip(), loop: true }],
      'The video sources, a JSON array of camera objects (keys below, cameras[].…). Default: the demo clip, looped. ' +
        'In the environment, the whole array as JSON.',
    ),
    tracker: {
      iouThreshold: new Key(
        num({ min: 0, max: 1, minExclusive: true }),
        0.3,
        'Minimum box overlap (IoU) for a detection to continue a track.',
      ),
      maxUnseenMs: new Key(int(1, 600_000), 1500, 'A track unseen for this long ends.'),
      minTrackMs: new Key(
        int(0, 3_600_000),
        1000,
        'Tracks shorter than this are not counted (passers-by, false detections).',
      ),
      minHits: new Key(int(1, 10_000), 3, 'Detections a track needs before it is counted.'),
    },
    aggregate: {
      windowS: new Key(int(1, 86_400), 60, 'Length of an aggregation window in seconds.'),
      minPeople: new Key(
        int(1, 100_000),
        3,
        "Privacy threshold: windows with fewer people report only the count, without the per-emotion breakdown (and with fewer viewers, without the viewers' emotions).",
      ),
    },
    quality: {
      minFaceSize: new Key(
        int(0, 10_000),
        DEFAULT_QUALITY.minFaceSize,
        'Faces lower than this many pixels are counted as people but not classified (an expression model guesses on them).',
      ),
      minSharpness: new Key(
        num({ min: 0, max: 1e6 }),
        DEFAULT_QUALITY.minSharpness,
        'Faces blurrier than this are counted but not classified: variance of the Laplacian of the face at 64x64 gray (sharp faces score in the hundreds; 0 = no check).',
      ),
      maxYawDeg: new Key(
        num({ min: 0, max: 180 }),
        DEFAULT_QUALITY.maxYawDeg,
        'Faces turned sideways by more than this (degrees, from the landmarks) are counted but not classified.',
      ),
      maxPitchDeg: new Key(
        num({ min: 0, max: 180 }),
        DEFAULT_QUALITY.maxPitchDeg,
        'Faces looking up or down by more than this (degrees) are counted but not classified.',
      ),
    },
    attention: {
      maxYawDeg: new Key(
        num({ min: 0, max: 180 }),
        DEFAULT_ATTENTION.maxYawDeg,
        'A face looks at the kiosk when its yaw (minus yawOffsetDeg) is within this many degrees...',
      ),
      maxPitchDeg: new Key(
        num({ min: 0, max: 180 }),
        DEFAULT_ATTENTION.maxPitchDeg,
        '...and its pitch (minus pitchOffsetDeg) within this many degrees.',
      ),
      yawOffsetDeg: new Key(
        num({ min: -90, max: 90 }),
        DEFAULT_ATTENTION.yawOffsetDeg,
        "Yaw the camera sees when a person looks at the screen's centre: 0 for a camera on the screen; positive (turned towards the image's right) when the camera is to the left of the screen as the viewer sees it.",
      ),
      pitchOffsetDeg: new Key(
        num({ min: -90, max: 90 }),
        DEFAULT_ATTENTION.pitchOffsetDeg,
        "Pitch the camera sees when a person looks at the screen's centre: 0 for a camera on the screen; positive (looking down) when the camera is above it.",
      ),
      minLookS: new Key(
        num({ min: 0, max: 86_400 }),
        DEFAULT_ATTENTION.minLookS,
        'A person who looked at the kiosk for at least this many seconds in all is a viewer; the others are passers-by.',
      ),
    },
    sinks: {
      jsonl: {
        enabled: new Key(bool, true, 'Write one JSON line per aggregation window.'),
        path: new Key(str(), '-', 'Where: "-" = standard output, or a file path (appended to).'),
      },
    },
    mqtt: {
      enabled: new Key(bool, false, 'Publish windows, status and info to an MQTT broker (through the durable outbox).'),
      url: new Key(
        str(/^((mqtts?|wss?):\/\/\S+|embedded)$/, 'mqtt://, mqtts://, ws:// or wss:// URL, or embedded'),
        'mqtt://localhost:1883',
        'Broker URL: mqtt://host:1883, mqtts://host:8883, ws://host/mqtt or wss://host/mqtt; embedded = start an in-process broker on 127.0.0.1:mqtt.embeddedPort (for the demo and trials; if the port is taken the agent runs without MQTT).',
      ),
      embeddedPort: new Key(
        int(1, 65535),
        1883,
        'Port of the in-process broker that mqtt.url = embedded starts (listening on 127.0.0.1 only).',
      ),
      clientId: new Key(optional(str()), null, 'MQTT client id. null = the device id.'),
      username: new Key(optional(str()), null, 'MQTT user name. null = anonymous.'),
      password: new Key(optional(str()), null, 'MQTT password; never logged. Prefer passwordFile.'),
      passwordFile: new Key(
        optional(str()),
        null,
        'File holding the MQTT password (one trailing newline ignored). Relative: against $CREDENTIALS_DIRECTORY when set. Wins over password.',
      ),
      ca: new Key(
        optional(str()),
        null,
        'PEM file of the CA(s) that signed the broker certificate (mqtts://, wss://). null = the system CAs.',
      ),
      cert: new Key(
        optional(str()),
        null,
        'PEM file of the client certificate, for brokers that authenticate clients by certificate.',
      ),
      key: new Key(optional(str()), null, "PEM file of the client certificate's private key."),
      keepaliveS: new Key(
        int(1, 65535),
        30,
        'MQTT keepalive in seconds: the broker publishes the offline last will after about 1.5 times this without traffic.',
      ),
      protocolVersion: new Key(int<4 | 5>(4, 5), 4, 'MQTT protocol version: 4 = 3.1.1, 5 = MQTT 5.'),
      statsIntervalS: new Key(
        int(0, 86_400),
        60,
        'Publish counters (outbox pending/dropped, published) to <root>/stats this often. 0 = never.',
      ),
      topicRoot: new Key(
        optional(str(/^[^+#\s]+[^/+#\s]$/, 'no wildcards, spaces or trailing /')),
        null,
        'Topic root for everything the agent publishes (docs/mqtt.md). null = emotion-agent/<device id>.',
      ),
      homeAssistant: {
        enabled: new Key(
          bool,
          false,
          'Publish Home Assistant MQTT discovery configs (retained, on every connect): per camera a people sensor, a viewers sensor and one per emotion (docs/mqtt.md).',
        ),
        prefix: new Key(
          str(/^[^+#\s]+[^/+#\s]$/, 'no wildcards, spaces or trailing /'),
          'homeassistant',
          "Home Assistant discovery prefix (as set in Home Assistant's MQTT integration).",
        ),
      },
    },
    outbox: {
      path: new Key(
        str(),
        join(PACKAGE_ROOT, 'var', 'state', 'outbox.db'),
        'SQLite file that keeps MQTT messages until the broker acknowledges them (survives restarts and power cuts). Default: var/state/outbox.db in the package folder.',
      ),
      maxRows: new Key(
        int(1, 10_000_000),
        100_000,
        'Most messages kept while the broker is unreachable; beyond it the oldest are dropped (and counted).',
      ),
      maxAgeS: new Key(
        int(1, 366 * 86_400),
        30 * 86_400,
        'Messages older than this are dropped (and counted). Default: 30 days.',
      ),
      maxUnstored: new Key(
        int(1, 100_000),
        1000,
        'Windows kept in memory while the outbox cannot write (disk full), stored in order when it can again; beyond it the oldest are dropped (counted, leaving a gap in seq).',
      ),
    },
    http: {
      enabled: new Key(
        bool,
        true,
        'Serve /healthz, /readyz, /api/status, /metrics and the technician page (docs/health.md).',
      ),
      host: new Key(
        str(/^\S+$/, 'an IP address or host name'),
        '127.0.0.1',
        'Address to listen on. Any address other than loopback (127.0.0.1, ::1, localhost) requires http.token (or tokenFile) for every route but /healthz.',
      ),
      port: new Key(int(0, 65535), 8090, 'TCP port of the health endpoint and page. 0 = any free port (tests).'),
      token: new Key(
        optional(str()),
        null,
        'Bearer token the page and API require (Authorization: Bearer …); never logged. Prefer tokenFile.',
      ),
      maxEventStreams: new Key(
        int(1, 1000),
        100,
        'Most event streams (open technician pages) served at once; more get 503. Each costs a socket and a status document per second.',
      ),
      tokenFile: new Key(
        optional(str()),
        null,
        'File holding the bearer token (one trailing newline ignored). Relative: against $CREDENTIALS_DIRECTORY when set. Wins over token.',
      ),
    },
    preview: {
      enabled: new Key(
        bool,
        false,
        'Show a live annotated preview (frame, boxes, labels) on the technician page. Off by default: images are then never taken out of the analysis. Frames are kept in memory only, never stored or published.',
      ),
      fps: new Key(
        num({ min: 0, max: 10, minExclusive: true }),
        2,
        'Preview frames per second per camera, while a page is watching.',
      ),
      width: new Key(int(64, 1920), 480, 'Preview width in pixels (height keeps the aspect ratio).'),
    },
    shutdown: {
      timeoutS: new Key(
        num({ min: 0, max: 600, minExclusive: true }),
        10,
        'On SIGTERM, flush and close within this many seconds, then exit anyway.',
      ),
    },
  } satisfies Tree;
}

export type ConfigTree = ReturnType<typeof configTree>;
