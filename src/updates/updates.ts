// Remote model updates on the device: the model/update, model/rollback and model/status commands, the
// update pipeline (signature, download, hashes, validation in a child process, commit to the store,
// hot swap), probation with automatic rollback, and the state behind the retained `model` topic.
// Commands answer at once (accepted, busy, bad_request); the work runs behind and reports its states.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ModelUpdateConfig } from '../config/types.js';
import type { InferenceEngine, InferenceHealth } from '../inference/engine.js';
import { CommandError, type CommandFn } from '../mqtt/commands.js';
import type { ModelStatePayload } from '../mqtt/topics.js';
import { chooseAtBoot } from './boot.js';
import { canonicalBytes } from '../models/canonical.js';
import { fetchBundle, parseUpdateArgs, readCa, type UpdateRequest } from './fetch-bundle.js';
import { MANIFEST_FILE, sha256Hex, type Task } from '../models/manifest.js';
import { checkSignature, verifyBundleDir } from '../models/signed-bundle.js';
import { parsePublicKey } from '../models/signing.js';
import { ModelStore } from './store.js';
import { TASKS, UpdateStates } from './update-state.js';
import { downgradeRefusal } from './version-order.js';
import { validateInChild } from './validate-in-child.js';

/** What the updates need from inference: swap a task's model, and hear about its health. */
type Swapper = Pick<InferenceEngine, 'swap' | 'on'>;

/** Bad frames during probation before the new model is rolled back. */
const BAD_FRAMES = 3;

const versionOf = (dir: string): string => {
  try {
    return (JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
};

export class ModelUpdates {
  readonly store: ModelStore;
  private readonly states: UpdateStates;
  private readonly serving = {} as Record<Task, { dir: string; version: string }>;
  private readonly busy = new Map<Task, AbortController>();
  private readonly probation = new Map<Task, { timer: NodeJS.Timeout; bad: number }>();
  private inference: Swapper | undefined;
  /** Parsed once (the configuration check already proved they parse). */
  private readonly trustedKeys: ReturnType<typeof parsePublicKey>[];

  constructor(
    private readonly cfg: ModelUpdateConfig,
    private readonly configured: Record<Task, string>,
    private readonly log: Logger,
  ) {
    this.store = new ModelStore(cfg.dir, cfg.keep);
    this.states = new UpdateStates(this.store);
    this.trustedKeys = cfg.trustedKeys.map((k) => parsePublicKey(k));
  }

  /** Chooses each task's bundle (crash loop and damage roll back here) and resets stale states. */
  boot(): Record<Task, string> {
    for (const task of TASKS) {
      this.store.cleanStaging(task);
      const choice = chooseAtBoot(
        this.store,
        task,
        this.configured[task],
        this.cfg.crashLoopBoots,
        this.cfg.maxFileBytes,
      );
      const version = choice.stored?.version ?? versionOf(choice.dir);
      this.serving[task] = { dir: choice.dir, version };
      this.states.init(task, version);
      if (choice.rolledBack) {
        this.log.warn(
          { task, from: choice.rolledBack.from, to: version },
          `model rolled back at boot: ${choice.rolledBack.reason}`,
        );
        this.states.set(task, {
          state: 'rolled_back',
          version,
          previousVersion: choice.rolledBack.from,
          target: null,
          error: `automatic rollback from ${choice.rolledBack.from}: ${choice.rolledBack.reason}`,
        });
      }
      if (this.store.read(task).trial) this.startProbation(task);
    }
    return {
      'face-detector': this.serving['face-detector'].dir,
      'emotion-classifier': this.serving['emotion-classifier'].dir,
    };
  }

  /** Inference is up: swaps go to it, and its health reports count against a model on probation. */
  attach(inference: Swapper): void {
    this.inference = inference;
    inference.on('health', (h) => this.onHealth(h));
  }

  status(): ModelStatePayload {
    return this.states.payload();
  }

  onState(fn: (s: ModelStatePayload) => void): void {
    this.states.onChange(fn);
  }

  commands(): Record<string, CommandFn> {
    return {
      'model/update': (args) => this.update(args),
      'model/rollback': (args) => this.rollbackCommand(args),
      'model/status': () => ({
        ...this.status(),
        stored: Object.fromEntries(TASKS.map((t) => [t, this.store.read(t)])),
      }),
    };
  }

  stop(): void {
    for (const ac of this.busy.values()) ac.abort();
    for (const p of this.probation.values()) clearTimeout(p.timer);
    this.probation.clear();
  }

  private update(args: Record<string, unknown>): unknown {
    const req = parseUpdateArgs(args);
    const task = req.manifest.task;
    if (this.busy.has(task))
      throw new CommandError(
        'busy',
        `an update of ${task} is already in progress (version ${this.states.get(task).target ?? '?'})`,
      );
    if (!this.inference) throw new CommandError('busy', 'the models are still loading');
    // Checked here on the manifest as sent; run() then refuses it anyway unless the signature covers it.
    const downgrade = downgradeRefusal(
      req.manifest.version,
      this.serving[task].version,
      req.manifest.allowDowngrade === true,
      args.allowDowngrade === true,
    );
    if (downgrade) {
      this.log.warn(
        { task, version: req.manifest.version, serving: this.serving[task].version },
        'model update refused: downgrade',
      );
      throw new CommandError('bad_request', downgrade);
    }
    const inline = Object.entries(req.sources).reduce(
      (a, [name, s]) => a + ('data' in s ? req.manifest.files[name]!.size : 0),
      0,
    );
    if (inline > this.cfg.maxInlineBytes)
      throw new CommandError(
        'bad_request',
        `inline files total ${inline} bytes, more than models.update.maxInlineBytes (${this.cfg.maxInlineBytes}); give URLs instead`,
      );
    const ac = new AbortController();
    this.busy.set(task, ac);
    this.states.set(task, {
      state: 'verifying',
      target: req.manifest.version,
      previousVersion: this.states.get(task).previousVersion,
    });
    this.log.info({ task, version: req.manifest.version }, 'model update accepted');
    void this.run(task, req, ac).finally(() => this.busy.delete(task));
    return { accepted: true, task, version: req.manifest.version };
  }

  private async run(task: Task, req: UpdateRequest, ac: AbortController): Promise<void> {
    const target = req.manifest.version;
    const where = `update ${task}@${target}`;
    const verifyOpts = {
      trustedKeys: this.trustedKeys,
      allowUnsigned: this.cfg.allowUnsigned,
      maxFileBytes: this.cfg.maxFileBytes,
    };
    let staging: string | undefined;
    try {
      // Signature and declared sizes before a single byte is downloaded.
      checkSignature(req.raw, req.signature, verifyOpts, where);
      for (const [name, e] of Object.entries(req.manifest.files)) {
        if (e.size > this.cfg.maxFileBytes)
          throw new Error(
            `files.${name}: oversize: ${e.size} bytes exceeds models.update.maxFileBytes (${this.cfg.maxFileBytes})`,
          );
      }
      this.states.set(task, { state: 'downloading', progress: 0, target });
      staging = this.store.staging(task);
      const ca = readCa(this.cfg.ca);
      await fetchBundle(req, {
        dir: staging,
        maxFileBytes: this.cfg.maxFileBytes,
        deadline: Date.now() + this.cfg.downloadTimeoutS * 1000,
        signal: ac.signal,
        ...(ca ? { ca } : {}),
        onProgress: (f) => this.states.progress(task, f),
      });
      this.states.set(task, { state: 'verifying', target });
      verifyBundleDir(staging, verifyOpts);
      this.states.set(task, { state: 'validating', target });
      const r = await validateInChild(staging, {
        task,
        baseline: this.serving[task].dir,
        latencyMultiple: this.cfg.latencyMultiple,
        timeoutMs: this.cfg.validateTimeoutS * 1000,
      });
      if (!r.ok) throw new Error(`validation failed: ${r.error ?? 'unknown reason'}`);
      if (ac.signal.aborted) throw new Error('cancelled: the agent is stopping');
      const id = `${target}-${sha256Hex(canonicalBytes(req.raw)).slice(0, 8)}`;
      const v = this.store.commit(task, staging, id, target);
      staging = undefined;
      const from = this.serving[task];
      // The pointer first: from here a power cut boots the new (validated) version.
      this.store.activate(task, v);
      try {
        await this.inference!.swap(task, v.dir);
      } catch (err) {
        this.store.rollback(task);
        throw new Error(`activation failed, kept ${from.version}: ${(err as Error).message}`);
      }
      this.serving[task] = { dir: v.dir, version: target };
      this.states.set(task, { state: 'active', version: target, previousVersion: from.version, target: null });
      this.log.info(
        { task, version: target, previous: from.version, latencyMs: r.latencyMs, baselineMs: r.baselineMs },
        'model update active',
      );
      this.startProbation(task);
    } catch (err) {
      const message = (err as Error).message;
      this.log.warn({ task, version: target, err: message }, 'model update failed; the serving model is unchanged');
      this.states.set(task, { state: 'failed', target, error: message });
    } finally {
      if (staging) rmSync(staging, { recursive: true, force: true });
    }
  }

  private rollbackCommand(args: Record<string, unknown>): unknown {
    const task = args.task;
    if (task !== 'face-detector' && task !== 'emotion-classifier')
      throw new CommandError('bad_request', 'args.task: must be "face-detector" or "emotion-classifier"');
    if (this.busy.has(task)) throw new CommandError('busy', `an update of ${task} is in progress`);
    if (!this.inference) throw new CommandError('busy', 'the models are still loading');
    if (!this.store.read(task).current)
      throw new CommandError('bad_request', `${task}: nothing to roll back to; the configured bundle serves`);
    const ac = new AbortController();
    this.busy.set(task, ac);
    const from = this.serving[task].version;
    void this.rollback(task, 'rolled back by command').finally(() => this.busy.delete(task));
    return { accepted: true, task, from };
  }

  /** Back to the previous version (or the configured bundle), in the store and in inference. */
  private async rollback(task: Task, reason: string): Promise<void> {
    this.endProbation(task, false);
    const from = this.serving[task].version;
    const p = this.store.rollback(task);
    if (!p) return;
    const dir = p.current?.dir ?? this.configured[task];
    const version = p.current?.version ?? versionOf(dir);
    try {
      await this.inference!.swap(task, dir);
      this.serving[task] = { dir, version };
      this.states.set(task, {
        state: 'rolled_back',
        version,
        previousVersion: from,
        target: null,
        error: `${reason} (from ${from} to ${version})`,
      });
      this.log.warn({ task, from, to: version }, `model rolled back: ${reason}`);
    } catch (err) {
      // The pointer already names the older version: the next start serves it.
      this.states.set(task, {
        state: 'failed',
        target: version,
        error: `rollback to ${version} could not load (${(err as Error).message}); it serves from the next start`,
      });
    }
  }

  private startProbation(task: Task): void {
    this.endProbation(task, false);
    const timer = setTimeout(() => this.endProbation(task, true), this.cfg.probationS * 1000);
    timer.unref();
    this.probation.set(task, { timer, bad: 0 });
  }

  /** passed: the version served its probation without trouble; boots no longer count against it. */
  private endProbation(task: Task, passed: boolean): void {
    const p = this.probation.get(task);
    if (!p) return;
    clearTimeout(p.timer);
    this.probation.delete(task);
    if (passed) {
      const ptr = this.store.read(task);
      if (ptr.trial) this.store.write(task, { ...ptr, trial: null });
      this.log.info({ task, version: this.serving[task].version }, 'model passed its probation');
    }
  }

  private onHealth(h: InferenceHealth): void {
    // An error not tied to a task counts against whichever model is on probation.
    const tasks = h.task ? [h.task] : [...this.probation.keys()];
    for (const task of tasks) {
      const p = this.probation.get(task);
      if (!p || this.busy.has(task)) continue;
      p.bad += 1;
      if (p.bad < BAD_FRAMES) continue;
      const ac = new AbortController();
      this.busy.set(task, ac);
      const what =
        h.problem === 'nan' ? 'NaN outputs' : h.problem === 'constant' ? 'constant outputs' : 'inference errors';
      void this.rollback(
        task,
        `automatic rollback: ${what} on ${p.bad} frames after activation (${h.message})`,
      ).finally(() => this.busy.delete(task));
    }
  }
}
