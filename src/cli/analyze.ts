// `emotion-agent analyze`: faces and expressions in one image, video file or stream, in this thread,
// printed per frame (text or JSON lines) and optionally drawn onto a copy of the input. The frames go
// through the daemon's inference engine (src/inference/), without its quality gate: every face found
// is classified.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { extname } from 'node:path';
import { isStreamUrl, probeVideo, readFrames } from '../capture/ffmpeg.js';
import { redactString } from '../config/redact-url.js';
import type { InferenceEngine } from '../inference/engine.js';
import { InProcessEngine } from '../inference/in-process.js';
import { CANONICAL_LABELS } from '../models/manifest.js';
import { annotateFrame, VideoWriter } from '../vision/annotate.js';
import { emotionOf, type Emotion } from '../vision/classifier.js';
import type { Face } from '../vision/detector.js';
import { readImage, writeImage, type Frame } from '../vision/image.js';
import { detectorCopyBox } from '../vision/preprocess.js';
import type { QualityOptions } from '../vision/quality-options.js';
import { EXIT } from './exit-codes.js';
import { addInferenceOptions, CliError, nonNegativeInt, positiveNumber } from './util.js';
import type { ExecutionProvider } from '../models/providers.js';

export function registerAnalyze(program: Command): void {
  addInferenceOptions(
    program
      .command('analyze')
      .description('Detect faces and classify their expression in an image, a video file or an rtsp:// stream')
      .argument('<input>', 'image (.jpg/.png…), video file, or stream URL')
      .option('--json', 'print one JSON object per frame (JSON lines)')
      .option('--annotate <out>', 'write boxes and labels: out.jpg (image, or last video frame) or out.mp4')
      .option('--fps <n>', 'analyse the video at this many frames per second (default: every frame)', positiveNumber)
      .option('--max-frames <n>', 'stop after this many frames', positiveNumber)
      .option('--detector <dir>', 'face detector bundle (default: the shipped one)')
      .option('--classifier <dir>', 'emotion classifier bundle (default: the shipped one)')
      .option('--score-threshold <p>', "minimum face score (default: the bundle's)", Number)
      .option('--min-face <px>', 'ignore faces smaller than this many pixels high', nonNegativeInt)
      .option('--tta', 'average each face with its mirror image (slower, slightly more accurate)'),
  ).action(
    async (
      input: string,
      o: {
        json?: boolean;
        annotate?: string;
        fps?: number;
        maxFrames?: number;
        detector?: string;
        classifier?: string;
        scoreThreshold?: number;
        minFace?: number;
        tta?: boolean;
        provider: ExecutionProvider;
        threads: number;
      },
    ) => {
      if (!/^[a-z]+:\/\//i.test(input) && !existsSync(input))
        throw new CliError(`input not found: ${input}`, EXIT.noInput);
      const engine = await InProcessEngine.load({
        executionProvider: o.provider,
        threads: o.threads,
        flipTta: o.tta ?? false,
        quality: NO_QUALITY_GATE,
        ...(o.detector ? { detector: o.detector } : {}),
        ...(o.classifier ? { classifier: o.classifier } : {}),
        ...(o.scoreThreshold !== undefined ? { scoreThreshold: o.scoreThreshold } : {}),
        ...(o.minFace !== undefined ? { minFaceSize: o.minFace } : {}),
      });
      if (!o.json) console.error(`analyze: ${engine.models.detector} + ${engine.models.classifier} on ${o.provider}`);
      const copyBox = engine.detectorInput && detectorCopyBox(engine.detectorInput);
      const ac = new AbortController();
      const stop = (): void => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const n = await analyzeSource(
          engine,
          input,
          {
            ...(o.annotate ? { annotate: o.annotate } : {}),
            ...(o.fps ? { fps: o.fps } : {}),
            ...(o.maxFrames ? { maxFrames: o.maxFrames } : {}),
            signal: ac.signal,
            ...(copyBox ? { detectorCopy: copyBox } : {}),
          },
          (r) => console.log(o.json ? toJsonLine(r) : formatFrame(r)),
        );
        if (!o.json) console.error(`analyze: ${n} frame(s)${o.annotate ? `, annotated output in ${o.annotate}` : ''}`);
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        await engine.stop();
      }
    },
  );
}

/** `analyze` reports every face the detector keeps (--min-face, --score-threshold), as it always did. */
const NO_QUALITY_GATE: QualityOptions = { minFaceSize: 0, minSharpness: 0, maxYawDeg: Infinity, maxPitchDeg: Infinity };

interface FaceResult extends Face {
  emotion: Emotion;
}

interface FrameResult {
  frame: number;
  timeMs: number;
  width: number;
  height: number;
  faces: FaceResult[];
}

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff']);

interface AnalyzeRunOptions {
  annotate?: string;
  fps?: number;
  maxFrames?: number;
  signal?: AbortSignal;
  /** The box of the detector's input: FFmpeg scales a copy of each video frame into it. */
  detectorCopy?: { width: number; height: number };
}

/** The faces of one frame with their most probable expression. */
async function facesOf(engine: Pick<InferenceEngine, 'analyze'>, frame: Frame): Promise<FaceResult[]> {
  const { faces } = await engine.analyze(frame, undefined, 0);
  // Without the quality gate every face is classified: probabilities are never null here.
  return faces.map((f) => ({
    box: f.box,
    score: f.score,
    ...(f.landmarks ? { landmarks: f.landmarks } : {}),
    emotion: emotionOf(f.probabilities!),
  }));
}

/** Analyses `input`, calling `onFrame` per analysed frame. */
async function analyzeSource(
  engine: Pick<InferenceEngine, 'analyze'>,
  input: string,
  opts: AnalyzeRunOptions,
  onFrame: (r: FrameResult) => void,
): Promise<number> {
  if (!isStreamUrl(input) && IMAGE_EXT.has(extname(input).toLowerCase())) {
    const frame = readImage(input);
    const faces = await facesOf(engine, frame);
    onFrame({ frame: 0, timeMs: 0, width: frame.width, height: frame.height, faces });
    if (opts.annotate) writeImage(opts.annotate, annotateFrame(frame, faces));
    return 1;
  }
  const info = await probeVideo(input);
  const toVideo = opts.annotate && !IMAGE_EXT.has(extname(opts.annotate).toLowerCase());
  const writer = toVideo ? new VideoWriter(opts.annotate!, info.width, info.height, opts.fps ?? info.fps) : undefined;
  writer?.start();
  let n = 0;
  let lastAnnotated: Frame | undefined;
  try {
    for await (const frame of readFrames(input, info, {
      ...(opts.fps ? { fps: opts.fps } : {}),
      ...(opts.maxFrames ? { maxFrames: opts.maxFrames } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.detectorCopy ? { detectorCopy: opts.detectorCopy } : {}),
    })) {
      const faces = await facesOf(engine, frame);
      onFrame({ frame: frame.index, timeMs: frame.timeMs, width: frame.width, height: frame.height, faces });
      if (opts.annotate) {
        const annotated = annotateFrame(frame, faces);
        if (writer) await writer.write(annotated);
        else lastAnnotated = annotated;
      }
      n++;
    }
  } finally {
    await writer?.stop();
  }
  // --annotate out.jpg on a video: the last frame, annotated.
  if (lastAnnotated && opts.annotate) writeImage(opts.annotate, lastAnnotated);
  if (n === 0) throw new Error(`no frames could be read from ${redactString(input)}`);
  return n;
}

function formatFrame(r: FrameResult): string {
  const head = `frame ${r.frame} (${(r.timeMs / 1000).toFixed(2)} s): ${r.faces.length} face${r.faces.length === 1 ? '' : 's'}`;
  const lines = r.faces.map((f) => {
    const b = f.box;
    const top = f.emotion.probabilities
      .map((p, i) => [p, i] as const)
      .sort((a, b2) => b2[0] - a[0])
      .slice(1, 3)
      .map(([p, i]) => `${CANONICAL_LABELS[i]} ${(p * 100).toFixed(0)}%`)
      .join(', ');
    return `  [${Math.round(b.x)},${Math.round(b.y)} ${Math.round(b.width)}x${Math.round(b.height)}] face ${(f.score * 100).toFixed(0)}%  ${f.emotion.label} ${(f.emotion.score * 100).toFixed(0)}%  (${top})`;
  });
  return [head, ...lines].join('\n');
}

function toJsonLine(r: FrameResult): string {
  const labels = CANONICAL_LABELS;
  return JSON.stringify({
    frame: r.frame,
    timeMs: r.timeMs,
    width: r.width,
    height: r.height,
    faces: r.faces.map((f) => ({
      box: { x: round(f.box.x), y: round(f.box.y), width: round(f.box.width), height: round(f.box.height) },
      score: round(f.score, 4),
      ...(f.landmarks ? { landmarks: f.landmarks } : {}),
      emotion: f.emotion.label,
      emotionScore: round(f.emotion.score, 4),
      probabilities: Object.fromEntries(labels.map((l, i) => [l, round(f.emotion.probabilities[i]!, 4)])),
    })),
  });
}

function round(v: number, digits = 1): number {
  const k = 10 ** digits;
  return Math.round(v * k) / k;
}
