// Durable outbox on a real SQLite file in a temp dir: order, ack, restart, bounds, bad files.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Outbox } from '../../src/mqtt/outbox.js';

const tmp = mkdtempSync(join(tmpdir(), 'ea-outbox-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(tmp, `o${n++}`, 'outbox.db');

describe('Outbox', () => {
  it('peeks oldest first and deletes on ack', () => {
    const o = new Outbox({ path: fresh(), maxRows: 100, maxAgeS: 3600 });
    o.open();
    expect([o.enqueue('a', 'x'), o.enqueue('b', (s) => `y${s}`), o.enqueue('c', 'z')]).toEqual([1, 2, 3]);
    expect(o.peek(2).map((r) => [r.seq, r.topic, r.payload])).toEqual([
      [1, 'a', 'x'],
      [2, 'b', 'y2'],
    ]);
    o.ack(1);
    o.ack(1); // twice is harmless
    expect(o.peek(10).map((r) => r.seq)).toEqual([2, 3]);
    expect(o.stats()).toEqual({ pending: 2, dropped: 0, lastSeq: 3 });
    o.close();
  });

  it('keeps pending rows across a reopen and continues seq even when all were acked', () => {
    const path = fresh();
    const a = new Outbox({ path, maxRows: 100, maxAgeS: 3600 });
    a.open();
    a.enqueue('t', '1');
    a.enqueue('t', '2');
    a.ack(1);
    a.close();
    const b = new Outbox({ path, maxRows: 100, maxAgeS: 3600 });
    b.open();
    expect(b.peek(10).map((r) => r.payload)).toEqual(['2']);
    b.ack(2);
    b.close();
    const c = new Outbox({ path, maxRows: 100, maxAgeS: 3600 });
    c.open();
    expect(c.enqueue('t', '3')).toBe(3);
    c.close();
  });

  it('drops the oldest beyond maxRows and past maxAgeS, and persists the count', () => {
    const path = fresh();
    let now = 1_000_000;
    const o = new Outbox({ path, maxRows: 3, maxAgeS: 60, now: () => now });
    o.open();
    for (let i = 1; i <= 5; i++) o.enqueue('t', String(i));
    expect(o.peek(10).map((r) => r.payload)).toEqual(['3', '4', '5']);
    now += 61_000;
    o.enqueue('t', '6');
    expect(o.peek(10).map((r) => r.payload)).toEqual(['6']);
    o.close();
    const again = new Outbox({ path, maxRows: 3, maxAgeS: 60, now: () => now });
    again.open();
    expect(again.stats()).toEqual({ pending: 1, dropped: 5, lastSeq: 6 });
    again.close();
  });

  it('never prunes the row in flight (mqtt.js resends it on reconnect): it stays and is not counted', () => {
    let now = 1_000_000;
    const o = new Outbox({ path: fresh(), maxRows: 3, maxAgeS: 60, now: () => now });
    o.open();
    o.enqueue('t', '1');
    o.inFlight(1);
    for (let i = 2; i <= 6; i++) o.enqueue('t', String(i));
    // Full: the oldest go, except the one on the wire; still 3 rows in all.
    expect(o.peek(10).map((r) => r.payload)).toEqual(['1', '5', '6']);
    expect(o.stats()).toMatchObject({ pending: 3, dropped: 3 });
    now += 61_000;
    o.enqueue('t', '7');
    expect(o.peek(10).map((r) => r.payload)).toEqual(['1', '7']);
    o.inFlight(undefined);
    o.enqueue('t', '8');
    o.enqueue('t', '9');
    expect(o.peek(10).map((r) => r.payload)).toEqual(['7', '8', '9']);
    expect(o.stats()).toMatchObject({ pending: 3, dropped: 6 });
    o.close();
  });

  it('names the path when the file is not a database', () => {
    const path = fresh();
    const o0 = new Outbox({ path, maxRows: 3, maxAgeS: 60 });
    o0.open(); // creates the folder
    o0.close();
    writeFileSync(path, 'this is not sqlite '.repeat(300));
    rmSync(`${path}-wal`, { force: true });
    rmSync(`${path}-shm`, { force: true });
    const o = new Outbox({ path, maxRows: 3, maxAgeS: 60 });
    expect(() => o.open()).toThrow(path);
    expect(() => o.open()).toThrow(/not a database/);
  });

  it('names the path when another process holds the write lock', () => {
    const path = fresh();
    const first = new Outbox({ path, maxRows: 3, maxAgeS: 60 });
    first.open();
    first.close();
    const holder = new Database(path);
    holder.exec('BEGIN IMMEDIATE');
    try {
      const o = new Outbox({ path, maxRows: 3, maxAgeS: 60 });
      expect(() => o.open()).toThrow(new RegExp(`${path}.*locked`));
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
  });
});
