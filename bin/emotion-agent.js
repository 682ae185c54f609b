#!/usr/bin/env node
// Thin launcher: runs the compiled CLI. `npm run build` (done by scripts/setup.sh) produces dist/.
import('../dist/cli.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli.js')) {
    console.error('emotion-agent is not built yet: run `npm run setup` (or `bash scripts/setup.sh`) first.');
    process.exit(78);
  }
  throw err;
});
