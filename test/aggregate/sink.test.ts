// JSON Lines sink: to a stream and to a file in append mode.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { JsonLinesSink } from '../../src/aggregate/sink.js';
import { testWindow } from '../helpers/windows.js';

const tmp = mkdtempSync(join(tmpdir(), 'ea-sink-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const win = testWindow;
const lines = (text: string): unknown[] =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as unknown);

describe('JsonLinesSink', () => {
  it('writes one valid JSON object per line to a stream, in order, without ending it', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString('utf8')));
    const sink = new JsonLinesSink(out);
    expect(sink.name).toBe('jsonl:stream');
    await sink.start();
    await sink.start();
    // Not awaited one by one: order must still hold.
    const writes = Array.from({ length: 20 }, (_, i) => sink.write(win(i)));
    await Promise.all(writes);
    await sink.flush();
    await sink.stop();
    await sink.stop();
    expect(lines(text)).toEqual(Array.from({ length: 20 }, (_, i) => win(i)));
    expect(out.writableEnded).toBe(false);
  });

  it('appends to a file, keeping what was there, and flushes before stop', async () => {
    const path = join(tmp, 'sub', 'dir', 'aggregates.jsonl');
    const first = new JsonLinesSink(path);
    expect(first.name).toBe(`jsonl:${path}`);
    await first.start();
    await first.write(win(0));
    await first.flush();
    expect(lines(readFileSync(path, 'utf8'))).toEqual([win(0)]);
    await first.stop();

    const second = new JsonLinesSink(path);
    await second.start();
    await second.write(win(1, 'cam2'));
    await second.write(win(2, 'cam2'));
    await second.stop();
    expect(lines(readFileSync(path, 'utf8'))).toEqual([win(0), win(1, 'cam2'), win(2, 'cam2')]);
  });

  it('names the path when the file cannot be opened', async () => {
    // A regular file where a directory should be: fails even for root.
    const blocker = join(tmp, 'not-a-dir');
    writeFileSync(blocker, 'x');
    const path = join(blocker, 'aggregates.jsonl');
    const sink = new JsonLinesSink(path);
    await expect(sink.start()).rejects.toThrow(`cannot open aggregate output file ${path}`);
    await sink.stop();
  });

  it('refuses writes before start and after stop', async () => {
    const sink = new JsonLinesSink(new PassThrough());
    await expect(sink.write(win(0))).rejects.toThrow(/not started/);
    await sink.start();
    await sink.stop();
    await expect(sink.write(win(0))).rejects.toThrow(/stopped/);
    await expect(sink.start()).rejects.toThrow(/stopped/);
  });
});
