// `emotion-agent run` as a real process under a stand-in notification socket, as systemd runs it with
// Type=notify and WatchdogSec=: STATUS while loading, READY=1 after the demo camera's first analysed frame,
// WATCHDOG=1 pings, STOPPING=1 on SIGTERM, and a clean exit.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, TSX } from '../helpers/paths.js';
import { NotifyListener } from './notify-listener.js';

const tmp = mkdtempSync(join(tmpdir(), 'ea-notify-run-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('emotion-agent run under systemd notification', () => {
  it('sends STATUS, READY=1 after the first frame, WATCHDOG=1, and STOPPING=1 on SIGTERM', async () => {
    const listener = new NotifyListener();
    await listener.start();
    try {
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EMOTION_AGENT_')));
      const child = spawn(
        process.execPath,
        ['--import', TSX, join(ROOT, 'src', 'cli.ts'), 'run', '--log-level', 'info'],
        {
          cwd: tmp,
          // WATCHDOG_USEC 2 s: a ping about every second. The demo clip stands in for a camera.
          env: {
            ...env,
            NOTIFY_SOCKET: listener.socket,
            WATCHDOG_USEC: '2000000',
            EMOTION_AGENT_INFERENCE_THREADS: '1',
            EMOTION_AGENT_SINKS_JSONL_ENABLED: 'false',
          },
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

      const ready = await listener.waitFor((d) => d.fields.READY === '1', 0, 90_000);
      // "ready": the readiness check held at READY time, i.e. the camera had delivered frames.
      expect(ready.fields.STATUS).toBe('ready: 1 camera analysing');
      expect(listener.messages[0]!.fields.STATUS).toBe('starting: loading models');
      const readyAt = listener.messages.indexOf(ready);
      await listener.waitFor((d) => d.fields.WATCHDOG === '1', readyAt + 1);
      await listener.waitFor(
        (d) => d.fields.WATCHDOG === '1',
        listener.messages.findIndex((d, i) => i > readyAt && d.fields.WATCHDOG === '1') + 1,
      );

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const texts = listener.messages.map((d) => d.text);
      const stopAt = texts.indexOf('STOPPING=1\nSTATUS=stopping');
      expect(stopAt).toBeGreaterThan(readyAt);
      // Nothing after STOPPING=1, and READY exactly once.
      expect(texts.slice(stopAt + 1)).toEqual([]);
      expect(listener.with('READY')).toHaveLength(1);
      // Every message was acknowledged through the barrier, so none was left unattributed.
      expect(listener.barriers).toBe(listener.messages.length);
      expect(stderr).not.toContain('systemd notification not delivered');
    } finally {
      listener.stop();
    }
  }, 150_000);
});
