// The per-task model update state (the retained `model` topic, the health page): kept in memory,
// persisted next to the store so a restart can tell that an update was interrupted, and handed to
// listeners on every change.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelStatePayload, ModelTaskState, ModelUpdateState } from '../mqtt/topics.js';
import type { Task } from '../models/manifest.js';
import { writeFileAtomic, type ModelStore } from './store.js';

export const TASKS: readonly Task[] = ['face-detector', 'emotion-classifier'];
const IN_PROGRESS: readonly ModelUpdateState[] = ['downloading', 'verifying', 'validating'];

export class UpdateStates {
  private readonly states = {} as Record<Task, ModelTaskState>;
  private readonly listeners: ((s: ModelStatePayload) => void)[] = [];

  constructor(private readonly store: ModelStore) {}

  /**
   * Loads what was persisted. An update that was in progress when the agent stopped (crash, power cut)
   * cannot resume: its staging folder is gone, so it becomes failed, saying so.
   */
  init(task: Task, version: string, now = new Date()): ModelTaskState {
    let saved: ModelTaskState | undefined;
    try {
      saved = JSON.parse(readFileSync(join(this.store.taskDir(task), 'state.json'), 'utf8')) as ModelTaskState;
    } catch {
      /* first start, or an unreadable file: start idle */
    }
    let s: ModelTaskState = {
      state: 'idle',
      progress: null,
      version,
      previousVersion: null,
      target: null,
      error: null,
      time: now.toISOString(),
    };
    if (saved && typeof saved.state === 'string') {
      s = {
        ...s,
        state: saved.state,
        previousVersion: saved.previousVersion ?? null,
        target: saved.target ?? null,
        error: saved.error ?? null,
        time: saved.time ?? s.time,
      };
      if (IN_PROGRESS.includes(saved.state)) {
        s = {
          ...s,
          state: 'failed',
          progress: null,
          error: `interrupted by a restart while ${saved.state}${saved.target ? ` version ${saved.target}` : ''}`,
          time: now.toISOString(),
        };
      }
    }
    this.states[task] = s;
    // Only a reset is written: an agent that never receives an update leaves no files behind.
    if (saved && s.state !== saved.state) this.persist(task);
    return s;
  }

  get(task: Task): ModelTaskState {
    return this.states[task];
  }

  set(task: Task, change: Partial<ModelTaskState> & { state: ModelUpdateState }): ModelTaskState {
    const s: ModelTaskState = {
      ...this.states[task],
      progress: null,
      error: null,
      ...change,
      time: new Date().toISOString(),
    };
    this.states[task] = s;
    this.persist(task);
    this.emit();
    return s;
  }

  /** Progress only, in whole percent (one message per step, not per network chunk); not persisted. */
  progress(task: Task, fraction: number): void {
    const progress = Math.floor(fraction * 100) / 100;
    if (progress === this.states[task].progress) return;
    this.states[task] = { ...this.states[task], progress };
    this.emit();
  }

  payload(): ModelStatePayload {
    return { 'face-detector': this.states['face-detector'], 'emotion-classifier': this.states['emotion-classifier'] };
  }

  onChange(fn: (s: ModelStatePayload) => void): void {
    this.listeners.push(fn);
    fn(this.payload());
  }

  private emit(): void {
    const p = this.payload();
    for (const fn of this.listeners) fn(p);
  }

  private persist(task: Task): void {
    try {
      mkdirSync(this.store.taskDir(task), { recursive: true });
      writeFileAtomic(join(this.store.taskDir(task), 'state.json'), `${JSON.stringify(this.states[task])}\n`);
    } catch {
      /* the state is informative; a full disk must not stop the update logic */
    }
  }
}
