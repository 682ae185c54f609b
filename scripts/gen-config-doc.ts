// Writes docs/config.md from the configuration schema (src/config/). Run after changing a key:
//   npx tsx scripts/gen-config-doc.ts
// test/config/config.test.ts fails when the committed file is stale.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderConfigMarkdown } from '../src/config/index.js';
import { PACKAGE_ROOT } from '../src/models/defaults.js';

const out = join(PACKAGE_ROOT, 'docs', 'config.md');
writeFileSync(out, renderConfigMarkdown());
console.log(`wrote ${out}`);
