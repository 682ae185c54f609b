// Inference in a worker thread (the daemon): one worker thread holds the models for all cameras
// (ONNX Runtime spreads each run over its own thread pool); frames are shared or transferred, not copied.
// This is the main-thread side; worker.ts runs in the thread. Only types are imported from the
// modules that load OpenCV, so the main thread never loads it.
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { Task } from '../models/manifest.js';
import type { Frame, Rect } from '../vision/image.js';
import type { AnalyzerOptions } from './analyzer.js';
import {
  NOT_LOADED,
  type FrameAnalysis,
  type InferenceEngine,
  type InferenceEvents,
  type InferenceHealth,
  type ModelNames,
} from './engine.js';
import type { SwapRequest, WorkerRequest } from './worker.js';

type WorkerMessage =
  | { type: 'ready'; models: ModelNames; providerFallbacks?: string[] }
  | { type: 'result'; id: number; result: FrameAnalysis; data?: ArrayBuffer; copy?: ArrayBuffer }
  | { type: 'error'; id: number; message: string }
  | { type: 'fatal'; message: string }
  | { type: 'swapped'; id: number; models: ModelNames }
  | { type: 'swap-failed'; id: number; message: string }
  | { type: 'health'; event: InferenceHealth };

/**
 * How a frame's pixels go to the worker: shared (a SharedArrayBuffer-backed frame from the capture: the
 * worker reads it in place and nothing comes back), transferred (a Buffer that owns its ArrayBuffer:
 * moved there and back), or copied (a view into a larger buffer, e.g. Node's pool).
 */
function pixels(buf: Buffer): { data: ArrayBuffer | SharedArrayBuffer; transfer: boolean } {
  const whole = buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength;
  if (whole && buf.buffer instanceof SharedArrayBuffer) return { data: buf.buffer, transfer: false };
  if (whole) return { data: buf.buffer, transfer: true };
  return { data: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength), transfer: false };
}

/** The worker script beside this module; from TypeScript sources a bootstrap registers tsx first. */
function workerUrl(): URL {
  const ts = import.meta.url.endsWith('.ts');
  return new URL(ts ? './worker-dev.mjs' : './worker.js', import.meta.url);
}

/** Emits `error` when the worker thread dies: no analysis at all, the agent treats it as fatal. */
export class WorkerEngine extends EventEmitter<InferenceEvents> implements InferenceEngine {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (r: FrameAnalysis) => void; reject: (e: Error) => void; frame?: Frame }
  >();
  private loaded: ModelNames | undefined;
  private stopping = false;
  private readonly swaps = new Map<number, { resolve: (m: ModelNames) => void; reject: (e: Error) => void }>();
  /** Why a model runs on the CPU although a GPU provider was asked for (log these); set once started. */
  providerFallbacks: readonly string[] = [];

  constructor(private readonly opts: AnalyzerOptions) {
    super();
  }

  get models(): ModelNames {
    return this.loaded ?? NOT_LOADED;
  }

  /** Resolves once the models are loaded in the worker; rejects with the loading error. */
  async start(): Promise<void> {
    if (this.worker) return;
    const worker = new Worker(workerUrl(), { workerData: this.opts });
    this.worker = worker;
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: WorkerMessage): void => {
        if (m.type === 'ready') {
          this.loaded = m.models;
          this.providerFallbacks = m.providerFallbacks ?? [];
          resolve();
        } else if (m.type === 'fatal') {
          reject(new Error(m.message));
        } else if (m.type === 'result') {
          const p = this.settle(m.id);
          // The frame's pixels came back: the caller may hand them to the capture for reuse.
          if (p?.frame) {
            if (m.data) p.frame.data = Buffer.from(m.data);
            if (p.frame.detectorCopy && m.copy) p.frame.detectorCopy.data = Buffer.from(m.copy);
          }
          p?.resolve(m.result);
        } else if (m.type === 'swapped' || m.type === 'swap-failed') {
          this.settleSwap(m);
        } else if (m.type === 'health') {
          this.emit('health', m.event);
        } else {
          this.settle(m.id)?.reject(new Error(m.message));
        }
      };
      worker.on('message', onMessage);
      worker.once('error', (err) => {
        reject(err);
        this.failAll(err);
      });
      worker.once('exit', (code) => {
        const err = new Error(`inference worker exited (code ${code})`);
        reject(err);
        this.failAll(err);
      });
    });
  }

  analyze(frame: Frame, roi: Rect | undefined, minFaceSize: number): Promise<FrameAnalysis> {
    const worker = this.worker;
    if (!worker || this.stopping) return Promise.reject(new Error('inference worker is not running'));
    const id = this.nextId++;
    const full = pixels(frame.data);
    const small = frame.detectorCopy ? pixels(frame.detectorCopy.data) : undefined;
    const copy =
      frame.detectorCopy && small
        ? { data: small.data, width: frame.detectorCopy.width, height: frame.detectorCopy.height }
        : undefined;
    const req: WorkerRequest = {
      id,
      data: full.data,
      width: frame.width,
      height: frame.height,
      ...(copy ? { copy } : {}),
      ...(roi ? { roi } : {}),
      minFaceSize,
    };
    const transfer = [full, small].filter((p) => p?.transfer).map((p) => p!.data as ArrayBuffer);
    return new Promise((resolve, reject) => {
      // Only a frame whose own buffers were moved gets them back (not one shared, nor one sent as a copy).
      this.pending.set(id, { resolve, reject, ...(transfer.length ? { frame } : {}) });
      worker.postMessage(req, transfer);
    });
  }

  /** Loads `dir` for `task` in the worker and switches to it between two frames; rejects (old model kept) on failure. */
  swap(task: Task, dir: string): Promise<ModelNames> {
    const worker = this.worker;
    if (!worker || this.stopping) return Promise.reject(new Error('inference worker is not running'));
    const id = this.nextId++;
    const req: SwapRequest = { type: 'swap', id, task, dir };
    return new Promise((resolve, reject) => {
      this.swaps.set(id, { resolve, reject });
      worker.postMessage(req);
    });
  }

  private settleSwap(
    m: { type: 'swapped'; id: number; models: ModelNames } | { type: 'swap-failed'; id: number; message: string },
  ): void {
    const p = this.swaps.get(m.id);
    this.swaps.delete(m.id);
    if (m.type === 'swapped') {
      this.loaded = m.models;
      p?.resolve(m.models);
    } else {
      p?.reject(new Error(m.message));
    }
  }

  async stop(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    this.stopping = true;
    this.worker = undefined;
    await w.terminate();
    this.failAll(new Error('inference worker stopped'), false);
    this.stopping = false;
  }

  private settle(
    id: number,
  ): { resolve: (r: FrameAnalysis) => void; reject: (e: Error) => void; frame?: Frame } | undefined {
    const p = this.pending.get(id);
    this.pending.delete(id);
    return p;
  }

  private failAll(err: Error, report = true): void {
    for (const p of [...this.pending.values(), ...this.swaps.values()]) p.reject(err);
    this.pending.clear();
    this.swaps.clear();
    // A dead worker means no analysis at all: the agent treats it as fatal (the supervisor restarts).
    if (report && !this.stopping && this.listenerCount('error') > 0) this.emit('error', err);
  }
}
