// The WindowSink contract (sink-contract.ts) against the JSON Lines sink: a real file, read back from
// disk, and a stream (stdout in production), read back from what it received.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll } from 'vitest';
import { JsonLinesSink } from '../../src/aggregate/sink.js';
import type { AggregateWindow } from '../../src/aggregate/window.js';
import { describeSinkContract } from './sink-contract.js';

const tmp = mkdtempSync(join(tmpdir(), 'ea-sink-contract-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const parse = (text: string): AggregateWindow[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AggregateWindow);

let n = 0;
describeSinkContract(
  'JsonLinesSink to a file',
  () => {
    n += 1;
    const path = join(tmp, `run${n}`, 'aggregates.jsonl');
    return Promise.resolve({
      sink: new JsonLinesSink(path),
      read: () => (existsSync(path) ? parse(readFileSync(path, 'utf8')) : []),
    });
  },
  { eventual: false, strictLifecycle: true },
);

describeSinkContract(
  'JsonLinesSink to a stream',
  () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => {
      text += c.toString('utf8');
    });
    return Promise.resolve({ sink: new JsonLinesSink(out), read: () => parse(text) });
  },
  { eventual: false, strictLifecycle: true },
);
