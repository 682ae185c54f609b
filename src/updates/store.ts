// The on-device model store: per task, versioned folders and a pointer file naming the serving version
// and the ones kept for rollback. Every change is crash-safe: a version folder is complete and fsynced
// before the pointer names it, the pointer is replaced by write-temp, fsync, rename, fsync-dir, and old
// folders are deleted only after the pointer that drops them is durable. So after a power cut at any
// moment the pointer names a complete version (or none: the configured bundle serves).
//
//   <root>/<task>/pointer.json       { current, previous[], trial }
//   <root>/<task>/state.json         the last published update state (model topic)
//   <root>/<task>/versions/<id>/     a verified bundle (id = version + manifest hash prefix)
//   <root>/<task>/staging-*/         downloads in progress; deleted at start
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Task } from '../models/manifest.js';

export interface StoredVersion {
  /** Folder name under versions/. */
  id: string;
  version: string;
  /** Absolute bundle folder. */
  dir: string;
  activatedAt?: string;
}

export interface TaskPointer {
  /** null: the configured bundle serves. */
  current: StoredVersion | null;
  /** Rollback targets, newest first (models.update.keep of them). */
  previous: StoredVersion[];
  /** Set at activation, cleared once the version has served models.update.probationS; counts boots meanwhile. */
  trial: { boots: number; since: string } | null;
}

export const EMPTY_POINTER: TaskPointer = { current: null, previous: [], trial: null };

export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** write-temp, fsync, rename, fsync the folder: the file is the old one or the new one, never a mix. */
export function writeFileAtomic(path: string, text: string): void {
  const dir = join(path, '..');
  const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, text);
  fsyncPath(tmp);
  renameSync(tmp, path);
  fsyncPath(dir);
}

export class ModelStore {
  constructor(
    readonly root: string,
    readonly keep: number,
  ) {}

  taskDir(task: Task): string {
    return join(this.root, task);
  }

  /** A missing or unreadable pointer means "no stored version": the configured bundle serves. */
  read(task: Task): TaskPointer {
    try {
      const p = JSON.parse(readFileSync(join(this.taskDir(task), 'pointer.json'), 'utf8')) as TaskPointer;
      return {
        current: p.current ?? null,
        previous: Array.isArray(p.previous) ? p.previous : [],
        trial: p.trial ?? null,
      };
    } catch {
      return { ...EMPTY_POINTER, previous: [] };
    }
  }

  write(task: Task, p: TaskPointer): void {
    mkdirSync(this.taskDir(task), { recursive: true });
    writeFileAtomic(join(this.taskDir(task), 'pointer.json'), `${JSON.stringify(p, null, 2)}\n`);
  }

  /** A fresh, empty folder to download into, removed by cleanStaging() if never committed. */
  staging(task: Task): string {
    const dir = join(this.taskDir(task), `staging-${randomBytes(6).toString('hex')}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  cleanStaging(task: Task): void {
    const dir = this.taskDir(task);
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir))
      if (name.startsWith('staging-') || name.includes('.tmp-'))
        rmSync(join(dir, name), { recursive: true, force: true });
  }

  /** Makes a verified staging folder a version: files fsynced, then renamed into versions/ and the folder fsynced. */
  commit(task: Task, staging: string, id: string, version: string): StoredVersion {
    for (const name of readdirSync(staging)) fsyncPath(join(staging, name));
    fsyncPath(staging);
    const versions = join(this.taskDir(task), 'versions');
    mkdirSync(versions, { recursive: true });
    const dir = join(versions, id);
    // The same id was stored before (a re-push): its content is the same signed manifest, keep it.
    if (existsSync(dir)) rmSync(staging, { recursive: true, force: true });
    else renameSync(staging, dir);
    fsyncPath(versions);
    return { id, version, dir };
  }

  /** The new version serves; the old one becomes the first rollback target. */
  activate(task: Task, v: StoredVersion, now = new Date()): TaskPointer {
    const p = this.read(task);
    const prev = p.current ? [p.current, ...p.previous.filter((x) => x.id !== p.current!.id)] : p.previous;
    const next: TaskPointer = {
      current: { ...v, activatedAt: now.toISOString() },
      previous: prev.filter((x) => x.id !== v.id).slice(0, this.keep),
      trial: { boots: 0, since: now.toISOString() },
    };
    this.write(task, next);
    this.prune(task, next);
    return next;
  }

  /**
   * The previous version serves again (or, with none kept, the configured bundle); the version rolled
   * back from is dropped, being known bad or unwanted. null when nothing stored serves.
   */
  rollback(task: Task): TaskPointer | null {
    const p = this.read(task);
    if (!p.current) return null;
    const [target, ...rest] = p.previous;
    const next: TaskPointer = { current: target ?? null, previous: rest, trial: null };
    this.write(task, next);
    this.prune(task, next);
    return next;
  }

  /** Deletes version folders the pointer no longer names (after the pointer is durable). */
  prune(task: Task, p: TaskPointer): void {
    const versions = join(this.taskDir(task), 'versions');
    if (!existsSync(versions)) return;
    const keep = new Set([p.current, ...p.previous].filter((v): v is StoredVersion => v !== null).map((v) => v.id));
    for (const name of readdirSync(versions))
      if (!keep.has(name)) rmSync(join(versions, name), { recursive: true, force: true });
  }
}
