// Loads the OpenCV native binding directly. The package's JS loader pulls in its build tooling and
// prints build-environment noise on every start; the compiled binding is all we need at run time.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as OpenCV from '@u4/opencv4nodejs';

export type Cv = typeof OpenCV.cv;
export type Mat = OpenCV.Mat;

const require = createRequire(import.meta.url);

function load(): Cv {
  const entry = require.resolve('@u4/opencv4nodejs');
  const binding = join(dirname(entry), '..', '..', 'build', 'Release', 'opencv4nodejs.node');
  try {
    return require(binding) as Cv;
  } catch (err) {
    throw new Error(`OpenCV binding not available at ${binding}: run \`npm run setup\` (${(err as Error).message})`);
  }
}

/** The OpenCV binding (loaded once by Node's module cache). */
export const cv: Cv = load();
