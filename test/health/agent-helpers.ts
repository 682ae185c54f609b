// An in-process agent with its health endpoint on a free port, for the health tests.
import { Agent } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { memoryLogger } from '../helpers/async.js';

/** In-process inference (several agents per test file), windows only to the health history. */
export function healthAgent(
  cameras: unknown[],
  over: Record<string, string> = {},
  env: NodeJS.ProcessEnv = {},
  lines: string[] = [],
): Agent {
  const cfg = loadConfig({
    env: { EMOTION_AGENT_CAMERAS: JSON.stringify(cameras), ...env },
    argvOverrides: { 'sinks.jsonl.enabled': 'false', 'inference.threads': '1', 'http.port': '0', ...over },
  });
  return new Agent(cfg, memoryLogger(lines), { inProcessInference: true });
}

export async function get(
  url: string,
  token?: string,
): Promise<{ status: number; body: string; json: () => unknown; headers: Headers }> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const body = await res.text();
  return { status: res.status, body, json: () => JSON.parse(body) as unknown, headers: res.headers };
}
