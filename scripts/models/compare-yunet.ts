#!/usr/bin/env -S npx tsx
// Chooses the YuNet input (and measures the shipped bundles) by AP against cost, 1 thread:
//   - AP@0.5 (faces >= 40 px) and recall/precision at each bundle's default threshold on
//     ../shared/data/facedet/wider-val-dev (the same code as `emotion-agent evaluate --detector`);
//   - ms per 1920 px frame (preprocessing + inference + decoding + NMS): the six 1920 px photos
//     face-api ships (as `npm run bench -- --only models`) and their 1920x1080 top crops (a 16:9
//     camera); every bundle runs in turn on the same frame, so load from other jobs hits all alike.
//
//   npx tsx scripts/models/compare-yunet.ts [bundle dirs...] [--no-ap] [--rounds 5] [--out var/yunet/compare.json]
// Default bundles: models/face-yunet-fp32, var/models/face-yunet-int8 (quantize-models.ts --only yunet), models/face-ssd-int8.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { evaluateDetector, type DetectorEvalResult } from '../../src/evaluate/run.js';
import { FaceDetector } from '../../src/vision/detector.js';
import { readImage, type Frame } from '../../src/vision/image.js';
import { REPO_ROOT } from './calibration.js';

const DATA = join(REPO_ROOT, '..', 'shared', 'data', 'facedet', 'wider-val-dev', 'boxes.jsonl');

interface Row {
  bundle: string;
  name: string;
  precision: string;
  ap?: Omit<DetectorEvalResult, 'pr'>;
  prPoints?: number;
  msPhoto: number;
  ms1080p: number;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function topCrop(f: Frame, h: number): Frame {
  return { width: f.width, height: h, data: f.data.subarray(0, f.width * h * 3) };
}

async function main(argv: string[]): Promise<void> {
  const flag = (k: string): string | undefined => (argv.includes(k) ? argv[argv.indexOf(k) + 1] : undefined);
  const valued = new Set(['--rounds', '--out']);
  const dirs = argv.filter((a, i) => !a.startsWith('--') && !valued.has(argv[i - 1] ?? ''));
  const bundles = dirs.length > 0 ? dirs : ['models/face-yunet-fp32', 'var/models/face-yunet-int8', 'models/face-ssd-int8'];
  const rounds = Number(flag('--rounds') ?? 5);
  const out = flag('--out') ?? 'var/yunet/compare.json';
  const dets = await Promise.all(bundles.map((d) => FaceDetector.load(d, { threads: 1 })));
  const rows: Row[] = dets.map((d, i) => ({ bundle: bundles[i]!, name: d.name, precision: d.bundle.manifest.precision, msPhoto: 0, ms1080p: 0 }));

  const photos = [1, 2, 3, 4, 5, 6].map((i) => readImage(join(REPO_ROOT, 'node_modules', '@vladmandic', 'face-api', 'demo', `sample${i}.jpg`)));
  const frames = { msPhoto: photos, ms1080p: photos.map((p) => topCrop(p, 1080)) } as const;
  for (const [key, set] of Object.entries(frames) as [keyof typeof frames, Frame[]][]) {
    const times = dets.map((): number[] => []);
    for (const f of set) for (const d of dets) await d.detect(f); // warm-up
    for (let r = 0; r < rounds; r++) {
      for (const f of set) {
        for (const [i, d] of dets.entries()) {
          const t0 = performance.now();
          await d.detect(f);
          times[i]!.push(performance.now() - t0);
        }
      }
    }
    times.forEach((t, i) => (rows[i]![key] = median(t)));
  }

  if (!argv.includes('--no-ap')) {
    if (!existsSync(DATA)) console.log(`${DATA} not found: no AP`);
    else {
      for (const [i, d] of dets.entries()) {
        // The PR curve stays out of the JSON (200 points per bundle); its length says it was computed.
        const { pr, ...ap } = await evaluateDetector(d, DATA, { minFace: 40 });
        rows[i]!.ap = ap;
        rows[i]!.prPoints = pr.length;
      }
    }
  }

  console.log('\nbundle                         precision  AP@0.5>=40px  thr   recall  precision  FP/img  ms/1920px photo  ms/1920x1080');
  for (const r of rows) {
    const a = r.ap;
    console.log(
      `${r.bundle.padEnd(30)} ${r.precision.padEnd(10)} ${(a?.ap50?.toFixed(3) ?? '').padStart(12)}  ${(a?.scoreThreshold.toFixed(2) ?? '').padEnd(5)} ` +
        `${(a?.recall.toFixed(3) ?? '').padStart(6)}  ${(a?.precision.toFixed(3) ?? '').padStart(9)}  ${(a?.fpPerImage.toFixed(2) ?? '').padStart(6)}  ` +
        `${r.msPhoto.toFixed(1).padStart(15)}  ${r.ms1080p.toFixed(1).padStart(12)}`,
    );
  }
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ generatedAt: new Date().toISOString(), threads: 1, rounds, rows }, null, 2)}\n`);
  console.log(`wrote ${out}`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
