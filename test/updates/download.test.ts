// Model file downloads against a real HTTPS server with a self-signed CA: resume with Range after a
// cut, a bearer token, refusal of more bytes than the manifest says, no retry on 4xx, and a CA that
// is not trusted.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { download } from '../../src/updates/download.js';
import { readCa } from '../../src/updates/fetch-bundle.js';
import { HttpsFiles } from '../helpers/https-files.js';

const root = mkdtempSync(join(tmpdir(), 'ea-download-'));
let server: HttpsFiles;
const bytes = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7) % 251));
beforeAll(async () => {
  server = await HttpsFiles.start();
}, 60_000);
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
const get = (path: string, o: { size?: number; token?: string; ca?: string[] | undefined } = {}): Promise<void> =>
  download({
    url: `${server.url}${path}`,
    size: o.size ?? bytes.length,
    dest: join(root, `f${n++}`),
    deadline: Date.now() + 20_000,
    signal: new AbortController().signal,
    ...('ca' in o ? (o.ca ? { ca: o.ca } : {}) : { ca: readCa(server.caFile)! }),
    ...(o.token ? { token: o.token } : {}),
    attempts: 3,
  });

describe('download', () => {
  it('resumes a cut transfer with a Range request and ends with the exact bytes', async () => {
    server.put('/cut', { bytes, cutFirst: true, token: 't0k' });
    const dest = join(root, `f${n}`);
    await get('/cut', { token: 't0k' });
    expect(readFileSync(dest).equals(bytes)).toBe(true);
    const reqs = server.requests.filter((r) => r.path === '/cut');
    expect(reqs.map((r) => r.status)).toEqual([200, 206]);
    expect(reqs[1]!.range).toMatch(/^bytes=\d+-$/);
  });

  it('refuses a file larger than the manifest says', async () => {
    server.put('/big', { bytes });
    await expect(get('/big', { size: 1000 })).rejects.toThrow(/oversize: more than the manifest's 1000 bytes/);
  });

  it('does not retry a refused token', async () => {
    server.put('/secret', { bytes, token: 'right' });
    const before = server.requests.length;
    await expect(get('/secret', { token: 'wrong' })).rejects.toThrow(/HTTP 401/);
    expect(server.requests.length - before).toBe(1);
  });

  it('does not trust a server whose CA is not configured', async () => {
    server.put('/plain', { bytes });
    await expect(get('/plain', { ca: undefined })).rejects.toThrow(/self-signed|certificate/i);
  });
});
