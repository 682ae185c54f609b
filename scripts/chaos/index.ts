// `npm run chaos -- --minutes N [--seed S] [--out FILE]`: the agent under seeded chaos (docs/health.md,
// "Chaos suite"). Prints a summary and writes the full JSON report; exits 1 when a window was lost
// without trace, a payload broke its schema, a planted secret showed up, or the agent crashed.
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ROOT } from '../../test/helpers/paths.js';
import { runChaos } from './run.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '2' },
    seed: { type: 'string' },
    out: { type: 'string' },
    clip: { type: 'string' },
    dir: { type: 'string' },
  },
});
const minutes = Number(values.minutes);
const seed = values.seed !== undefined ? Number(values.seed) : Date.now() % 100_000;
if (!(minutes > 0 && minutes <= 24 * 60) || !Number.isInteger(seed)) {
  console.error('chaos: --minutes must be a number > 0 (at most 1440), --seed an integer');
  process.exit(64);
}
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const dir = resolve(values.dir ?? join(ROOT, 'var', 'chaos', `${stamp}-seed${seed}`));
const out = resolve(values.out ?? join(dir, 'report.json'));
const report = await runChaos({
  minutes,
  seed,
  dir,
  clip: resolve(values.clip ?? join(ROOT, 'var', 'demo', 'demo.mp4')),
});
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
const line = (k: string, v: unknown): void => console.log(`${k.padEnd(28)} ${String(v)}`);
console.log(
  `chaos run: seed ${seed}, ${minutes} min, outbox on ${report.tmpfs ? 'a 2 MB tmpfs' : 'a plain folder (no tmpfs: disk-full episodes skipped)'}`,
);
line(
  'episodes',
  Object.entries(
    report.episodes.reduce<Record<string, number>>((a, e) => ({ ...a, [e.kind]: (a[e.kind] ?? 0) + 1 }), {}),
  )
    .map(([k, n]) => `${k} ${n}`)
    .join(', '),
);
line('windows produced', report.produced);
line('delivered', report.delivered);
line('dropped and reported', report.droppedAndReported);
line('still queued in the outbox', report.stillQueued);
line('LOST WITHOUT TRACE', report.lostWithoutTrace);
line('duplicates (same seq)', report.duplicates);
line('seq gaps', report.seqGaps);
line('schema-invalid payloads', report.schemaInvalid.length);
line('secrets seen', report.secretsSeen.length);
line('crashes', report.crashes.length);
line('agent starts', report.agentStarts);
line('max RSS (agent process)', `${report.maxRssMb} MB`);
line(
  'model pushes as expected',
  `${report.pushes.length - report.unexpectedPushOutcomes}/${report.pushes.length} (${report.pushes.map((p) => `${p.kind} ${p.end}`).join(', ')})`,
);
line('disk full → not ready', `${report.diskFullReadiness.notReady}/${report.diskFullReadiness.checked}`);
line('drained before stop', report.drained);
console.log(`report: ${out}`);
const failed =
  report.lostWithoutTrace > 0 ||
  report.schemaInvalid.length > 0 ||
  report.secretsSeen.length > 0 ||
  report.crashes.length > 0;
process.exit(failed ? 1 : 0);
