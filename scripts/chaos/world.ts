// The chaos suite's surroundings, all real and on loopback: a Mosquitto that keeps sessions across
// restarts (so the subscriber misses nothing while the broker is down), an RTSP server that wants a
// password and is killed and restarted (a flapping camera), a TCP socket that accepts and never speaks
// (a silent camera), a 2 MB tmpfs for the outbox that a filler file fills and frees, and signed bundles.
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Mosquitto } from '../../test/helpers/mosquitto.js';
import { freePort } from '../../test/helpers/net.js';
import { RtspTestServer } from '../../test/helpers/rtsp-server.js';
import { PLANTED } from '../../test/helpers/secrets.js';

export interface World {
  broker: Mosquitto;
  rtsp: RtspTestServer;
  silentPort: number;
  /** The outbox's folder: a 2 MB tmpfs when `tmpfs`, else a plain folder (disk-full episodes then skipped). */
  outboxDir: string;
  tmpfs: boolean;
  /** Fills the outbox's file system until ENOSPC; returns the bytes written. */
  fill(): number;
  /** Frees what fill() wrote. */
  free(): void;
  dispose(): Promise<void>;
}

export async function startWorld(dir: string, clip: string): Promise<World> {
  const broker = await Mosquitto.start({
    persistence: true,
    users: { agent: PLANTED.mqttPassword, chaos: 'chaos-watch' },
  });
  const rtsp = await RtspTestServer.start({ file: clip, user: 'viewer', password: PLANTED.cameraField });
  const sockets = new Set<Socket>();
  const silent: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  const silentPort = await freePort();
  await new Promise<void>((r) => silent.listen(silentPort, '127.0.0.1', r));
  const outboxDir = join(dir, 'outbox');
  mkdirSync(outboxDir, { recursive: true });
  let tmpfs = false;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', outboxDir], { stdio: 'ignore' });
    tmpfs = true;
  } catch {
    // Not root, or no mount namespace: the run still goes, and the report says the disk never filled.
  }
  const filler = join(outboxDir, 'filler.bin');
  return {
    broker,
    rtsp,
    silentPort,
    outboxDir,
    tmpfs,
    fill: () => {
      if (!tmpfs) return 0;
      const chunk = Buffer.alloc(16 * 1024, 1);
      let n = 0;
      try {
        for (;;) {
          appendFileSync(filler, chunk);
          n += chunk.length;
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
      return n;
    },
    free: () => rmSync(filler, { force: true }),
    dispose: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
      await rtsp.close();
      await broker.dispose();
      if (tmpfs) execFileSync('umount', ['-l', outboxDir]);
    },
  };
}
