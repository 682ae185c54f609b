// `npm run bench`: prints tables and writes var/bench/results.json. Benchmarks measure; tests don't.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/models/defaults.js';
import { benchModels } from './models.js';

const photos = [1, 2, 3, 4, 5, 6].map((i) => join(PACKAGE_ROOT, 'node_modules', '@vladmandic', 'face-api', 'demo', `sample${i}.jpg`));
const results = {
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version },
  date: new Date().toISOString(),
  models: await benchModels(photos),
};
const out = join(PACKAGE_ROOT, 'var', 'bench');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwrote ${join(out, 'results.json')}`);
