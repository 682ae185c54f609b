// The technician page's files, shipped in the package under web/ (no build step, no CDN: a kiosk
// may have no internet, and nothing here may be fetched from elsewhere at run time).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

/** Serves one of the page's files; false when `path` is not one (a fixed list: no path traversal). */
export async function serveStatic(
  dir: string,
  path: string,
  res: ServerResponse,
  cache: Map<string, Buffer>,
): Promise<boolean> {
  const f = FILES[path];
  if (!f) return false;
  // Read once: the files ship with the package and do not change while it runs.
  let body = cache.get(f.file);
  if (!body) {
    body = await readFile(join(dir, f.file));
    cache.set(f.file, body);
  }
  res.writeHead(200, {
    'content-type': f.type,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    // Everything the page needs is same-origin; preview images arrive as data: URLs.
    'content-security-policy':
      "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  });
  res.end(body);
  return true;
}
