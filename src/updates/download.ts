// Downloads one bundle file over http(s) into the staging folder: bounded in size (the manifest's size,
// never more) and in time (one deadline for the whole update), retried with a short backoff, and resumed
// with a Range request from what is already on disk, so a flaky kiosk uplink does not restart 20 MB from
// zero. The hash is checked later by verifyBundleDir, on the complete file.
import { createWriteStream, existsSync, statSync, truncateSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { redactUrl } from '../config/redact-url.js';

export interface DownloadOptions {
  url: string;
  /** Sent as `Authorization: Bearer …`; never logged. */
  token?: string;
  /** Exact size the manifest promises: more is refused, less is resumed. */
  size: number;
  dest: string;
  deadline: number;
  signal: AbortSignal;
  /** Extra CAs (PEM) for https, beside the system ones. */
  ca?: string[];
  attempts?: number;
  onBytes?: (have: number) => void;
}

export class DownloadError extends Error {}

/** URLs in messages: no credentials, and no query (it may carry a signed token). */
const redact = (url: string): string => redactUrl(url).replace(/\?.*$/, '?…');

/** One request: appends to dest from `have` bytes on. Resolves with the bytes on disk afterwards. */
function fetchPart(o: DownloadOptions, have: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(o.url);
    const headers: Record<string, string> = { 'user-agent': 'emotion-agent' };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    if (have > 0) headers.range = `bytes=${have}-`;
    const opts = {
      method: 'GET',
      headers,
      signal: o.signal,
      timeout: Math.max(1000, o.deadline - Date.now()),
      ...(u.protocol === 'https:' && o.ca ? { ca: o.ca } : {}),
    };
    const onResponse = (res: IncomingMessage): void => {
      const status = res.statusCode ?? 0;
      if (status !== 200 && status !== 206) {
        res.resume();
        const err = new DownloadError(`${redact(o.url)}: HTTP ${status}`);
        // 4xx (bad token, missing file) will not get better by retrying.
        (err as DownloadError & { permanent?: boolean }).permanent =
          status >= 400 && status < 500 && status !== 408 && status !== 429;
        return reject(err);
      }
      // 200 to a range request: the server ignores ranges, start over.
      const from = status === 206 ? have : 0;
      if (from === 0 && have > 0) truncateSync(o.dest, 0);
      const out = createWriteStream(o.dest, { flags: from === 0 ? 'w' : 'a' });
      let got = from;
      res.on('data', (chunk: Buffer) => {
        got += chunk.length;
        if (got > o.size) {
          res.destroy(new DownloadError(`${redact(o.url)}: oversize: more than the manifest's ${o.size} bytes`));
          return;
        }
        o.onBytes?.(got);
      });
      res.once('error', (e) => out.destroy(e));
      out.once('error', reject);
      out.once('close', () => resolve(existsSync(o.dest) ? statSync(o.dest).size : 0));
      res.pipe(out);
    };
    const req =
      u.protocol === 'https:'
        ? httpsRequest(u, opts, onResponse)
        : u.protocol === 'http:'
          ? httpRequest(u, opts, onResponse)
          : null;
    if (!req)
      return reject(
        Object.assign(new DownloadError(`${redact(o.url)}: only http:// and https:// URLs are supported`), {
          permanent: true,
        }),
      );
    req.once('timeout', () => req.destroy(new DownloadError(`${redact(o.url)}: timed out`)));
    req.once('error', reject);
    req.end();
  });
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((r) => {
    const t = setTimeout(r, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        r();
      },
      { once: true },
    );
  });

/** Downloads until the file has exactly `size` bytes; throws with the last cause after the attempts. */
export async function download(o: DownloadOptions): Promise<void> {
  const attempts = o.attempts ?? 5;
  let last: Error | undefined;
  for (let i = 0; i < attempts; i++) {
    if (o.signal.aborted) throw new DownloadError('download cancelled');
    if (Date.now() >= o.deadline)
      throw new DownloadError(
        `${redact(o.url)}: download time limit reached (models.update.downloadTimeoutS)${last ? `; last error: ${last.message}` : ''}`,
      );
    const have = existsSync(o.dest) ? statSync(o.dest).size : 0;
    if (have === o.size) return;
    try {
      const now = await fetchPart(o, have);
      if (now === o.size) return;
      if (now > o.size)
        throw Object.assign(new DownloadError(`${redact(o.url)}: oversize: more than the manifest's ${o.size} bytes`), {
          permanent: true,
        });
      last = new DownloadError(`${redact(o.url)}: connection ended after ${now} of ${o.size} bytes`);
    } catch (err) {
      last = err as Error;
      if ((err as { permanent?: boolean }).permanent || /oversize/.test(last.message)) throw last;
    }
    await sleep(Math.min(5000, 250 * 2 ** i), o.signal);
  }
  throw new DownloadError(`${last?.message ?? 'download failed'} (after ${attempts} attempts)`);
}
