// The local HTTP server: /healthz, /readyz, /api/status, /api/history, /api/events (server-sent
// events), /metrics and the technician page (static files from web/). node:http, no framework: a
// handful of GET routes does not justify a dependency on a box that runs for months.
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { EventStreams } from './event-streams.js';
import type { WindowHistory } from './history.js';
import type { AgentMetrics } from './metrics.js';
import type { PreviewHub } from './preview.js';
import type { ApiStatus } from './status.js';
import { serveStatic } from './static.js';

export interface HealthServerOptions {
  host: string;
  port: number;
  /** Required for every route but /healthz (and the page's static files) when set. */
  token: string | null;
  /** How often the page's event stream gets a status snapshot. Default 1000 ms. */
  pushIntervalMs?: number;
  /** Most open event streams (pages); more get 503. Default 100. */
  maxEventStreams?: number;
  webDir: string;
}

export interface HealthParts {
  status: () => ApiStatus;
  readiness: () => { ready: boolean; reasons: string[] };
  history: WindowHistory;
  preview: PreviewHub;
  metrics: AgentMetrics;
}

export class HealthServer {
  private server: Server | undefined;
  private readonly streams: EventStreams;
  private readonly files = new Map<string, Buffer>();

  constructor(
    private readonly opts: HealthServerOptions,
    private readonly parts: HealthParts,
    private readonly log: Logger,
  ) {
    this.streams = new EventStreams(
      { maxStreams: opts.maxEventStreams ?? 100, intervalMs: opts.pushIntervalMs ?? 1000 },
      parts,
      log,
    );
  }

  /** Idempotent. Rejects when the address cannot be bound (EADDRINUSE, EACCES). */
  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => {
      void this.handle(req, res);
    });
    // A technician's browser keeps connections open; they must not hold up a shutdown.
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.log.error({ err }, 'http server error'));
    this.server = server;
    this.log.info({ url: this.url, auth: this.opts.token !== null }, 'health endpoint and technician page listening');
  }

  /** Open event streams and events skipped for backpressure. */
  eventStreamStats(): { open: number; skipped: number } {
    return { open: this.streams.size, skipped: this.streams.skipped };
  }

  get url(): string {
    const a = this.server?.address() as AddressInfo | null | undefined;
    const host = a ? (a.family === 'IPv6' ? `[${a.address}]` : a.address) : this.opts.host;
    return `http://${host}:${a?.port ?? this.opts.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.streams.closeAll();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const path = url.pathname;
      // Nothing here may be framed by another site (clickjacking the page, reading it through a frame).
      res.setHeader('x-frame-options', 'DENY');
      res.setHeader('content-security-policy', "frame-ancestors 'none'");
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return json(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
      // Liveness answers without a token: supervisors and Docker health checks have none.
      if (path === '/healthz') return json(res, 200, { status: 'ok' });
      // The page's files carry no data (everything comes from the API), so the browser can load them
      // and then ask the technician for the token.
      if (await serveStatic(this.opts.webDir, path, res, this.files)) return;
      if (!this.authorised(req))
        return json(
          res,
          401,
          { error: 'missing or wrong bearer token' },
          { 'www-authenticate': 'Bearer realm="emotion-agent"' },
        );
      switch (path) {
        case '/readyz': {
          const r = this.parts.readiness();
          return json(res, r.ready ? 200 : 503, r);
        }
        case '/api/status':
          return json(res, 200, this.parts.status());
        case '/api/history':
          return json(res, 200, this.parts.history.recent());
        case '/api/events': {
          if (this.streams.open(res, url.searchParams.get('preview') === '1')) return;
          return json(
            res,
            503,
            { error: `too many open event streams (${this.opts.maxEventStreams ?? 100}); close a page and retry` },
            { 'retry-after': '5' },
          );
        }
        case '/metrics': {
          res.writeHead(200, { 'content-type': this.parts.metrics.registry.contentType, 'cache-control': 'no-store' });
          res.end(await this.parts.metrics.text());
          return;
        }
        default:
          return json(res, 404, { error: `no route ${path}` });
      }
    } catch (err) {
      this.log.error({ err, url: req.url }, 'http request failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
      else res.end();
    }
  }

  private authorised(req: IncomingMessage): boolean {
    const token = this.opts.token;
    if (token === null) return true;
    // The scheme name is case-insensitive (RFC 7235 §2.1): "bearer x" is as good as "Bearer x".
    const m = /^bearer +(.+?) *$/i.exec(req.headers.authorization ?? '');
    if (!m) return false;
    const given = Buffer.from(m[1]!);
    const want = Buffer.from(token);
    return given.length === want.length && timingSafeEqual(given, want);
  }
}

function json(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(code, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(JSON.stringify(body));
}
