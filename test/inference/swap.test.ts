// Hot swap in the real inference worker thread: a new bundle is loaded beside the serving one and takes
// over between two frames, frames in flight finish, a bundle that cannot load leaves the old model
// serving, and a model giving NaN on real faces is reported as a health problem (the rollback trigger).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WorkerEngine } from '../../src/inference/worker-engine.js';
import type { InferenceHealth } from '../../src/inference/engine.js';
import { MODELS, sample } from '../helpers/paths.js';
import { shippedVariant, withNaNOutput } from '../models/fixtures.js';
import { decodeFrame } from '../helpers/frames.js';

const root = mkdtempSync(join(tmpdir(), 'ea-swap-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('WorkerEngine.swap', () => {
  it("swaps a task's model between frames, keeps the old one on a failed swap, and reports NaN outputs", async () => {
    const nanDir = await shippedVariant(
      join(root, 'nan'),
      'emotion-int8',
      '9.0.0',
      undefined,
      (_m, b) => withNaNOutput(b),
      0,
    );
    const worker = new WorkerEngine({ threads: 1 });
    const health: InferenceHealth[] = [];
    worker.on('health', (h) => health.push(h));
    await worker.start();
    try {
      const before = worker.models;
      // Frames already queued and the swap race: every frame completes, on one model or the other.
      const frames = [
        worker.analyze(decodeFrame(sample(1), 1280, 853), undefined, 0),
        worker.analyze(decodeFrame(sample(1), 1280, 853), undefined, 0),
      ];
      const swapped = worker.swap('face-detector', join(MODELS, 'face-ssd-fp32'));
      frames.push(worker.analyze(decodeFrame(sample(1), 1280, 853), undefined, 0));
      const results = await Promise.all(frames);
      for (const r of results) expect(r.faces).toHaveLength(3);
      expect(await swapped).toEqual({ detector: 'face-ssd@1.0.0', classifier: before.classifier });
      expect(worker.models.detector).toBe('face-ssd@1.0.0');
      expect((await worker.analyze(decodeFrame(sample(3), 1280, 900), undefined, 0)).faces).toHaveLength(3);

      await expect(worker.swap('emotion-classifier', join(root, 'missing'))).rejects.toThrow(
        /manifest\.json is missing/,
      );
      expect(worker.models.classifier).toBe(before.classifier);
      expect(health).toEqual([]);

      await worker.swap('emotion-classifier', nanDir);
      const r = await worker.analyze(decodeFrame(sample(1), 1280, 853), undefined, 0);
      expect(r.faces[0]!.probabilities!.every((p) => Number.isNaN(p))).toBe(true);
      await new Promise((res) => setTimeout(res, 100)); // the health message trails the result
      expect(health[0]).toMatchObject({ task: 'emotion-classifier', problem: 'nan' });
    } finally {
      await worker.stop();
    }
  });
});
