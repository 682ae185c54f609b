// The `emotion-agent` command line (the entry is src/cli.ts). Subcommands are thin: each parses options, calls a module, and
// turns errors into one clear line and an exit code (64 usage, 65 bad data, 66 missing input, 1 other).
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { Analyzer, analyzeSource, formatFrame, toJsonLine } from './analyze/analyze.js';
import { packageVersion } from './models/defaults.js';
import { ManifestError } from './models/manifest.js';
import { registerEvaluate } from './evaluate/command.js';
import { registerModels } from './models/command.js';
import { registerModel } from './models/model-command.js';
import { registerRun } from './run-command.js';
import { registerConfig } from './config/command.js';
import { registerWatch } from './mqtt/watch.js';
import { addInferenceOptions, CliError, nonNegativeInt, positiveNumber } from './cli-util.js';

export function buildProgram(): Command {
  const program = new Command('emotion-agent')
    .description('Edge agent: detects faces in camera streams and aggregates their facial expressions, on ONNX Runtime.')
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    // Before any subcommand is added: subcommands copy this setting when they are created.
    .exitOverride();

  addInferenceOptions(program.command('analyze')
    .description('Detect faces and classify their expression in an image, a video file or an rtsp:// stream')
    .argument('<input>', 'image (.jpg/.png…), video file, or stream URL')
    .option('--json', 'print one JSON object per frame (JSON lines)')
    .option('--annotate <out>', 'write boxes and labels: out.jpg (image, or last video frame) or out.mp4')
    .option('--fps <n>', 'analyse the video at this many frames per second (default: every frame)', positiveNumber)
    .option('--max-frames <n>', 'stop after this many frames', positiveNumber)
    .option('--detector <dir>', 'face detector bundle (default: the shipped one)')
    .option('--classifier <dir>', 'emotion classifier bundle (default: the shipped one)')
    .option('--score-threshold <p>', 'minimum face score (default: the bundle\'s)', Number)
    .option('--min-face <px>', 'ignore faces smaller than this many pixels high', nonNegativeInt)
    .option('--tta', 'average each face with its mirror image (slower, slightly more accurate)'))
    .action(async (input: string, o: { json?: boolean; annotate?: string; fps?: number; maxFrames?: number; detector?: string; classifier?: string; scoreThreshold?: number; minFace?: number; tta?: boolean; provider: 'cpu' | 'cuda' | 'tensorrt'; threads: number }) => {
      if (!/^[a-z]+:\/\//i.test(input) && !existsSync(input)) throw new CliError(`input not found: ${input}`, 66);
      const analyzer = await Analyzer.load({
        executionProvider: o.provider, threads: o.threads, flipTta: o.tta ?? false,
        ...(o.detector ? { detector: o.detector } : {}), ...(o.classifier ? { classifier: o.classifier } : {}),
        ...(o.scoreThreshold !== undefined ? { scoreThreshold: o.scoreThreshold } : {}),
        ...(o.minFace !== undefined ? { minFaceSize: o.minFace } : {}),
      });
      if (!o.json) console.error(`analyze: ${analyzer.detector.name} + ${analyzer.classifier.name} on ${o.provider}`);
      const ac = new AbortController();
      const stop = (): void => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const n = await analyzeSource(analyzer, input, {
          ...(o.annotate ? { annotate: o.annotate } : {}), ...(o.fps ? { fps: o.fps } : {}),
          ...(o.maxFrames ? { maxFrames: o.maxFrames } : {}), signal: ac.signal,
        }, (r) => console.log(o.json ? toJsonLine(r) : formatFrame(r)));
        if (!o.json) console.error(`analyze: ${n} frame(s)${o.annotate ? `, annotated output in ${o.annotate}` : ''}`);
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });

  registerRun(program);
  registerConfig(program);
  registerEvaluate(program);
  registerModels(program);
  registerModel(program);
  registerWatch(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message?: string };
    if (e.code?.startsWith('commander.')) {
      // commander already printed help/version/usage errors.
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? 0 : 64;
    }
    const code = err instanceof CliError ? err.exitCode : err instanceof ManifestError ? 65 : 1;
    console.error(`emotion-agent: ${e.message ?? String(err)}`);
    return code;
  }
}

