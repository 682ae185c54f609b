// Which bundle serves a task at start: the store's current version, unless it is on probation and the
// agent keeps restarting (a crash loop), or its files are damaged; then the previous one, down to the
// configured bundle. Runs before the models load, so a bad stored model can never keep the agent down.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MANIFEST_FILE, type Task } from '../models/manifest.js';
import { checkFile, DEFAULT_MAX_FILE_BYTES, parseManifestText } from '../models/signed-bundle.js';
import type { ModelStore, StoredVersion } from './store.js';

export interface BootChoice {
  dir: string;
  /** The stored version serving; null when the configured bundle serves. */
  stored: StoredVersion | null;
  /** Set when a rollback happened at this boot: the version rolled back from, and why. */
  rolledBack?: { from: string; reason: string };
}

/** Manifest and every file's size and hash (not readBundle: this runs on the main thread, without ONNX Runtime). */
function intact(v: StoredVersion, task: Task, maxFileBytes: number): string | null {
  const where = `model bundle ${v.dir}`;
  try {
    const { manifest } = parseManifestText(readFileSync(join(v.dir, MANIFEST_FILE), 'utf8'), where);
    if (manifest.task !== task) return `task: is "${manifest.task}", expected "${task}"`;
    for (const [name, e] of Object.entries(manifest.files)) checkFile(v.dir, name, e, maxFileBytes, where);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** `maxFileBytes`: models.update.maxFileBytes, the limit the version was accepted under. */
export function chooseAtBoot(
  store: ModelStore,
  task: Task,
  configuredDir: string,
  maxTrialBoots: number,
  maxFileBytes = DEFAULT_MAX_FILE_BYTES,
): BootChoice {
  let p = store.read(task);
  let rolledBack: BootChoice['rolledBack'];
  if (p.current && p.trial) {
    const boots = p.trial.boots + 1;
    if (boots > maxTrialBoots) {
      const from = p.current.version;
      p = store.rollback(task) ?? p;
      rolledBack = { from, reason: `crash loop: ${boots - 1} restarts while version ${from} was on probation` };
    } else {
      p = { ...p, trial: { ...p.trial, boots } };
      store.write(task, p);
    }
  }
  // A damaged version (disk corruption, a manual edit) falls back too, one step at a time.
  while (p.current) {
    const problem = intact(p.current, task, maxFileBytes);
    if (problem === null) break;
    const from = p.current.version;
    p = store.rollback(task) ?? { current: null, previous: [], trial: null };
    rolledBack = { from, reason: `stored version ${from} is damaged: ${problem}` };
  }
  return { dir: p.current?.dir ?? configuredDir, stored: p.current, ...(rolledBack ? { rolledBack } : {}) };
}
