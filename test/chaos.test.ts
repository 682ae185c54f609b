// A short seeded chaos run in CI (issue 13): one minute of the real daemon under broker restarts, a
// flapping RTSP camera, a silent camera, a full outbox disk (when a tmpfs can be mounted), SIGKILLs and
// signed model pushes (scripts/chaos, docs/health.md "Chaos suite"). Nothing may be lost without trace,
// every payload must match its schema, no planted secret may show, and the agent must not crash.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ChaosReport } from '../scripts/chaos/run.js';
import { ROOT, TSX } from './helpers/paths.js';

const tmp = mkdtempSync(join(tmpdir(), 'ea-chaos-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('chaos suite', () => {
  it('one seeded minute (seed 21: disk full, SIGKILL, broker restart, camera loss first): nothing lost without trace, no invalid payload, no secret, no crash', () => {
    const out = join(tmp, 'report.json');
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        TSX,
        join(ROOT, 'scripts', 'chaos', 'index.ts'),
        '--minutes',
        '1',
        '--seed',
        '21',
        '--out',
        out,
        '--dir',
        join(tmp, 'run'),
      ],
      { encoding: 'utf8', timeout: 840_000 },
    );
    const report = JSON.parse(readFileSync(out, 'utf8')) as ChaosReport;
    const why = `${r.stdout}\n${r.stderr.slice(-3000)}`;
    expect(report.produced, why).toBeGreaterThan(0);
    expect(report.delivered, why).toBeGreaterThan(0);
    expect(report.lostWithoutTrace, why).toBe(0);
    expect(report.schemaInvalid, why).toEqual([]);
    expect(report.secretsSeen, why).toEqual([]);
    expect(report.crashes, why).toEqual([]);
    expect(report.episodes.length, why).toBeGreaterThan(0);
    expect(r.status, why).toBe(0);
  }, 900_000);
});
