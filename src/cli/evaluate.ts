// `emotion-agent evaluate`: judge a model bundle on labelled data before it goes to devices.
import { Option, type Command } from 'commander';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EXIT } from './exit-codes.js';
import { addInferenceOptions, CliError, nonNegativeInt, positiveNumber } from './util.js';
import { loadModel } from '../inference/analyzer.js';
import { defaultBundleDir } from '../models/defaults.js';
import type { ExecutionProvider } from '../models/providers.js';
import type { Fer2013Usage } from '../evaluate/datasets.js';
import { renderDetectorReportHtml, renderEmotionReportHtml } from '../evaluate/report-html.js';
import { evaluateDetector, evaluateEmotion } from '../evaluate/run.js';

interface EvalOpts {
  data: string;
  model?: string;
  detector?: boolean;
  minFace: number;
  out: string;
  json?: boolean;
  usage?: Fer2013Usage;
  batch: number;
  limit?: number;
  tta?: boolean;
  provider: ExecutionProvider;
  threads: number;
}

function pct(v: number | null): string {
  return v === null ? 'n/a' : `${(v * 100).toFixed(2)}%`;
}

export function registerEvaluate(program: Command): void {
  addInferenceOptions(
    program
      .command('evaluate')
      .description(
        'Evaluate an emotion classifier (default) or, with --detector, a face detector, and write report.json + report.html',
      )
      .requiredOption(
        '--data <path>',
        'emotion: a folder with one subfolder per class, or fer2013.csv; detector: boxes.jsonl',
      )
      .option('--model <dir>', 'model bundle to evaluate (default: the shipped one for the task)')
      .option('--detector', 'evaluate a face detector (AP@0.5 WIDER-style) instead of an emotion classifier')
      .option('--min-face <px>', 'detector: faces lower than this are ignored', nonNegativeInt, 40)
      .option('--out <dir>', 'where report.json and report.html are written', 'evaluation-report')
      .option('--json', 'print the report object on stdout (progress goes to stderr)')
      .addOption(
        new Option('--usage <split>', 'fer2013.csv: only rows of this Usage').choices([
          'Training',
          'PublicTest',
          'PrivateTest',
        ]),
      )
      .option('--batch <n>', 'emotion: faces per ONNX Runtime run', positiveNumber, 32)
      .option('--tta', 'emotion: average each face with its mirror image')
      .option('--limit <n>', 'only the first n samples/images (quick checks)', positiveNumber),
  ).action(async (o: EvalOpts) => {
    if (!existsSync(o.data)) throw new CliError(`evaluation data not found: ${o.data}`, EXIT.noInput);
    if (o.detector && statSync(o.data).isDirectory())
      throw new CliError(`--detector needs a boxes.jsonl file, ${o.data} is a folder`, EXIT.usage);
    const session = { executionProvider: o.provider, threads: o.threads };
    const fallbacks: string[] = []; // as before, a model that falls back to the CPU runs there silently
    const progress = (done: number, total: number): void => {
      if (process.stderr.isTTY && (done % 50 === 0 || done === total)) process.stderr.write(`\r  ${done}/${total}`);
    };
    mkdirSync(o.out, { recursive: true });
    const generatedAt = new Date().toISOString();
    if (o.detector) {
      const det = await loadModel('face-detector', o.model ?? defaultBundleDir('face-detector'), session, fallbacks);
      const ev = await evaluateDetector(det, o.data, {
        minFace: o.minFace,
        ...(o.limit ? { limit: o.limit } : {}),
        onProgress: progress,
      });
      const report = {
        kind: 'face-detector',
        model: det.name,
        modelPrecision: det.bundle.manifest.precision,
        data: resolve(o.data),
        generatedAt,
        ...ev,
      };
      writeFileSync(join(o.out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
      writeFileSync(
        join(o.out, 'report.html'),
        renderDetectorReportHtml(ev, {
          modelName: det.bundle.manifest.name,
          modelVersion: det.bundle.manifest.version,
          data: `${o.data} (faces >= ${o.minFace} px)`,
          generatedAt,
        }),
      );
      if (o.json) console.log(JSON.stringify(report));
      else {
        console.log(
          `${det.name} (${det.bundle.manifest.precision}) on ${o.data}: ${ev.images} images, ${ev.gtFaces} faces >= ${o.minFace} px`,
        );
        console.log(
          `  AP@0.5 ${pct(ev.ap50)}  recall ${pct(ev.recall)}  precision ${pct(ev.precision)} at score ${ev.scoreThreshold}  FP/image ${ev.fpPerImage.toFixed(2)}  ${ev.msPerImage.toFixed(1)} ms/image`,
        );
        console.log(`  report: ${join(o.out, 'report.html')}`);
      }
      return;
    }
    const clf = await loadModel(
      'emotion-classifier',
      o.model ?? defaultBundleDir('emotion-classifier'),
      { ...session, maxBatch: o.batch, flipTta: o.tta ?? false },
      fallbacks,
    );
    const rep = await evaluateEmotion(clf, o.data, {
      batch: o.batch,
      ...(o.usage ? { usage: o.usage } : {}),
      ...(o.limit ? { limit: o.limit } : {}),
      onProgress: progress,
    });
    if (process.stderr.isTTY) process.stderr.write('\n');
    const report = {
      kind: 'emotion-classifier',
      model: clf.name,
      modelPrecision: clf.bundle.manifest.precision,
      flipTta: o.tta ?? false,
      data: resolve(o.data),
      batch: o.batch,
      generatedAt,
      ...rep,
    };
    writeFileSync(join(o.out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(
      join(o.out, 'report.html'),
      renderEmotionReportHtml(rep, {
        modelName: clf.bundle.manifest.name,
        modelVersion: `${clf.bundle.manifest.version} (${clf.bundle.manifest.precision})`,
        data: o.data,
        generatedAt,
      }),
    );
    if (o.json) console.log(JSON.stringify(report));
    else {
      console.log(`${clf.name} (${clf.bundle.manifest.precision}) on ${o.data}: ${rep.samples} faces`);
      console.log(
        `  accuracy ${pct(rep.accuracy)}  macro-F1 ${rep.macroF1.toFixed(4)}  macro AUC ${rep.rocAuc.macro?.toFixed(4) ?? 'n/a'}  ${rep.msPerFace?.toFixed(3)} ms/face (batch ${o.batch})`,
      );
      for (const [label, m] of Object.entries(rep.perClass)) {
        console.log(
          `  ${label.padEnd(9)} P ${m.precision.toFixed(3)}  R ${m.recall.toFixed(3)}  F1 ${m.f1.toFixed(3)}  n=${m.support}  AUC ${rep.rocAuc[label]?.toFixed(3) ?? 'n/a'}`,
        );
      }
      console.log(`  report: ${join(o.out, 'report.html')}`);
    }
  });
}
