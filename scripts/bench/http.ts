// Latency of the health endpoint while the compiled daemon analyses at full load (4 cameras of the
// 1080p clip, or the demo clip): /healthz, /api/status and /metrics polled from this process, one
// request at a time, about 10 per second each, as a supervisor and a technician's page would.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { freePort } from '../../test/helpers/net.js';

export interface HttpBench {
  clip: string;
  cameras: number;
  requestsPerRoute: number;
  routes: Record<string, { p50Ms: number; p99Ms: number; maxMs: number; errors: number }>;
  analysedFps: number;
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
};

export async function benchHttp(
  bin: string,
  clip: string,
  cameras: number,
  seconds: number,
  baseEnv: NodeJS.ProcessEnv = process.env,
): Promise<HttpBench> {
  const port = await freePort();
  const cams = Array.from({ length: cameras }, (_, i) => ({ id: `cam${i}`, source: clip, loop: true, fps: 5 }));
  const env = {
    ...baseEnv,
    EMOTION_AGENT_CAMERAS: JSON.stringify(cams),
    EMOTION_AGENT_LOG_LEVEL: 'warn',
    EMOTION_AGENT_SINKS_JSONL_ENABLED: 'false',
    EMOTION_AGENT_HTTP_PORT: String(port),
  };
  const child = spawn(process.execPath, [bin, 'run'], { env, stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}`;
  try {
    // Ready = models loaded and every camera delivering: the load is on before measuring.
    const t0 = Date.now();
    while (
      (await fetch(`${base}/readyz`).then(
        (r) => r.status,
        () => 0,
      )) !== 200
    ) {
      if (Date.now() - t0 > 60_000) throw new Error('daemon not ready within 60 s');
      await new Promise((r) => setTimeout(r, 500));
    }
    await new Promise((r) => setTimeout(r, 3000));
    const routes = ['/healthz', '/api/status', '/metrics'];
    const times: Record<string, number[]> = Object.fromEntries(routes.map((r) => [r, []]));
    const errors: Record<string, number> = Object.fromEntries(routes.map((r) => [r, 0]));
    const status0 = (await (await fetch(`${base}/api/status`)).json()) as { cameras: { framesAnalysed: number }[] };
    const start = performance.now();
    const until = start + seconds * 1000;
    while (performance.now() < until) {
      const tick = performance.now();
      for (const route of routes) {
        const t = performance.now();
        try {
          const res = await fetch(`${base}${route}`);
          await res.arrayBuffer();
          if (res.status !== 200) errors[route]!++;
          times[route]!.push(performance.now() - t);
        } catch {
          errors[route]!++;
        }
      }
      await new Promise((r) => setTimeout(r, Math.max(0, 100 - (performance.now() - tick))));
    }
    const wall = (performance.now() - start) / 1000;
    const status1 = (await (await fetch(`${base}/api/status`)).json()) as { cameras: { framesAnalysed: number }[] };
    const analyzed = (s: typeof status0): number => s.cameras.reduce((a, c) => a + c.framesAnalysed, 0);
    return {
      clip,
      cameras,
      requestsPerRoute: times['/healthz']!.length,
      routes: Object.fromEntries(
        routes.map((r) => [
          r,
          { p50Ms: pct(times[r]!, 50), p99Ms: pct(times[r]!, 99), maxMs: Math.max(...times[r]!), errors: errors[r]! },
        ]),
      ),
      analysedFps: (analyzed(status1) - analyzed(status0)) / wall,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}
