// The daemon's configuration: defaults (the demo), file, environment, secret files, and that every
// mistake stops the start with a message naming the key.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  configSchemaDoc,
  loadConfig,
  redactConfig,
  renderConfigMarkdown,
  type LoadOptions,
} from '../../src/config/index.js';
import { CAMERA_FIELDS } from '../../src/config/cameras.js';
import { configTree } from '../../src/config/schema.js';
import { configKeys, Key, type Tree } from '../../src/config/values.js';
import { defaultBundleDir } from '../../src/models/defaults.js';
import { ROOT } from '../helpers/paths.js';

const tmp = mkdtempSync(join(tmpdir(), 'ea-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** Writes a config file (an object as JSON, a string as is) and returns its path. */
function configFile(content: unknown): string {
  const path = join(tmp, `config-${n++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** The ConfigError's problems for these options (fails when loading succeeds). */
function problems(opts: LoadOptions): readonly string[] {
  try {
    loadConfig({ env: {}, ...opts });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(78);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

const rtsp = { id: 'front', source: 'rtsp://192.168.1.20/stream1' };

describe('loadConfig sources', () => {
  it('with no configuration at all runs the demo: one camera reading the bundled clip, looped', () => {
    const cfg = loadConfig({ env: {} });
    expect(cfg.cameras).toHaveLength(1);
    expect(cfg.cameras[0]).toMatchObject({
      id: 'demo',
      enabled: true,
      kind: 'file',
      loop: true,
      fps: 5,
      source: join(ROOT, 'var', 'demo', 'demo.mp4'),
    });
    expect(cfg.models.detector).toBe(defaultBundleDir('face-detector'));
    expect(cfg.models.classifier).toBe(defaultBundleDir('emotion-classifier'));
    expect(cfg.log).toEqual({ level: 'info', pretty: 'auto' });
    expect(cfg.detector.scoreThreshold).toBeNull();
    expect(cfg.aggregate).toEqual({ windowS: 60, minPeople: 3 });
    expect(Object.isFrozen(cfg) && Object.isFrozen(cfg.cameras[0]?.backoff)).toBe(true);
  });

  it('a file overrides the defaults it names, and camera defaults fill each element', () => {
    const file = configFile({
      log: { level: 'debug' },
      cameras: [{ ...rtsp, roi: { x: 0.25, y: 0, width: 0.5, height: 1 } }],
    });
    const cfg = loadConfig({ file, env: {} });
    expect(cfg.log.level).toBe('debug');
    expect(cfg.inference.provider).toBe('cpu');
    expect(cfg.cameras).toEqual([
      {
        ...rtsp,
        enabled: true,
        kind: 'rtsp',
        username: null,
        password: null,
        passwordFile: null,
        loop: false,
        fps: 5,
        width: 0,
        height: 0,
        roi: { x: 0.25, y: 0, width: 0.5, height: 1 },
        minFaceSize: 40,
        rtspTransport: 'tcp',
        stallTimeoutS: 10,
        connectTimeoutS: 10,
        backoff: { initialMs: 1000, maxMs: 30000, resetAfterMs: 10000 },
      },
    ]);
  });

  it('EMOTION_AGENT_LOG_LEVEL overrides the file, which EMOTION_AGENT_CONFIG names', () => {
    const file = configFile({ log: { level: 'debug' }, inference: { threads: 2 } });
    const cfg = loadConfig({
      env: {
        EMOTION_AGENT_CONFIG: file,
        EMOTION_AGENT_LOG_LEVEL: 'warn',
        EMOTION_AGENT_INFERENCE_FLIP_TTA: 'true',
        EMOTION_AGENT_DETECTOR_SCORE_THRESHOLD: '0.6',
      },
    });
    expect(cfg.log.level).toBe('warn');
    expect(cfg.inference).toEqual({ provider: 'cpu', threads: 2, flipTta: true });
    expect(cfg.detector.scoreThreshold).toBe(0.6);
  });

  it('EMOTION_AGENT_CAMERAS sets the cameras as a JSON array; command-line overrides beat the environment', () => {
    const cfg = loadConfig({
      env: {
        EMOTION_AGENT_CAMERAS: JSON.stringify([{ id: 'usb', source: '/dev/video0' }]),
        EMOTION_AGENT_LOG_LEVEL: 'warn',
      },
      argvOverrides: { 'log.level': 'trace' },
    });
    expect(cfg.cameras.map((c) => [c.id, c.kind])).toEqual([['usb', 'v4l2']]);
    expect(cfg.log.level).toBe('trace');
  });

  it('reads passwordFile into password, dropping one trailing newline', () => {
    const secret = join(tmp, 'front.password');
    writeFileSync(secret, 's3cret \n');
    const cfg = loadConfig({
      file: configFile({ cameras: [{ ...rtsp, username: 'viewer', passwordFile: secret }] }),
      env: {},
    });
    expect(cfg.cameras[0]?.password).toBe('s3cret ');
  });

  it('resolves a relative passwordFile against $CREDENTIALS_DIRECTORY (systemd LoadCredential=)', () => {
    const creds = join(tmp, 'credentials');
    mkdirSync(creds, { recursive: true });
    writeFileSync(join(creds, 'front-password'), 'from-systemd\n');
    const cfg = loadConfig({
      file: configFile({ cameras: [{ ...rtsp, username: 'viewer', passwordFile: 'front-password' }] }),
      env: { CREDENTIALS_DIRECTORY: creds },
    });
    expect(cfg.cameras[0]?.password).toBe('from-systemd');
    expect(cfg.cameras[0]?.passwordFile).toBe(join(creds, 'front-password'));
  });
});

describe('loadConfig errors name the key', () => {
  it('an unknown top-level key', () => {
    expect(problems({ file: configFile({ bogus: 1 }) })).toEqual(['bogus: unknown key']);
  });

  it('an unknown key inside a camera', () => {
    expect(problems({ file: configFile({ cameras: [{ ...rtsp, colour: 'red' }] }) })).toEqual([
      'cameras[0].colour: unknown key',
    ]);
  });

  it('bad values: fps 0, a bad log level, threads -1 (from the environment), all listed at once', () => {
    const file = configFile({ log: { level: 'loud' }, cameras: [rtsp, { id: 'back', source: 'back.mp4', fps: 0 }] });
    const p = problems({ file, env: { EMOTION_AGENT_INFERENCE_THREADS: '-1' } });
    expect(p).toEqual([
      'log.level: must be one of: fatal, error, warn, info, debug, trace, silent (got "loud")',
      'inference.threads: must be an integer 0..256 (got -1)',
      'cameras[1].fps: must be a number > 0 and ≤ 120 (got 0)',
    ]);
  });

  it('a duplicate camera id, and ids that cannot be an MQTT topic level', () => {
    const p = problems({
      file: configFile({
        cameras: [rtsp, { ...rtsp }, { id: 'Front Door', source: 'a.mp4' }, { id: 'a/b', source: 'b.mp4' }],
      }),
    });
    expect(p[0]).toBe('cameras[1].id: duplicate id "front" (also cameras[0])');
    expect(p[1]).toMatch(/^cameras\[2\]\.id: must match/);
    expect(p[2]).toMatch(/^cameras\[3\]\.id: must match/);
  });

  it('a source that does not fit its kind, a roi outside the frame, loop on a stream', () => {
    const p = problems({
      file: configFile({
        cameras: [
          { id: 'a', source: 'video.mp4', kind: 'rtsp' },
          { id: 'b', source: 'c.mp4', roi: { x: 0.5, y: 0, width: 0.75, height: 2 } },
          { ...rtsp, loop: true },
        ],
      }),
    });
    expect(p).toEqual([
      'cameras[0].kind: kind "rtsp" needs an rtsp:// or rtsps:// source (source "video.mp4")',
      'cameras[1].roi.height: must be a number > 0 and ≤ 1 (got 2)',
      'cameras[1].roi: x + width must be ≤ 1 (got 1.25)',
      'cameras[2].loop: only file sources can loop',
    ]);
  });

  it('a missing secret file names the key and the path', () => {
    const p = problems({
      file: configFile({ cameras: [{ ...rtsp, username: 'viewer', passwordFile: 'nope' }] }),
      env: { CREDENTIALS_DIRECTORY: '/run/credentials/x' },
    });
    expect(p).toEqual([
      'cameras[0].passwordFile: secret file not found: /run/credentials/x/nope (relative to $CREDENTIALS_DIRECTORY)',
    ]);
  });

  it('malformed JSON names the file, line and column', () => {
    const file = configFile('{\n  "log": { "level": "debug", }\n}\n');
    expect(problems({ file })).toEqual([`${file}:2:30: invalid JSON: expected a "quoted" property name, found "}"`]);
  });

  it('a mistyped environment variable under a known section', () => {
    expect(problems({ env: { EMOTION_AGENT_LOG_LEVL: 'debug', EMOTION_AGENT_CACHE: '/tmp' } })).toEqual([
      'EMOTION_AGENT_LOG_LEVL: unknown environment variable, no configuration key has this name',
    ]);
  });

  it('the message lists every problem as key: problem, and exits 78 via CliError', () => {
    try {
      loadConfig({ file: configFile({ bogus: 1, tracker: { minHits: 0 } }), env: {} });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toMatch(
        /^invalid configuration \(.*config-\d+\.json\):\n {2}tracker\.minHits: must be an integer 1\.\.10000 \(got 0\)\n {2}bogus: unknown key$/,
      );
    }
  });
});

describe('redaction and documentation', () => {
  it('redactConfig hides passwords and URL credentials, keeps the rest', () => {
    const secret = join(tmp, 'pw');
    writeFileSync(secret, 'hunter2\n');
    const cfg = loadConfig({
      env: {},
      file: configFile({
        cameras: [
          { ...rtsp, username: 'viewer', passwordFile: secret },
          { id: 'inline', source: 'rtsp://admin:hunter3@10.0.0.9/live' },
        ],
      }),
    });
    const shown = JSON.stringify(redactConfig(cfg));
    expect(shown).not.toMatch(/hunter/);
    expect(redactConfig(cfg).cameras[0]).toMatchObject({ username: 'viewer', password: '***', passwordFile: secret });
    expect(redactConfig(cfg).cameras[1]?.source).toBe('rtsp://***@10.0.0.9/live');
    expect(cfg.cameras[0]?.password).toBe('hunter2'); // the original is untouched
  });

  it('every key has a doc, a format and a default (or is required); renderConfigMarkdown lists them all', () => {
    const rows = configSchemaDoc();
    const md = renderConfigMarkdown();
    for (const r of rows) {
      expect(r.doc && r.format, r.key).toBeTruthy();
      expect(r.required || 'default' in r, r.key).toBe(true);
      expect(md, r.key).toContain(`| \`${r.key}\` |`);
      if (r.env) expect(md).toContain(r.env);
    }
    expect(rows.map((r) => r.key)).toEqual(
      expect.arrayContaining([
        'device.id',
        'inference.flipTta',
        'cameras',
        'cameras[].backoff.maxMs',
        'cameras[].roi.x',
        'sinks.jsonl.path',
        'shutdown.timeoutS',
      ]),
    );
    expect(rows.find((r) => r.key === 'tracker.minHits')?.env).toBe('EMOTION_AGENT_TRACKER_MIN_HITS');
  });

  it('docs/config.md is up to date (npx tsx scripts/gen-config-doc.ts)', () => {
    expect(readFileSync(join(ROOT, 'docs', 'config.md'), 'utf8')).toBe(renderConfigMarkdown());
  });

  it('gives every numeric key an upper bound, so absurd values are refused instead of disabling a camera or the watchdog', () => {
    const unbounded: string[] = [];
    const walk = (tree: Tree, at: string): void => {
      for (const path of configKeys(tree)) {
        const key = path.reduce<Tree | Key>((t, k) => (t as Tree)[k]!, tree) as Key;
        if (/^(integer|number)/.test(key.type.describe) && !/\.\.|≤/.test(key.type.describe))
          unbounded.push(`${at}${path.join('.')}`);
      }
    };
    walk(configTree(), '');
    walk(CAMERA_FIELDS, 'cameras[].');
    expect(unbounded).toEqual([]);
    const p = problems({
      file: configFile({
        aggregate: { windowS: 1e20 },
        cameras: [
          {
            id: 'a',
            source: 'rtsp://h/s',
            fps: 1e300,
            stallTimeoutS: 1e308,
            connectTimeoutS: 1e9,
            backoff: { resetAfterMs: 1e12 },
          },
        ],
      }),
    });
    for (const k of [
      'aggregate.windowS',
      'cameras[0].fps',
      'cameras[0].stallTimeoutS',
      'cameras[0].connectTimeoutS',
      'cameras[0].backoff.resetAfterMs',
    ]) {
      expect(
        p.some((x) => x.startsWith(`${k}:`)),
        `${k} in ${p.join('; ')}`,
      ).toBe(true);
    }
  });
});
