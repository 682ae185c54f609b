// `emotion-agent watch` as a real process against a real Mosquitto, and its line format.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMessage, watchTopics } from '../../src/cli/watch.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { ROOT, TSX } from '../helpers/paths.js';
import { testWindow } from '../helpers/windows.js';

const CLI = join(ROOT, 'src', 'cli.ts');
let broker: Mosquitto;
beforeAll(async () => {
  broker = await Mosquitto.start();
});
afterAll(async () => {
  await broker.dispose();
});

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('emotion-agent watch', () => {
  it('formats windows (with and without the breakdown), states, status and junk', () => {
    const w = { ...testWindow(2), seq: 1, deviceId: 'k1', framesDropped: 3 };
    expect(formatMessage('ea', 'ea/k1/cameras/cam1/window', Buffer.from(JSON.stringify(w)))).toBe(
      '1970-01-01T00:03:00.000Z k1 cam1 people=3 happy=2 neutral=1 dropped=3',
    );
    expect(
      formatMessage(
        'ea',
        'ea/k1/cameras/cam1/window',
        Buffer.from(JSON.stringify({ ...w, emotions: null, withheld: true })),
      ),
    ).toContain('people=3 withheld dropped=3');
    expect(
      formatMessage(
        'ea',
        'ea/k1/cameras/cam1/state',
        Buffer.from('{"state":"backoff","since":"S","lastError":"refused"}'),
      ),
    ).toBe('S k1 cam1 state backoff (refused)');
    expect(formatMessage('ea', 'ea/k1/status', Buffer.from('offline'), new Date(0))).toBe(
      '1970-01-01T00:00:00.000Z k1 offline',
    );
    expect(formatMessage('ea', 'ea/k1/cameras/cam1/window', Buffer.from([0xff, 0x00]), new Date(0))).toBe(
      '1970-01-01T00:00:00.000Z k1 cam1 unreadable window (2 bytes)',
    );
    expect(formatMessage('ea', 'ea/k1/stats', Buffer.from('{}'))).toBeNull();
    expect(watchTopics('ea', null)).toEqual(['ea/+/status', 'ea/+/cameras/+/state', 'ea/+/cameras/+/window']);
  });

  it('prints status, camera state and window lines of one device, and exits 0 on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      ['--import', TSX, CLI, 'watch', '--broker', broker.url, '--device', 'kiosk-1'],
      { cwd: ROOT },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await until('watch to connect', () => stderr.includes('watch: connected'));
      await new Promise((r) => setTimeout(r, 300)); // the SUBACK
      const pub = await connectAsync(broker.url);
      await pub.publishAsync('emotion-agent/kiosk-1/status', 'online', { qos: 1 });
      await pub.publishAsync(
        'emotion-agent/kiosk-1/cameras/entrance/state',
        JSON.stringify({ state: 'streaming', since: 'T0', lastError: null }),
        { qos: 1 },
      );
      await pub.publishAsync(
        'emotion-agent/kiosk-1/cameras/entrance/window',
        JSON.stringify({ ...testWindow(1, 'entrance'), seq: 1, deviceId: 'kiosk-1' }),
        { qos: 1 },
      );
      await pub.publishAsync('emotion-agent/other/status', 'online', { qos: 1 }); // another device: not shown
      await pub.endAsync();
      await until('three lines', () => stdout.trim().split('\n').length >= 3);
      await new Promise((r) => setTimeout(r, 300));
      const lines = stdout.trim().split('\n');
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatch(/^\S+Z kiosk-1 online$/);
      expect(lines[1]).toBe('T0 kiosk-1 entrance state streaming');
      expect(lines[2]).toBe('1970-01-01T00:02:00.000Z kiosk-1 entrance people=3 happy=2 neutral=1 dropped=0');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 60_000);
});
