// The outbox on a real 2 MB tmpfs that fills up while the sink runs (real Mosquitto): no window may
// vanish without a trace. Windows that cannot be stored wait in memory and go out, in order, once space
// returns; beyond the memory bound they are counted as dropped and leave a gap in seq; a SIGKILL while
// windows wait is counted by the next start. Needs root for mount(8): skipped, saying so, without it.
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readiness } from '../../src/health/readiness.js';
import type { MqttSink } from '../../src/mqtt/sink.js';
import type { WindowPayload } from '../../src/mqtt/topics.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { listen, seqs, testSink, until } from '../helpers/mqtt.js';
import { ROOT, TSX } from '../helpers/paths.js';
import { testWindow } from '../helpers/windows.js';

const dir = mkdtempSync(join(tmpdir(), 'ea-diskfull-'));
const canMount = ((): boolean => {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    console.warn('disk-full tests skipped: cannot mount a tmpfs here (needs root)');
    return false;
  }
})();
let broker: Mosquitto;
let n = 0;

beforeAll(async () => {
  if (canMount) broker = await Mosquitto.start();
});
afterAll(async () => {
  await broker?.dispose();
  if (canMount) execFileSync('umount', ['-l', dir]);
  rmSync(dir, { recursive: true, force: true });
});

/** Fills the file system with a filler file until ENOSPC; returns a function that frees it. */
function fill(): () => void {
  const filler = join(dir, `filler-${n}`);
  const chunk = Buffer.alloc(16 * 1024, 1);
  try {
    for (;;) appendFileSync(filler, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
  return () => rmSync(filler);
}

function device(): { id: string; root: string; outbox: string } {
  n += 1;
  mkdirSync(join(dir, `d${n}`), { recursive: true });
  return { id: `full${n}`, root: `test/full${n}`, outbox: join(dir, `d${n}`, 'outbox.db') };
}

const ready = (s: MqttSink): ReturnType<typeof readiness> => {
  const m = s.stats();
  return readiness({
    modelsLoaded: true,
    cameras: [],
    mqtt: {
      connected: m.connected,
      pending: m.outbox.pending,
      maxRows: 1000,
      writable: m.outbox.writable,
      storeError: m.outbox.storeError,
      unstored: m.outbox.unstored,
    },
  });
};

describe.skipIf(!canMount)('outbox on a full disk', () => {
  it('keeps windows it cannot store in memory, says so (stats, readiness), and delivers them in order when space returns', async () => {
    const d = device();
    const sub = await listen(broker.url, `${d.root}/cameras/+/window`);
    const sink = testSink(d, broker.url);
    await sink.start();
    await sink.write(testWindow(0));
    await until('first window', () => sub.got.length === 1);
    const free = fill();
    for (let i = 1; i <= 30; i++) await sink.write(testWindow(i)); // resolves: kept, not thrown away
    const full = sink.stats().outbox;
    expect(full.writable).toBe(false);
    expect(full.storeError).toMatch(/full/i);
    expect(full.unstored).toBeGreaterThan(0);
    expect(ready(sink).ready).toBe(false);
    expect(ready(sink).reasons.join()).toMatch(/outbox cannot store windows/);
    free();
    await until('all stored and delivered', () => sink.stats().outbox.unstored === 0 && seqs(sub.got).length === 31);
    expect(seqs(sub.got)).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));
    const starts = [
      ...new Map(sub.got.map((m) => JSON.parse(m.text) as WindowPayload).map((p) => [p.seq, p.startMs])).values(),
    ];
    expect(starts).toEqual(Array.from({ length: 31 }, (_, i) => i * 60_000));
    expect(sink.stats().outbox).toMatchObject({ writable: true, storeError: null, dropped: 0 });
    expect(ready(sink).ready).toBe(true);
    await sink.stop();
    await sub.client.endAsync();
  }, 30_000);

  it('beyond outbox.maxUnstored drops the oldest waiting windows, counts them and leaves a gap in seq', async () => {
    const d = device();
    const sub = await listen(broker.url, `${d.root}/cameras/+/window`);
    const sink = testSink(d, broker.url, { sink: { maxUnstored: 3 } });
    await sink.start();
    await sink.write(testWindow(0));
    await until('first window', () => sub.got.length === 1);
    const free = fill();
    // Until one is refused for good, then 8 more: exactly 8 beyond the 3 kept in memory... minus those SQLite still fitted.
    let i = 1;
    while (sink.stats().outbox.writable) await sink.write(testWindow(i++));
    const firstUnstored = i - 1;
    for (let k = 0; k < 8; k++) await sink.write(testWindow(i++));
    expect(sink.stats().outbox.unstored).toBe(3);
    expect(sink.stats().outbox.dropped).toBe(9 - 3);
    free();
    await until('stored again', () => sink.stats().outbox.writable && sink.stats().outbox.pending === 0);
    const got = seqs(sub.got);
    const last = got.at(-1)!;
    expect(got.length + 6).toBe(last); // every seq either arrived or is one of the 6 counted drops
    const payloads = new Map(
      sub.got.map((m) => JSON.parse(m.text) as WindowPayload).map((p) => [p.startMs / 60_000, p.seq]),
    );
    // The oldest waiting ones went; the newest three arrived right after the gap.
    for (let k = firstUnstored; k < firstUnstored + 6; k++) expect(payloads.has(k)).toBe(false);
    expect(payloads.get(i - 3)).toBe(payloads.get(firstUnstored - 1)! + 7);
    expect(sink.stats().outbox.dropped).toBe(6);
    await sink.stop();
    await sub.client.endAsync();
  }, 30_000);

  it('a SIGKILL while windows wait in memory is counted as dropped by the next start (gap in seq)', async () => {
    const d = device();
    const sub = await listen(broker.url, `${d.root}/cameras/+/window`);
    const child = spawn(
      process.execPath,
      [
        '--import',
        TSX,
        join(ROOT, 'test', 'helpers', 'mqtt-sink-child.ts'),
        JSON.stringify({ url: broker.url, outbox: d.outbox, deviceId: d.id, root: d.root }),
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    await until('child connected', () => out.includes('connected'), 20_000);
    const free = fill();
    for (let i = 0; i < 6; i++) child.stdin.write(`write cam1 ${i}\n`);
    child.stdin.write('stats\n');
    await until('6 accepted and stats', () => /stats (.*)\n/.test(out), 10_000);
    const unstored = (JSON.parse(/stats (.*)\n/.exec(out)![1]!) as ReturnType<MqttSink['stats']>).outbox.unstored;
    expect(unstored).toBeGreaterThan(0);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    free();
    const delivered = seqs(sub.got).length; // those SQLite still fitted, published by the child
    const sink = testSink(d, broker.url);
    await sink.start();
    await sink.write(testWindow(10));
    await until('delivered', () => sub.got.some((m) => (JSON.parse(m.text) as WindowPayload).startMs === 600_000));
    expect(sink.stats().outbox.dropped).toBe(unstored);
    expect(delivered + unstored).toBe(6);
    expect(seqs(sub.got).at(-1)).toBe(7); // the new window's seq skips the dropped ones
    await sink.stop();
    await sub.client.endAsync();
  }, 40_000);
});
