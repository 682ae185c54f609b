import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Inference tests are CPU-bound; on a 2-core box parallel files only fight each other.
    fileParallelism: false,
    reporters: ['default'],
  },
});
