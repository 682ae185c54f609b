// `npm run bench [-- --seconds 20] [-- --soak 600] [-- --only models|daemon|mqtt|http]`: prints tables and
// writes var/bench/results.json. Benchmarks measure; tests never time anything.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Analyzer } from '../../src/inference/analyzer.js';
import { PACKAGE_ROOT } from '../../src/models/defaults.js';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { daemonMemory, decodeFloor, inferenceFloor, type AgentRun } from './daemon.js';
import { benchModels } from './models.js';
import { benchHttp } from './http.js';
import { benchMqtt } from './mqtt.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    soak: { type: 'string', default: '0' },
    only: { type: 'string' },
    'glibc-default-malloc': { type: 'boolean', default: false },
    fps: { type: 'string', default: '5' },
  },
});
const seconds = Number(args.seconds);
const soakS = Number(args.soak);
// Analysis rate per camera. A machine that cannot keep up with 4 x 5 fps can still measure memory at a
// lower rate: frame buffers depend on the frame size, not on the rate.
const fps = Number(args.fps);
const PARTS = ['models', 'daemon', 'mqtt', 'http'];
if (args.only && !PARTS.includes(args.only))
  throw new Error(`--only ${args.only}: expected one of ${PARTS.join(', ')}`);
const out = join(PACKAGE_ROOT, 'var', 'bench');
const file = join(out, 'results.json');
mkdirSync(out, { recursive: true });
// --only reruns one part: the other parts' last results stay in the file instead of being dropped.
const previous =
  args.only && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
const results: Record<string, unknown> = {
  ...previous,
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, loadavgAtStart: loadavg() },
  date: new Date().toISOString(),
};
const save = (): void => writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
const f = (v: number, d = 1): string => v.toFixed(d);
// The deployed configuration (systemd unit, balena images) pins glibc's mmap threshold; the agent runs
// measure that unless --glibc-default-malloc asks for glibc's own behaviour, for comparison.
const agentEnv: NodeJS.ProcessEnv = { ...process.env };
if (args['glibc-default-malloc']) delete agentEnv.MALLOC_MMAP_THRESHOLD_;
else agentEnv.MALLOC_MMAP_THRESHOLD_ ??= '131072';
results.mallocMmapThreshold = agentEnv.MALLOC_MMAP_THRESHOLD_ ?? 'glibc default';
results.fps = fps;
const TSX = pathToFileURL(join(PACKAGE_ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

/** One agent run in a fresh process, so RSS is the agent's own. */
function agentRun(clip: string, cameras: number, secs: number, sampleEveryS = 0): AgentRun {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      TSX,
      join(PACKAGE_ROOT, 'scripts', 'bench', 'agent-worker.ts'),
      clip,
      String(cameras),
      String(secs),
      String(sampleEveryS),
      String(fps),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 24, env: agentEnv },
  );
  if (r.status !== 0) throw new Error(`agent run failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as AgentRun;
}

if (!args.only || args.only === 'models') {
  const photos = [1, 2, 3, 4, 5, 6].map((i) =>
    join(PACKAGE_ROOT, 'node_modules', '@vladmandic', 'face-api', 'demo', `sample${i}.jpg`),
  );
  results.models = await benchModels(photos);
  save();
}

if (!args.only || args.only === 'daemon') {
  const clips = [
    join(PACKAGE_ROOT, '..', 'shared', 'data', 'videos', 'crowd-walking-1080p.mp4'),
    join(PACKAGE_ROOT, 'var', 'demo', 'demo.mp4'),
  ].filter((c) => existsSync(c));
  const analyzer = await Analyzer.load({ threads: 0 });
  const floors: Record<string, unknown> = {};
  const runs: AgentRun[] = [];
  console.log(
    `\nDaemon (${fps} fps analysis per camera; CPU-seconds per analysed frame; RSS of the agent process, and with its FFmpeg children)`,
  );
  console.log(
    'clip                       cams  in fps  analysed/s  dropped%  faces/s   cpu/frame  decode  detect  classify  track   floor(dec+inf)  ratio  paced floor  ratio   RSS MB (+children)  PSS MB total  loop p99 ms',
  );
  for (const clip of clips) {
    const dec = await decodeFloor(clip, fps);
    // The agent decodes a camera at the camera's pace: this floor does too (decodeFloor's comment).
    const decPaced = await decodeFloor(clip, fps, 3, true);
    const inf = await inferenceFloor(analyzer, clip, fps);
    const floor = dec.cpuSPerFrame + inf.cpuSPerFrame;
    const paced = decPaced.cpuSPerFrame + inf.cpuSPerFrame;
    floors[clip] = {
      decode: dec,
      decodePaced: decPaced,
      inference: inf,
      floorCpuSPerFrame: floor,
      floorPacedCpuSPerFrame: paced,
    };
    for (const n of [1, 2, 4]) {
      const r = agentRun(clip, n, seconds);
      runs.push(r);
      const c = r.cpuSPerAnalysedFrame;
      console.log(
        `${clip.split('/').pop()!.padEnd(26)} ${String(n).padStart(4)}  ${f(r.framesIn / r.seconds).padStart(6)}  ${f(r.analysedFps).padStart(10)}  ${f(r.droppedPct).padStart(8)}  ${f(r.facesPerS).padStart(7)}  ${f(c.total, 3).padStart(9)}  ${f(c.decode, 3).padStart(6)}  ${f(c.detect, 3).padStart(6)}  ${f(c.classify, 3).padStart(8)}  ${f(c.track, 4).padStart(6)}  ${f(floor, 3).padStart(14)}  ${f(c.total / floor, 2).padStart(5)}  ${f(paced, 3).padStart(11)}  ${f(c.total / paced, 2).padStart(5)}   ${f(r.rssMB.agent, 0)} (+${f(r.rssMB.withChildren - r.rssMB.agent, 0)})  ${f(r.pssMB.withChildren, 0).padStart(12)}  ${f(r.eventLoopDelayMs.p99)}`,
      );
      results.daemon = { floors, runs };
      save();
    }
    console.log(
      `  floors for ${clip.split('/').pop()}: FFmpeg decode ${f(dec.cpuSPerFrame, 3)} CPU-s/frame flat out (decodes at ${f(dec.decodeFps, 0)} fps), ${f(decPaced.cpuSPerFrame, 3)} paced (-re), bare ONNX Runtime ${f(inf.cpuSPerFrame, 3)} CPU-s/frame (${f(inf.facesPerFrame)} faces/frame)`,
    );
  }
  if (clips[0]) {
    const mem = await daemonMemory(
      clips[0],
      4,
      Math.max(20, seconds),
      join(PACKAGE_ROOT, 'bin', 'emotion-agent.js'),
      agentEnv,
      fps,
    );
    results.daemonMemory = mem;
    save();
    console.log(
      `\nCompiled daemon, 4 cameras at ${fps} fps of ${clips[0].split('/').pop()}: agent RSS ${f(mem.rssMB, 0)} MB (PSS ${f(mem.pssMB, 0)}), FFmpeg children RSS ${f(mem.childrenRssMB, 0)} MB (PSS ${f(mem.childrenPssMB, 0)})`,
    );
  }
  if (soakS > 0 && clips[0]) {
    console.log(`\nSoak: 4 cameras of ${clips[0].split('/').pop()} for ${soakS} s, RSS sampled every 10 s`);
    const r = agentRun(clips[0], 4, soakS, 10);
    const s = r.rssSamplesMB ?? [];
    const early = s.slice(6, 12); // minute 2: after warm-up
    const late = s.slice(-6);
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const growth = (100 * (mean(late) - mean(early))) / Math.max(1, mean(early));
    console.log(
      `  RSS minute 2 ${f(mean(early))} MB -> last minute ${f(mean(late))} MB: ${f(growth)}% growth; dropped ${f(r.droppedPct)}%`,
    );
    results.soak = { ...r, rssGrowthPct: growth };
    save();
  }
}
if (!args.only || args.only === 'mqtt') {
  results.mqtt = benchMqtt();
  save();
}
if (!args.only || args.only === 'http') {
  const clip = [
    join(PACKAGE_ROOT, '..', 'shared', 'data', 'videos', 'crowd-walking-1080p.mp4'),
    join(PACKAGE_ROOT, 'var', 'demo', 'demo.mp4'),
  ].find((c) => existsSync(c))!;
  const r = await benchHttp(join(PACKAGE_ROOT, 'bin', 'emotion-agent.js'), clip, 4, seconds, agentEnv);
  results.http = r;
  save();
  console.log(
    `\nHealth endpoint under full load (compiled daemon, ${r.cameras} cameras of ${clip.split('/').pop()}, ${f(r.analysedFps)} frames analysed/s; ${r.requestsPerRoute} requests per route, one at a time)`,
  );
  console.log('route          p50 ms   p99 ms   max ms  errors');
  for (const [route, t] of Object.entries(r.routes))
    console.log(
      `${route.padEnd(13)} ${f(t.p50Ms, 2).padStart(7)}  ${f(t.p99Ms, 2).padStart(7)}  ${f(t.maxMs, 2).padStart(7)}  ${String(t.errors).padStart(6)}`,
    );
}
console.log(`\nwrote ${file}`);
