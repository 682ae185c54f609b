// Shared pieces of the command line: the error type that carries an exit code, option parsers.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { EXIT } from './exit-codes.js';
import { CPU_PROVIDER, EXECUTION_PROVIDERS } from '../models/providers.js';

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
  }
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`"${value}" is not a positive number`);
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`"${value}" is not a whole number >= 0`);
  return n;
}

export function addInferenceOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--provider <name>', 'ONNX Runtime execution provider')
        .choices(EXECUTION_PROVIDERS)
        .default(CPU_PROVIDER),
    )
    .option('--threads <n>', 'ONNX Runtime intra-op threads (0 = automatic)', nonNegativeInt, 0);
}
