// The health server's defences (issue 13), over real HTTP on loopback: no framing by other sites, the
// bearer scheme case-insensitive, and 200 open pages: capped, served from one listener each (no
// MaxListenersExceededWarning), every open stream still gets every window.
import { request, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WindowHistory } from '../../src/health/history.js';
import { AgentMetrics } from '../../src/health/metrics.js';
import { PreviewHub } from '../../src/health/preview.js';
import { HealthServer } from '../../src/health/server.js';
import type { ApiStatus } from '../../src/health/status.js';
import { waitFor } from '../helpers/async.js';
import { ROOT } from '../helpers/paths.js';
import { testWindow } from '../helpers/windows.js';

const servers: HealthServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function serve(
  token: string | null,
  maxEventStreams?: number,
  o: { pushIntervalMs?: number; pad?: number } = {},
): Promise<{ url: string; history: WindowHistory; server: HealthServer }> {
  const history = new WindowHistory();
  const status = (): ApiStatus =>
    ({ version: 'test', cameras: [], pad: 'x'.repeat(o.pad ?? 0) }) as unknown as ApiStatus;
  const server = new HealthServer(
    {
      host: '127.0.0.1',
      port: 0,
      token,
      webDir: `${ROOT}/web`,
      ...(maxEventStreams ? { maxEventStreams } : {}),
      ...(o.pushIntervalMs ? { pushIntervalMs: o.pushIntervalMs } : {}),
    },
    {
      status,
      readiness: () => ({ ready: true, reasons: [] }),
      history,
      preview: new PreviewHub(false, 1, 64),
      metrics: new AgentMetrics(status, false),
    },
    pino({ level: 'silent' }),
  );
  await server.start();
  servers.push(server);
  return { url: server.url, history, server };
}

const get = async (url: string, headers: Record<string, string> = {}): Promise<Response> => fetch(url, { headers });

/** An event stream held open; `text` grows as events arrive. */
function openStream(url: string): Promise<{ res: IncomingMessage; text: () => string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/api/events`, { agent: false }, (res) => {
      let text = '';
      res.on('data', (b: Buffer) => {
        text += b.toString();
      });
      resolve({ res, text: () => text });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('health server hardening', () => {
  it('forbids framing on the page, its files and the API', async () => {
    const { url } = await serve(null);
    for (const path of ['/', '/app.js', '/api/status', '/healthz', '/nope']) {
      const res = await get(`${url}${path}`);
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      expect(res.headers.get('content-security-policy'), path).toMatch(/frame-ancestors 'none'/);
    }
  });

  it('accepts the bearer scheme in any case, and nothing else', async () => {
    const { url } = await serve('s3cret-token');
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR'])
      expect((await get(`${url}/api/status`, { authorization: `${scheme} s3cret-token` })).status, scheme).toBe(200);
    expect((await get(`${url}/api/status`, { authorization: 'Basic s3cret-token' })).status).toBe(401);
    expect((await get(`${url}/api/status`, { authorization: 'Bearer wrong-token!' })).status).toBe(401);
    expect((await get(`${url}/api/status`)).status).toBe(401);
  });

  it('200 pages: the first 100 streams are served, the rest get 503, no listener warning, every stream gets each window', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w.name);
    };
    process.on('warning', onWarning);
    try {
      const { url, history } = await serve(null, 100);
      const streams = await Promise.all(Array.from({ length: 200 }, () => openStream(url)));
      const codes = streams.map((s) => s.res.statusCode);
      expect(codes.filter((c) => c === 200)).toHaveLength(100);
      expect(codes.filter((c) => c === 503)).toHaveLength(100);
      const open = streams.filter((s) => s.res.statusCode === 200);
      await history.write(testWindow(7, 'door'));
      await waitFor(
        () => open.every((s) => s.text().includes('event: window') && s.text().includes('"cameraId":"door"')),
        10_000,
        'the window on every stream',
      );
      for (const s of streams) s.res.destroy();
      // A closed page frees its place.
      await waitFor(
        async () =>
          (await openStream(url).then((s) => {
            s.res.destroy();
            return s.res.statusCode;
          })) === 200,
        10_000,
        'a free place',
      );
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((n) => n === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  }, 30_000);

  it('a page that stops reading gets no more status events until it drains (backpressure), instead of the agent buffering them', async () => {
    const { url, server } = await serve(null, 10, { pushIntervalMs: 5, pad: 256 * 1024 });
    const sock = connect(Number(new URL(url).port), '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write('GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n');
    sock.pause(); // a stalled browser tab: the kernel buffers fill, then Node's
    await waitFor(() => server.eventStreamStats().skipped > 0, 20_000, 'status events skipped for a stalled stream');
    expect(server.eventStreamStats().open).toBe(1);
    sock.destroy();
    await waitFor(() => server.eventStreamStats().open === 0, 10_000, 'the stream closed');
  }, 30_000);
});
