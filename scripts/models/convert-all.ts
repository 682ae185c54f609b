// `npm run models:convert`: rebuilds every shipped bundle from the npm-shipped weights, in order
// (fp32 conversions, then INT8 quantization of them). Output is byte-identical on every run; the
// conversion tests check the committed hashes.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const tsx = pathToFileURL(join(here, '..', '..', 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
// make-yunet-bundles.ts copies the YuNet graph from ../shared/models/yunet (it says so and skips when absent).
for (const script of ['convert-emotion.ts', 'convert-ssd-mobilenetv1.ts', 'make-yunet-bundles.ts', 'quantize-models.ts']) {
  console.log(`== ${script}`);
  const r = spawnSync(process.execPath, ['--import', tsx, join(here, script)], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`${script} failed (exit ${r.status})`);
    process.exit(1);
  }
}
