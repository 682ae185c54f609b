// A local HTTPS file server for model downloads, with its own CA made by openssl at test time: serves
// registered files by path, honours Range (206), checks an optional bearer token, can cut the first
// response of a file halfway (to exercise resume), and records every request.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Served {
  bytes: Buffer;
  token?: string;
  cutFirst?: boolean;
}

export class HttpsFiles {
  readonly requests: { path: string; range: string | undefined; status: number }[] = [];
  private readonly files = new Map<string, Served & { served: number }>();
  private constructor(
    private readonly server: Server,
    readonly caFile: string,
    private readonly dir: string,
  ) {}

  static async start(): Promise<HttpsFiles> {
    const dir = mkdtempSync(join(tmpdir(), 'ea-https-'));
    const run = (...args: string[]): void => {
      execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    };
    run(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=emotion-agent test CA',
    );
    run(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      '/CN=127.0.0.1',
    );
    writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    run(
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.pem',
      '-days',
      '2',
      '-extfile',
      'ext.cnf',
    );
    const server = createServer({
      key: readFileSync(join(dir, 'server.key')),
      cert: readFileSync(join(dir, 'server.pem')),
    });
    const self = new HttpsFiles(server, join(dir, 'ca.pem'), dir);
    server.on('request', (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) =>
      self.handle(req.url ?? '/', req.headers, res),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return self;
  }

  get url(): string {
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Serves `bytes` at `/path`. */
  put(path: string, f: Served): void {
    this.files.set(path, { ...f, served: 0 });
  }

  private handle(
    path: string,
    headers: Record<string, string | string[] | undefined>,
    res: import('node:http').ServerResponse,
  ): void {
    const f = this.files.get(path);
    const range = typeof headers.range === 'string' ? headers.range : undefined;
    const log = (status: number): void => {
      this.requests.push({ path, range, status });
    };
    if (!f) {
      log(404);
      res.writeHead(404).end();
      return;
    }
    if (f.token && headers.authorization !== `Bearer ${f.token}`) {
      log(401);
      res.writeHead(401).end();
      return;
    }
    const m = range ? /^bytes=(\d+)-$/.exec(range) : null;
    const from = m ? Number(m[1]) : 0;
    const body = f.bytes.subarray(from);
    log(m ? 206 : 200);
    res.writeHead(m ? 206 : 200, {
      'content-length': body.length,
      ...(m ? { 'content-range': `bytes ${from}-${f.bytes.length - 1}/${f.bytes.length}` } : {}),
    });
    f.served += 1;
    if (f.cutFirst && f.served === 1) {
      // Half the file, then the connection drops: the client must resume with a Range request.
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.destroy());
      return;
    }
    res.end(body);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
