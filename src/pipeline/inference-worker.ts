// Runs inside a worker thread: onnxruntime-node executes a session synchronously on the calling
// thread, so inference lives here and the main event loop stays free for capture, timers and HTTP.
import { parentPort, workerData } from 'node:worker_threads';
import { Analyzer, type AnalyzerOptions } from '../analyze/analyze.js';
import type { Rect } from '../vision/image.js';
import { analyseFrame } from './frame-analysis.js';

export interface WorkerRequest {
  id: number;
  data: ArrayBuffer;
  byteOffset: number;
  width: number;
  height: number;
  roi?: Rect;
  minFaceSize: number;
}

const port = parentPort!;
try {
  const analyzer = await Analyzer.load(workerData as AnalyzerOptions);
  port.postMessage({ type: 'ready', models: { detector: analyzer.detector.name, classifier: analyzer.classifier.name } });
  port.on('message', (req: WorkerRequest) => {
    const frame = { data: Buffer.from(req.data, req.byteOffset, req.width * req.height * 3), width: req.width, height: req.height };
    analyseFrame(analyzer, frame, req.roi, req.minFaceSize).then(
      (result) => port.postMessage({ type: 'result', id: req.id, result }),
      (err: unknown) => port.postMessage({ type: 'error', id: req.id, message: (err as Error).message }),
    );
  });
} catch (err) {
  port.postMessage({ type: 'fatal', message: (err as Error).message });
}
