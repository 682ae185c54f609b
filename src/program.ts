// The `emotion-agent` command line (the entry is src/cli.ts, the subcommands are in src/cli/). Subcommands
// are thin: each parses options, calls a module, and turns errors into one clear line and an exit code
// (src/cli/exit-codes.ts: 64 usage, 65 bad data, 66 missing input, 73 cannot create, 78 bad configuration, 1 other).
import { Command } from 'commander';
import { registerAnalyze } from './cli/analyze.js';
import { registerConfig } from './cli/config.js';
import { registerEvaluate } from './cli/evaluate.js';
import { EXIT } from './cli/exit-codes.js';
import { registerModels } from './cli/models.js';
import { registerRun } from './cli/run.js';
import { CliError } from './cli/util.js';
import { registerWatch } from './cli/watch.js';
import { ConfigError } from './config/index.js';
import { packageVersion } from './models/defaults.js';
import { ManifestError } from './models/manifest.js';

export function buildProgram(): Command {
  const program = new Command('emotion-agent')
    .description(
      'Edge agent: detects faces in camera streams and aggregates their facial expressions, on ONNX Runtime.',
    )
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    // Before any subcommand is added: subcommands copy this setting when they are created.
    .exitOverride();

  registerAnalyze(program);
  registerRun(program);
  registerConfig(program);
  registerEvaluate(program);
  registerModels(program); // and its old spelling `model`
  registerWatch(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message?: string };
    if (e.code?.startsWith('commander.')) {
      // commander already printed help/version/usage errors.
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help'
        ? EXIT.ok
        : EXIT.usage;
    }
    const code =
      err instanceof CliError || err instanceof ConfigError
        ? err.exitCode
        : err instanceof ManifestError
          ? EXIT.dataErr
          : EXIT.failure;
    console.error(`emotion-agent: ${e.message ?? String(err)}`);
    return code;
  }
}
