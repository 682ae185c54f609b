// The main-thread side of the inference worker: one worker thread holds the models for all cameras
// (ONNX Runtime spreads each run over its own thread pool); frames go over by transfer, not copy.
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { AnalyzerOptions } from '../analyze/analyze.js';
import type { Frame, Rect } from '../vision/image.js';
import type { FrameAnalysis, FrameAnalyzer } from './frame-analysis.js';
import type { WorkerRequest } from './inference-worker.js';

type WorkerMessage =
  | { type: 'ready'; models: { detector: string; classifier: string } }
  | { type: 'result'; id: number; result: FrameAnalysis }
  | { type: 'error'; id: number; message: string }
  | { type: 'fatal'; message: string };

/** The worker script beside this module; from TypeScript sources a bootstrap registers tsx first. */
function workerUrl(): URL {
  const ts = import.meta.url.endsWith('.ts');
  return new URL(ts ? './inference-worker-dev.mjs' : './inference-worker.js', import.meta.url);
}

export class InferenceWorker extends EventEmitter<{ error: [Error] }> implements FrameAnalyzer {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: FrameAnalysis) => void; reject: (e: Error) => void }>();
  private loaded: { detector: string; classifier: string } | undefined;
  private stopping = false;

  constructor(private readonly opts: AnalyzerOptions) {
    super();
  }

  get models(): { detector: string; classifier: string } {
    return this.loaded ?? { detector: 'not loaded', classifier: 'not loaded' };
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
          resolve();
        } else if (m.type === 'fatal') {
          reject(new Error(m.message));
        } else if (m.type === 'result') {
          this.settle(m.id)?.resolve(m.result);
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
    // Transfer the pixels when the Buffer owns its whole ArrayBuffer; otherwise send a copy.
    const owns = frame.data.byteOffset === 0 && frame.data.byteLength === frame.data.buffer.byteLength;
    const data = owns ? (frame.data.buffer as ArrayBuffer) : frame.data.buffer.slice(frame.data.byteOffset, frame.data.byteOffset + frame.data.byteLength) as ArrayBuffer;
    const req: WorkerRequest = { id, data, byteOffset: 0, width: frame.width, height: frame.height, ...(roi ? { roi } : {}), minFaceSize };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage(req, [data]);
    });
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

  private settle(id: number): { resolve: (r: FrameAnalysis) => void; reject: (e: Error) => void } | undefined {
    const p = this.pending.get(id);
    this.pending.delete(id);
    return p;
  }

  private failAll(err: Error, report = true): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    // A dead worker means no analysis at all: the agent treats it as fatal (the supervisor restarts).
    if (report && !this.stopping && this.listenerCount('error') > 0) this.emit('error', err);
  }
}
