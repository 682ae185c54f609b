// The store under SIGKILL: a child activates and rolls back versions in a loop and is killed at random
// moments (seeded, so a failure replays); after every kill the boot choice must name an intact version
// (every file's hash right) or the configured bundle, never a damaged one. SIGKILL loses no page cache,
// so this checks the order of the steps (complete folder before pointer, pointer by rename, prune after),
// not the fsyncs, which only a real power cut would exercise.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chooseAtBoot } from '../../src/updates/boot.js';
import { readBundle } from '../../src/models/bundle.js';
import { ModelStore } from '../../src/updates/store.js';
import { MODELS, ROOT, TSX } from '../helpers/paths.js';
import { prng } from '../helpers/prng.js';

const root = mkdtempSync(join(tmpdir(), 'ea-crash-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const CONFIGURED = join(MODELS, 'emotion-int8');

async function churnAndKill(afterMs: number): Promise<void> {
  const child = spawn(
    process.execPath,
    ['--import', TSX, join(ROOT, 'test', 'updates', 'store-churn.ts'), root, CONFIGURED],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`churn exited early (${code})`)));
  });
  await new Promise((r) => setTimeout(r, afterMs));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
}

describe('model store under SIGKILL', () => {
  it('always boots an intact version after being killed mid-activation or mid-rollback (25 random kills)', async () => {
    const next = prng(20261128);
    const store = new ModelStore(root, 2);
    const task = 'emotion-classifier' as const;
    let storedBoots = 0;
    for (let k = 0; k < 25; k++) {
      await churnAndKill(Math.floor(next() * 400));
      const choice = chooseAtBoot(store, task, CONFIGURED, 1_000_000);
      expect(choice.rolledBack, `kill ${k}: ${choice.rolledBack?.reason}`).toBeUndefined();
      const b = readBundle(choice.dir, task); // every file's size and sha256 again
      expect(b.manifest.task).toBe(task);
      if (choice.stored) {
        storedBoots++;
        // Rollback targets are intact too: the pointer never names a pruned folder.
        for (const v of store.read(task).previous) expect(existsSync(v.dir), `kill ${k}: previous ${v.id}`).toBe(true);
      }
      store.cleanStaging(task);
      expect(readdirSync(join(root, task)).filter((n) => n.startsWith('staging-') || n.includes('.tmp-'))).toEqual([]);
    }
    // The kills landed after at least some activations, not all before the first.
    expect(storedBoots).toBeGreaterThan(10);
  }, 120_000);
});
