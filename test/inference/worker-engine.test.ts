// The inference worker thread with the real models. This file never loads OpenCV in the main thread
// (the binding may live in one thread per process only, so a process starts one inference worker for its
// lifetime: a second test file covers the load failure), and frames are decoded with the FFmpeg CLI.
import { describe, expect, it } from 'vitest';
import { WorkerEngine } from '../../src/inference/worker-engine.js';
import { sample } from '../helpers/paths.js';
import { decodeFrame } from '../helpers/frames.js';

describe('WorkerEngine', () => {
  it('loads the models in a worker thread and analyses frames there, keeping the event loop free', async () => {
    const worker = new WorkerEngine({ threads: 1 });
    await worker.start();
    expect(worker.models.detector).toMatch(/^face-yunet-n@/);
    const frame = decodeFrame(sample(1), 1920, 1280);
    const sent = frame.data;
    const pixels = Buffer.from(sent);
    // While the worker runs inference, timers on this thread keep firing.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const results = await Promise.all([
      worker.analyze(frame, undefined, 0),
      worker.analyze(decodeFrame(sample(3), 1920, 1350), undefined, 0),
    ]);
    clearInterval(timer);
    expect(results[0].faces).toHaveLength(3);
    expect(results[1].faces).toHaveLength(3);
    for (const f of results[0].faces) expect(f.probabilities!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    expect(ticks).toBeGreaterThan(3);
    // The frame's pixels were transferred to the worker, not copied...
    expect(sent.byteLength).toBe(0);
    // ...and came back with the result, unchanged, for the capture to reuse.
    expect(frame.data.equals(pixels)).toBe(true);
    // A capture's frame (SharedArrayBuffer, see frame-assembler.ts) is read in place: nothing moves,
    // the same buffer stays with the frame, and the worker finds the same faces in it.
    const shared = decodeFrame(sample(1), 1920, 1280);
    const own = Buffer.from(new SharedArrayBuffer(shared.data.length));
    shared.data.copy(own);
    shared.data = own;
    const inPlace = await worker.analyze(shared, undefined, 0);
    expect(shared.data).toBe(own);
    expect(own.buffer.byteLength).toBe(1920 * 1280 * 3);
    expect(inPlace.faces.map((f) => f.box)).toEqual(results[0].faces.map((f) => f.box));
    await worker.stop();
    await expect(worker.analyze(decodeFrame(sample(2), 64, 64), undefined, 0)).rejects.toThrow(/not running/);
  });
});
