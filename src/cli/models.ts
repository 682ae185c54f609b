// `emotion-agent models list|verify`: what is shipped, and whether a bundle is sound.
import type { Command } from 'commander';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSession, readBundle } from '../models/bundle.js';
import { MODELS_DIR } from '../models/defaults.js';
import { MANIFEST_FILE, type Task } from '../models/manifest.js';

export function registerModels(program: Command): void {
  const models = program.command('models').description('List the shipped model bundles or verify one');
  models.command('list')
    .description('List the model bundles shipped under models/ and the default per task')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => {
      const defaults = JSON.parse(readFileSync(join(MODELS_DIR, 'defaults.json'), 'utf8')) as Record<Task, string>;
      const rows = readdirSync(MODELS_DIR, { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(join(MODELS_DIR, d.name, MANIFEST_FILE)))
        .map((d) => {
          const m = readBundle(join(MODELS_DIR, d.name)).manifest;
          return { dir: d.name, name: m.name, version: m.version, task: m.task, precision: m.precision, license: m.provenance.license, default: defaults[m.task] === d.name };
        });
      if (o.json) console.log(JSON.stringify(rows, null, 2));
      else for (const r of rows) console.log(`${r.default ? '*' : ' '} ${r.dir.padEnd(22)} ${r.task.padEnd(19)} ${r.name}@${r.version} ${r.precision.padEnd(5)} ${r.license}`);
    });
  models.command('verify')
    .description('Validate a bundle: manifest schema, file hashes, and the ONNX inputs/outputs against the manifest')
    .argument('<dir>', `bundle folder (model.onnx + ${MANIFEST_FILE})`)
    .action(async (dir: string) => {
      const bundle = readBundle(dir);
      const session = await createSession(bundle, { threads: 1 });
      await session.release();
      console.log(`ok: ${bundle.manifest.name}@${bundle.manifest.version} (${bundle.manifest.task}, ${bundle.manifest.precision})`);
    });
}
