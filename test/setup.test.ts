// scripts/setup.sh is idempotent: once everything is in place, a run changes nothing and says nothing
// in --quiet mode (npm test and npm run demo call it every time).
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/paths.js';

describe('scripts/setup.sh', () => {
  it('is a silent no-op when already set up', () => {
    const binding = join(ROOT, 'node_modules', '@u4', 'opencv4nodejs', 'build', 'Release', 'opencv4nodejs.node');
    const before = statSync(binding).mtimeMs;
    const r = spawnSync('bash', [join(ROOT, 'scripts', 'setup.sh'), '--quiet'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(statSync(binding).mtimeMs).toBe(before);
  });

  it('rejects an unknown option', () => {
    const r = spawnSync('bash', [join(ROOT, 'scripts', 'setup.sh'), '--frobnicate'], { encoding: 'utf8' });
    expect(r.status).toBe(64);
    expect(r.stderr).toContain('unknown option --frobnicate');
  });
});
