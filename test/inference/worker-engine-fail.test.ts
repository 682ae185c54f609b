// A bundle the worker cannot load fails start() with the reason (own file: one worker per process).
import { describe, expect, it } from 'vitest';
import { WorkerEngine } from '../../src/inference/worker-engine.js';

describe('WorkerEngine start failure', () => {
  it('a model that cannot be loaded fails start() with the reason', async () => {
    const worker = new WorkerEngine({ detector: '/nonexistent/bundle' });
    await expect(worker.start()).rejects.toThrow(/manifest\.json is missing/);
    await worker.stop();
  });
});
