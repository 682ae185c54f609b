// `emotion-agent models validate <dir> --task …`: the device's pre-activation check as a command, so the
// agent runs it in a child process (ONNX Runtime blocks its thread) and operators can run it by hand.
// Prints one JSON line (ValidationResult); exit 0 when valid, 65 when not.
import { Option, type Command } from 'commander';
import { EXIT } from './exit-codes.js';
import { CliError, positiveNumber } from './util.js';
import type { Task } from '../models/manifest.js';
import { validateCandidate } from '../models/validate-candidate.js';

export function registerValidate(group: Command, name: string): void {
  group
    .command(name)
    .description(
      'Load a bundle in ONNX Runtime and check it for a task: inputs/outputs/labels, golden vectors, NaN/constant outputs, latency against a baseline bundle',
    )
    .argument('<dir>', 'bundle folder')
    .addOption(
      new Option('--task <task>', 'the task it must serve')
        .choices(['face-detector', 'emotion-classifier'])
        .makeOptionMandatory(),
    )
    .option(
      '--baseline <dir>',
      'the serving bundle: refuse when the candidate is slower than --latency-multiple times it',
    )
    .option('--latency-multiple <x>', 'largest allowed latency ratio to the baseline', positiveNumber, 3)
    .action(async (dir: string, o: { task: Task; baseline?: string; latencyMultiple: number }) => {
      const r = await validateCandidate(dir, {
        task: o.task,
        latencyMultiple: o.latencyMultiple,
        ...(o.baseline ? { baseline: o.baseline } : {}),
      });
      console.log(JSON.stringify(r));
      if (!r.ok) throw new CliError(`model validate: ${r.error ?? 'invalid'}`, EXIT.dataErr);
    });
}
