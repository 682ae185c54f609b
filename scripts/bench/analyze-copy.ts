// What the detector-sized copy saves the `analyze` command: the same frames of a clip through
// readFrames + analyzeFrame (1 thread), with and without FFmpeg's copy, alternated so that drift in a
// noisy machine hits both. Prints one JSON object (CPU and wall ms per frame, each pass).
//
//   node --import tsx scripts/bench/analyze-copy.ts [clip] [--frames 15] [--fps 5] [--rounds 2]
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { probeVideo, readFrames } from '../../src/capture/ffmpeg.js';
import { Analyzer } from '../../src/inference/analyzer.js';
import { analyzeFrame } from '../../src/inference/frame-analysis.js';
import { detectorCopyBox } from '../../src/vision/preprocess.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    frames: { type: 'string', default: '15' },
    fps: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '2' },
  },
});
const clip = positionals[0] ?? '../shared/data/videos/crowd-walking-1080p.mp4';
const analyzer = await Analyzer.load({ threads: 1 });
const box = detectorCopyBox(analyzer.detector.bundle.manifest.input);
const info = await probeVideo(clip);
const passes: { mode: string; frames: number; cpuMsPerFrame: number; wallMsPerFrame: number }[] = [];
for (let round = 0; round < Number(values.rounds); round++) {
  for (const mode of ['full', 'copy'] as const) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    let n = 0;
    const copy = mode === 'copy' && box ? { detectorCopy: box } : {};
    for await (const f of readFrames(clip, info, {
      fps: Number(values.fps),
      maxFrames: Number(values.frames),
      ...copy,
    })) {
      await analyzeFrame(analyzer, f, undefined, 0);
      n++;
    }
    const c = process.cpuUsage(c0);
    const round1 = (v: number): number => Math.round(v * 10) / 10;
    passes.push({
      mode,
      frames: n,
      cpuMsPerFrame: round1((c.user + c.system) / 1000 / n),
      wallMsPerFrame: round1((performance.now() - t0) / n),
    });
  }
}
process.stdout.write(
  `${JSON.stringify({ clip, width: info.width, height: info.height, detectorCopyBox: box, passes })}\n`,
);
process.exit(0);
