// `emotion-agent analyze`: faces and expressions in one image, video file or stream, in this thread,
// printed per frame (text or JSON lines) and optionally drawn onto a copy of the input.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { Analyzer, analyzeSource, formatFrame, toJsonLine } from '../analyze/analyze.js';
import { EXIT } from './exit-codes.js';
import { addInferenceOptions, CliError, nonNegativeInt, positiveNumber } from './util.js';
import type { ExecutionProvider } from '../models/providers.js';

export function registerAnalyze(program: Command): void {
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
    .action(async (input: string, o: { json?: boolean; annotate?: string; fps?: number; maxFrames?: number; detector?: string; classifier?: string; scoreThreshold?: number; minFace?: number; tta?: boolean; provider: ExecutionProvider; threads: number }) => {
      if (!/^[a-z]+:\/\//i.test(input) && !existsSync(input)) throw new CliError(`input not found: ${input}`, EXIT.noInput);
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
}
