// The end of a chaos run: every window the agent produced (its JSON-lines file) against what the
// subscriber received. A window is "delivered" when it arrived, "dropped and reported" when the agent
// counted it as dropped (the outbox's persisted counter; each such drop also leaves a gap in seq),
// "still queued" when it waits in the outbox for the next start, and otherwise LOST WITHOUT TRACE. Every
// message is checked against its JSON Schema, and every channel is searched for the planted secrets.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Ajv, type ValidateFunction } from 'ajv';
import type { AggregateWindow } from '../../src/aggregate/window.js';
import type { WindowPayload } from '../../src/mqtt/topics.js';
import { ROOT } from '../../test/helpers/paths.js';
import { findSecrets, type SecretHit } from '../../test/helpers/secrets.js';
import type { Received } from './subscriber.js';

export interface Reckoning {
  produced: number;
  delivered: number;
  droppedAndReported: number;
  stillQueued: number;
  lostWithoutTrace: number;
  /** Window messages received more than once (at-least-once delivery; consumers drop them by seq). */
  duplicates: number;
  /** Seqs never received below the highest one: should equal dropped + still queued. */
  seqGaps: number;
  deliveredNotInLocalFile: number;
  schemaInvalid: { topic: string; errors: string }[];
  secretsSeen: SecretHit[];
  lostSample: string[];
}

const key = (w: Pick<AggregateWindow, 'cameraId' | 'startMs' | 'endMs'>): string =>
  `${w.cameraId}@${w.startMs}-${w.endMs}`;

function validators(): (topic: string) => ValidateFunction | undefined {
  // Formats (date-time) are not checked: ajv-formats is not a dependency, and the types are.
  const ajv = new Ajv({ strict: false, logger: false });
  const load = (name: string): ValidateFunction =>
    ajv.compile(JSON.parse(readFileSync(join(ROOT, 'docs', 'mqtt', `${name}.schema.json`), 'utf8')) as object);
  const v = {
    window: load('window'),
    state: load('camera-state'),
    stats: load('stats'),
    status: load('status'),
    info: load('info'),
    model: load('model'),
    response: load('command-response'),
  };
  return (topic) => {
    const last = topic.split('/').at(-1)!;
    if (last === 'response') return v.response;
    return (v as Record<string, ValidateFunction>)[last];
  };
}

/** The outbox's own account after the agent stopped: windows it counted as dropped, and rows still waiting. */
export function outboxAccount(outboxPath: string): { dropped: number; pending: number; unstoredFile: number } {
  if (!existsSync(outboxPath)) return { dropped: 0, pending: 0, unstoredFile: 0 };
  const db = new Database(outboxPath, { readonly: true });
  try {
    const dropped =
      (db.prepare("SELECT value FROM meta WHERE key = 'dropped'").get() as { value: number } | undefined)?.value ?? 0;
    const pending = (db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
    const countFile = `${outboxPath}.unstored`;
    const unstoredFile = existsSync(countFile) ? Number(readFileSync(countFile, 'utf8').trim() || 0) : 0;
    return { dropped, pending, unstoredFile };
  } finally {
    db.close();
  }
}

export function reckon(o: {
  jsonl: string;
  messages: Received[];
  outbox: ReturnType<typeof outboxAccount>;
  otherChannels: Record<string, string>;
}): Reckoning {
  const produced = new Map<string, AggregateWindow>();
  for (const line of o.jsonl.split('\n')) {
    if (!line.trim()) continue;
    const w = JSON.parse(line) as AggregateWindow;
    produced.set(key(w), w);
  }
  const validate = validators();
  const schemaInvalid: Reckoning['schemaInvalid'] = [];
  const received = new Map<string, WindowPayload>();
  const seqs = new Set<number>();
  let windowMessages = 0;
  for (const m of o.messages) {
    const v = validate(m.topic);
    let body: unknown;
    try {
      body = m.topic.endsWith('/status') ? m.text : JSON.parse(m.text);
    } catch {
      schemaInvalid.push({ topic: m.topic, errors: `not JSON: ${m.text.slice(0, 80)}` });
      continue;
    }
    if (v && !v(body)) schemaInvalid.push({ topic: m.topic, errors: JSON.stringify(v.errors).slice(0, 300) });
    if (m.topic.endsWith('/window')) {
      const w = body as WindowPayload;
      windowMessages += 1;
      seqs.add(w.seq);
      received.set(key(w), w);
    }
  }
  const delivered = [...produced.keys()].filter((k) => received.has(k)).length;
  const maxSeq = Math.max(0, ...seqs);
  const dropped = o.outbox.dropped + o.outbox.unstoredFile;
  const undelivered = [...produced.keys()].filter((k) => !received.has(k));
  const channels: Record<string, string> = {
    ...o.otherChannels,
    jsonl: o.jsonl,
    mqtt: o.messages.map((m) => `${m.topic} ${m.text}`).join('\n'),
  };
  return {
    produced: produced.size,
    delivered,
    droppedAndReported: dropped,
    stillQueued: o.outbox.pending,
    lostWithoutTrace: Math.max(0, undelivered.length - dropped - o.outbox.pending),
    duplicates: windowMessages - seqs.size,
    seqGaps: maxSeq - seqs.size,
    deliveredNotInLocalFile: [...received.keys()].filter((k) => !produced.has(k)).length,
    schemaInvalid,
    secretsSeen: findSecrets(channels),
    lostSample: undelivered.slice(0, 10),
  };
}
