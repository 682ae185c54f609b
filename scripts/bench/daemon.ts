// Daemon benchmark: the whole agent in-process on real clips with 1, 2 and 4 cameras, against two
// floors measured on the same clip: FFmpeg decode alone and bare ONNX Runtime inference alone.
// CPU is read from the kernel (/proc) for FFmpeg children and from process.cpuUsage() for us.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { WindowSink } from '../../src/aggregate/sink.js';
import { Analyzer } from '../../src/inference/analyzer.js';
import { Agent } from '../../src/app.js';
import { probeVideo, readFrames } from '../../src/capture/ffmpeg.js';
import { loadConfig } from '../../src/config/index.js';
import { frameToDetectorInput } from '../../src/vision/preprocess.js';

const TICK = 100; // USER_HZ on Linux

/** Proportional set size: shared library pages divided among the processes that map them. */
export function pssBytes(pid: number | 'self'): number {
  try {
    return Number(/Pss:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** The fields of a /proc stat file after the command name (which may contain spaces): [state, ppid, …]. */
function statFields(path: string): string[] {
  const stat = readFileSync(path, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** utime + stime of statFields() output, in seconds. */
const statCpuS = (fields: string[]): number => (Number(fields[11]) + Number(fields[12])) / TICK;

/** CPU seconds (user+sys), RSS and PSS bytes of the direct children of `parent` (the FFmpeg captures). */
export function childrenUsage(parent = process.pid): { cpuS: number; rss: number; pss: number; pids: number[] } {
  let cpuS = 0;
  let rss = 0;
  let pss = 0;
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const fields = statFields(`/proc/${d}/stat`);
      if (Number(fields[1]) !== parent) continue;
      cpuS += statCpuS(fields);
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${d}/status`, 'utf8'));
      rss += Number(m?.[1] ?? 0) * 1024;
      pss += pssBytes(Number(d));
      pids.push(Number(d));
    } catch {
      // the process ended while we looked
    }
  }
  return { cpuS, rss, pss, pids };
}

/** CPU seconds of each thread of this process, by thread id (the main thread's id is the pid). */
export function threadCpu(): Map<number, number> {
  const out = new Map<number, number>();
  for (const t of readdirSync('/proc/self/task')) {
    try {
      out.set(Number(t), statCpuS(statFields(`/proc/self/task/${t}/stat`)));
    } catch {
      // the thread ended while we looked
    }
  }
  return out;
}

const cpuS = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/**
 * FFmpeg decoding the clip at the analysis rate, output discarded: CPU seconds per delivered frame.
 * `paced`: at the clip's own speed (-re), as a camera delivers it and as the agent decodes it; flat
 * out (the default) keeps the decoder's threads and caches warm and costs 15-20 % less per frame here.
 */
export async function decodeFloor(
  clip: string,
  fps: number,
  loops = 3,
  paced = false,
): Promise<{ cpuSPerFrame: number; decodeFps: number }> {
  const info = await probeVideo(clip);
  const frames = Math.floor((info.durationS ?? 0) * fps) * loops;
  const t0 = performance.now();
  const out = await new Promise<string>((resolve, reject) => {
    // bash's `times` prints the children's user and system CPU after ffmpeg exits.
    const p = spawn('bash', [
      '-c',
      `ffmpeg -v error -nostdin -stream_loop ${loops - 1}${paced ? ' -re' : ''} -i "$0" -vf fps=${fps} -f rawvideo -pix_fmt bgr24 -y /dev/null && times`,
      clip,
    ]);
    let s = '';
    p.stdout.on('data', (d: Buffer) => {
      s += d.toString();
    });
    p.on('close', (code) => (code === 0 ? resolve(s) : reject(new Error(`ffmpeg exit ${code}`))));
  });
  const wall = (performance.now() - t0) / 1000;
  const last = out.trim().split('\n').at(-1) ?? '';
  const secs = [...last.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return { cpuSPerFrame: (secs[0]! + secs[1]!) / frames, decodeFps: (info.fps * (info.durationS ?? 0) * loops) / wall };
}

/** Bare ONNX Runtime: the detector on ready tensors and the classifier on the faces found. */
export async function inferenceFloor(
  analyzer: Analyzer,
  clip: string,
  fps: number,
  maxFrames = 25,
): Promise<{ cpuSPerFrame: number; facesPerFrame: number }> {
  const info = await probeVideo(clip);
  const frames = [];
  for await (const f of readFrames(clip, info, { fps, maxFrames })) frames.push(f);
  const spec = analyzer.detector.bundle.manifest.input;
  const tensors = frames.map((f) => frameToDetectorInput(f, spec).tensor);
  const faces = await Promise.all(frames.map((f) => analyzer.detector.detect(f)));
  const { input } = analyzer.classifier.bundle.manifest;
  const { cropFace, faceCropRect } = await import('../../src/vision/preprocess.js');
  const crops = frames.map((f, i) =>
    faces[i]!.map((face) =>
      cropFace(f, faceCropRect(face.box, 0.2, true), input.width, input.height, undefined, input.resizeKernel),
    ),
  );
  // The detector session is reached through a private field on purpose: this is the floor, with
  // none of our pre/post-processing.
  const session = (
    analyzer.detector as unknown as { session: { run(feeds: Record<string, unknown>): Promise<unknown> } }
  ).session;
  const c0 = cpuS();
  for (let i = 0; i < frames.length; i++) {
    await session.run({ [spec.name]: tensors[i] });
    if (crops[i]!.length) await analyzer.classifier.classifyCrops(crops[i]!);
  }
  const used = cpuS() - c0;
  return { cpuSPerFrame: used / frames.length, facesPerFrame: faces.reduce((a, f) => a + f.length, 0) / frames.length };
}

class CountingSink implements WindowSink {
  readonly name = 'bench';
  windows = 0;
  start(): Promise<void> {
    return Promise.resolve();
  }
  write(): Promise<void> {
    this.windows++;
    return Promise.resolve();
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
}

export interface AgentRun {
  clip: string;
  cameras: number;
  seconds: number;
  framesIn: number;
  framesAnalysed: number;
  dropped: number;
  droppedPct: number;
  analysedFps: number;
  facesPerS: number;
  cpuSPerAnalysedFrame: { total: number; decode: number; detect: number; classify: number; track: number };
  rssMB: { agent: number; withChildren: number };
  /** PSS: what the agent and its FFmpeg children really add up to (shared libraries counted once). */
  pssMB: { agent: number; withChildren: number };
  rssSamplesMB?: number[];
  /**
   * Our process's CPU per analysed frame by thread (ms): the main thread (capture reads, pipeline,
   * aggregation), then the others, busiest first: the inference worker, ONNX Runtime's pool, V8/libuv.
   */
  threadMsPerFrame: { main: number; others: number[] };
  /** Event-loop delay while analysing (ms): how responsive the process stays under full load. */
  eventLoopDelayMs: { p50: number; p99: number; max: number };
}

/** Runs the agent on `cameras` copies of `clip` (looped, real time) for `seconds`. */
export async function agentRun(
  clip: string,
  cameras: number,
  seconds: number,
  fps = 5,
  sampleEveryS = 0,
): Promise<AgentRun> {
  const cams = Array.from({ length: cameras }, (_, i) => ({ id: `cam${i}`, source: clip, loop: true, fps }));
  const cfg = loadConfig({
    env: { EMOTION_AGENT_CAMERAS: JSON.stringify(cams) },
    argvOverrides: { 'sinks.jsonl.enabled': 'false', 'aggregate.windowS': '10' },
  });
  const agent = new Agent(
    cfg,
    pino(
      { level: 'warn' },
      new Writable({
        write(_c, _e, cb) {
          cb();
        },
      }),
    ),
    { extraSinks: [new CountingSink()] },
  );
  await agent.start();
  await new Promise((r) => setTimeout(r, 3000)); // connect, warm up
  const s0 = agent.status();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const c0 = cpuS();
  const th0 = threadCpu();
  const k0 = childrenUsage().cpuS;
  const t0 = performance.now();
  const samples: number[] = [];
  const until = t0 + seconds * 1000;
  while (performance.now() < until) {
    await new Promise((r) => setTimeout(r, Math.min(1000, until - performance.now())));
    if (sampleEveryS && samples.length < (performance.now() - t0) / 1000 / sampleEveryS)
      samples.push(process.memoryUsage().rss / 2 ** 20);
  }
  const wall = (performance.now() - t0) / 1000;
  const s1 = agent.status();
  const th1 = threadCpu();
  const kids = childrenUsage();
  const ours = cpuS() - c0;
  const decode = kids.cpuS - k0;
  const rss = process.memoryUsage().rss;
  const pss = pssBytes('self');
  loop.disable();
  await agent.stop();
  const sum = (st: typeof s0, f: (c: (typeof s0.cameras)[number]) => number): number =>
    st.cameras.reduce((a, c) => a + f(c), 0);
  const analyzed = sum(s1, (c) => c.pipeline.framesAnalysed) - sum(s0, (c) => c.pipeline.framesAnalysed);
  const framesIn = sum(s1, (c) => c.capture.framesIn) - sum(s0, (c) => c.capture.framesIn);
  const dropped = sum(s1, (c) => c.capture.dropped) - sum(s0, (c) => c.capture.dropped);
  const faces = sum(s1, (c) => c.pipeline.faceDetections) - sum(s0, (c) => c.pipeline.faceDetections);
  const stage = (k: 'detectMs' | 'classifyMs' | 'trackMs'): number =>
    sum(s1, (c) => c.pipeline.stageMs[k]) - sum(s0, (c) => c.pipeline.stageMs[k]);
  const wallStages = stage('detectMs') + stage('classifyMs') + stage('trackMs');
  // Our process's CPU is split across stages by their share of wall time in the loop (ONNX Runtime
  // works on its own threads, so per-stage CPU is not directly observable).
  const share = (k: 'detectMs' | 'classifyMs' | 'trackMs'): number =>
    (wallStages ? (ours * stage(k)) / wallStages : 0) / Math.max(1, analyzed);
  return {
    clip,
    cameras,
    seconds: Math.round(wall),
    framesIn,
    framesAnalysed: analyzed,
    dropped,
    droppedPct: framesIn ? (100 * dropped) / framesIn : 0,
    analysedFps: analyzed / wall,
    facesPerS: faces / wall,
    cpuSPerAnalysedFrame: {
      total: (ours + decode) / Math.max(1, analyzed),
      decode: decode / Math.max(1, analyzed),
      detect: share('detectMs'),
      classify: share('classifyMs'),
      track: share('trackMs'),
    },
    rssMB: { agent: rss / 2 ** 20, withChildren: (rss + kids.rss) / 2 ** 20 },
    pssMB: { agent: pss / 2 ** 20, withChildren: (pss + kids.pss) / 2 ** 20 },
    eventLoopDelayMs: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
    threadMsPerFrame: perThread(th0, th1, analyzed),
    ...(sampleEveryS ? { rssSamplesMB: samples } : {}),
  };
}

function perThread(
  before: Map<number, number>,
  after: Map<number, number>,
  frames: number,
): AgentRun['threadMsPerFrame'] {
  const ms = (tid: number): number => ((after.get(tid)! - (before.get(tid) ?? 0)) * 1000) / Math.max(1, frames);
  const others = [...after.keys()]
    .filter((t) => t !== process.pid)
    .map(ms)
    .filter((v) => v > 0)
    .sort((a, b) => b - a);
  return { main: ms(process.pid), others };
}

/** The compiled daemon (`emotion-agent run`) as a real process: RSS/PSS of it and its FFmpeg children. */
export async function daemonMemory(
  clip: string,
  cameras: number,
  seconds: number,
  bin: string,
  baseEnv: NodeJS.ProcessEnv = process.env,
  fps = 5,
): Promise<{ rssMB: number; pssMB: number; childrenRssMB: number; childrenPssMB: number }> {
  const cams = Array.from({ length: cameras }, (_, i) => ({ id: `cam${i}`, source: clip, loop: true, fps }));
  const env = {
    ...baseEnv,
    EMOTION_AGENT_CAMERAS: JSON.stringify(cams),
    EMOTION_AGENT_LOG_LEVEL: 'warn',
    EMOTION_AGENT_SINKS_JSONL_ENABLED: 'false',
  };
  const child = spawn(process.execPath, [bin, 'run'], { env, stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const pid = child.pid!;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  const pss = pssBytes(pid);
  const kids = childrenUsage(pid);
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  const mb = (b: number): number => b / 2 ** 20;
  return { rssMB: mb(rss), pssMB: mb(pss), childrenRssMB: mb(kids.rss), childrenPssMB: mb(kids.pss) };
}
