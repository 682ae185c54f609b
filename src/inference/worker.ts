// The inference worker thread, started by WorkerEngine (worker-engine.ts): onnxruntime-node executes a
// session synchronously on the calling thread, so inference lives here and the main event loop stays
// free for capture, timers and HTTP.
// Besides frames it takes swap requests (a new model bundle for a task, loaded here and switched in
// between two frames) and reports model health (NaN/constant outputs, errors) for automatic rollback.
import { parentPort, workerData } from 'node:worker_threads';
import type { Task } from '../models/manifest.js';
import type { Rect } from '../vision/image.js';
import type { AnalyzerOptions } from './analyzer.js';
import { InProcessEngine } from './in-process.js';

export interface WorkerRequest {
  id: number;
  /** Shared (the capture's frames: read in place, nothing goes back) or transferred (sent back). */
  data: ArrayBuffer | SharedArrayBuffer;
  width: number;
  height: number;
  /** The capture's detector-sized copy of the frame. */
  copy?: { data: ArrayBuffer | SharedArrayBuffer; width: number; height: number };
  roi?: Rect;
  minFaceSize: number;
}

export interface SwapRequest {
  type: 'swap';
  id: number;
  task: Task;
  dir: string;
}

const port = parentPort!;
try {
  const engine = await InProcessEngine.load(workerData as AnalyzerOptions);
  engine.on('health', (event) => port.postMessage({ type: 'health', event }));
  port.postMessage({ type: 'ready', models: engine.models, providerFallbacks: engine.providerFallbacks });
  // One frame at a time: frames from several cameras would otherwise interleave at every await, each
  // holding its pixels, tensors and crops at once (docs/performance.md has the measurement).
  // ONNX Runtime already spreads one run over all cores, so nothing is lost.
  let chain: Promise<void> = Promise.resolve();
  port.on('message', (req: WorkerRequest | SwapRequest) => {
    if ('type' in req) {
      engine.swap(req.task, req.dir).then(
        (models) => port.postMessage({ type: 'swapped', id: req.id, models }),
        (err: unknown) => port.postMessage({ type: 'swap-failed', id: req.id, message: (err as Error).message }),
      );
      return;
    }
    const { copy } = req;
    const frame = {
      data: Buffer.from(req.data, 0, req.width * req.height * 3),
      width: req.width,
      height: req.height,
      ...(copy
        ? {
            detectorCopy: {
              data: Buffer.from(copy.data, 0, copy.width * copy.height * 3),
              width: copy.width,
              height: copy.height,
            },
          }
        : {}),
    };
    const run = chain.then(() => engine.analyze(frame, req.roi, req.minFaceSize));
    chain = run.then(
      () => undefined,
      () => undefined,
    );
    run.then(
      // Transferred pixels go back with the result (transferred, not copied): the capture fills them
      // again with a later frame instead of allocating 8 MB per 1080p frame. Shared ones never left.
      (result) => {
        const moved = (b: ArrayBuffer | SharedArrayBuffer | undefined): b is ArrayBuffer =>
          b !== undefined && !(b instanceof SharedArrayBuffer);
        const data = moved(req.data) ? req.data : undefined;
        const back = moved(copy?.data) ? copy.data : undefined;
        port.postMessage(
          { type: 'result', id: req.id, result, ...(data ? { data } : {}), ...(back ? { copy: back } : {}) },
          [data, back].filter(moved),
        );
      },
      (err: unknown) => port.postMessage({ type: 'error', id: req.id, message: (err as Error).message }),
    );
  });
} catch (err) {
  port.postMessage({ type: 'fatal', message: (err as Error).message });
}
