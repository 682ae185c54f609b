// `emotion-agent models <subcommand>`: every model bundle command in one group. `list` and `verify`
// look at the shipped bundles; `keygen`, `pack`, `sign`, `verify-signed`, `validate` and `push` are the
// operator's side of remote updates (docs/models.md, "Remote updates").
//
// `model <subcommand>` is the old spelling, kept so existing scripts and unit files keep working: the
// same subcommands, except that its `verify` is `models verify-signed` (the plural's `verify` was
// already the shipped-bundle check) and it has no `list`.
import type { Command } from 'commander';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSession, readBundle } from '../models/bundle.js';
import { MODELS_DIR } from '../models/defaults.js';
import { MANIFEST_FILE, type Task } from '../models/manifest.js';
import { registerPush } from './models-push.js';
import { registerKeygen, registerPack, registerSign, registerVerifySigned } from './models-signing.js';
import { registerValidate } from './models-validate.js';

type Register = (group: Command, name: string) => void;

/** Each subcommand of `models`, in --help order, with its name under the old spelling `model` (null: none). */
const SUBCOMMANDS: readonly { name: string; old: string | null; register: Register }[] = [
  { name: 'list', old: null, register: registerList },
  { name: 'verify', old: null, register: registerVerify },
  { name: 'keygen', old: 'keygen', register: registerKeygen },
  { name: 'pack', old: 'pack', register: registerPack },
  { name: 'sign', old: 'sign', register: registerSign },
  { name: 'verify-signed', old: 'verify', register: registerVerifySigned },
  { name: 'validate', old: 'validate', register: registerValidate },
  { name: 'push', old: 'push', register: registerPush },
];

export function registerModels(program: Command): void {
  const models = program
    .command('models')
    .description(
      'Model bundles: list and verify the shipped ones; keys, signing, validation and pushing for remote updates',
    );
  for (const s of SUBCOMMANDS) s.register(models, s.name);
  const model = program
    .command('model')
    .description(
      'Old spelling of `models` (keygen, pack, sign, verify, validate, push); its `verify` is `models verify-signed`',
    );
  for (const s of SUBCOMMANDS) if (s.old !== null) s.register(model, s.old);
}

function registerList(group: Command, name: string): void {
  group
    .command(name)
    .description('List the model bundles shipped under models/ and the default per task')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => {
      const defaults = JSON.parse(readFileSync(join(MODELS_DIR, 'defaults.json'), 'utf8')) as Record<Task, string>;
      const rows = readdirSync(MODELS_DIR, { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(join(MODELS_DIR, d.name, MANIFEST_FILE)))
        .map((d) => {
          const m = readBundle(join(MODELS_DIR, d.name)).manifest;
          return {
            dir: d.name,
            name: m.name,
            version: m.version,
            task: m.task,
            precision: m.precision,
            license: m.provenance.license,
            default: defaults[m.task] === d.name,
          };
        });
      if (o.json) console.log(JSON.stringify(rows, null, 2));
      else
        for (const r of rows)
          console.log(
            `${r.default ? '*' : ' '} ${r.dir.padEnd(22)} ${r.task.padEnd(19)} ${r.name}@${r.version} ${r.precision.padEnd(5)} ${r.license}`,
          );
    });
}

function registerVerify(group: Command, name: string): void {
  group
    .command(name)
    .description('Validate a bundle: manifest schema, file hashes, and the ONNX inputs/outputs against the manifest')
    .argument('<dir>', `bundle folder (model.onnx + ${MANIFEST_FILE})`)
    .action(async (dir: string) => {
      const bundle = readBundle(dir);
      const session = await createSession(bundle, { threads: 1 });
      await session.release();
      console.log(
        `ok: ${bundle.manifest.name}@${bundle.manifest.version} (${bundle.manifest.task}, ${bundle.manifest.precision})`,
      );
    });
}
