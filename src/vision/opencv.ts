// Loads the OpenCV native binding directly. The package's JS loader pulls in its build tooling and
// prints build-environment noise on every start; the compiled binding is all we need at run time.
// Loaded on first use only: reading and writing image files, drawing annotations, and tests. The
// daemon's analysis path (src/vision/raster.ts) never touches it, so its ~100 MB of shared libraries
// stay out of the agent's memory.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as OpenCV from '@u4/opencv4nodejs';

export type Cv = typeof OpenCV.cv;
export type Mat = OpenCV.Mat;

const require = createRequire(import.meta.url);

function load(): Cv {
  // No external memory tracking: with it, every Mat's destructor reports to V8, and a Mat finalised in
  // the garbage collection that runs while the process exits (V8 finishing incremental marking as the
  // isolate is torn down) calls into a dead isolate: SIGSEGV after the work is done (a core from CI's
  // training export, 2026-12-03). Our Mats are short-lived and released explicitly (image.ts).
  process.env.OPENCV4NODEJS_DISABLE_EXTERNAL_MEM_TRACKING ??= '1';
  const entry = require.resolve('@u4/opencv4nodejs');
  const binding = join(dirname(entry), '..', '..', 'build', 'Release', 'opencv4nodejs.node');
  try {
    return require(binding) as Cv;
  } catch (err) {
    throw new Error(`OpenCV binding not available at ${binding}: run \`npm run setup\` (${(err as Error).message})`);
  }
}

let binding: Cv | undefined;

/** The OpenCV binding, loaded when a property is first read (then cached by Node's module cache). */
export const cv: Cv = new Proxy({} as Cv, {
  get: (_, key) => (binding ??= load())[key as keyof Cv],
});

/** Whether anything in this thread has used OpenCV yet (the daemon never should). */
export function openCvLoaded(): boolean {
  return binding !== undefined;
}
