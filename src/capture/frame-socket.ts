// Frames from a decoder child without an allocation or a copy per read. Node reads a child's stdout
// pipe into a fresh 64 KiB buffer per read: a 1080p BGR stream at 5 fps is some 600 short-lived
// ArrayBuffers a second per camera, which V8 counts as external memory and answers with a
// mark-compact every few hundred milliseconds. A socket with `onread` reads into a buffer we give it
// instead: the rest of the frame being filled, so the kernel copies the bytes straight into place.
// Measured on 1080p at 5 fps (the prototype in docs/performance.md): 4.5 ms of the main thread per
// frame through a pipe, 1.6 ms through such a socket.
//
// Node has no socketpair(), so: a Unix socket in a fresh private (0700) folder, one connection, then the
// listener and its folder are gone. The accepted end goes to the child as its stdout (or fd 3); we keep
// the other. Linux and other Unixes only; anything failing here makes the caller fall back to pipes.
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where reads land: `readInto()` gives the buffer for the next read, `wrote(n)` says n bytes came. */
export interface ReadTarget {
  readInto(): Uint8Array;
  wrote(n: number): void;
}

export interface FrameSocket {
  /** The child's end: pass it in spawn's stdio, then destroy our handle on it (the child has its own). */
  childEnd: net.Socket;
  /** Our end, reading into the target; 'close' once the child's end is closed and all was read. */
  reader: net.Socket;
}

const OPEN_TIMEOUT_MS = 2_000;

/** Opens a connected pair; rejects (within 2 s) when the platform or the temp folder does not allow it. */
export async function openFrameSocket(target: ReadTarget, folder = tmpdir()): Promise<FrameSocket> {
  const dir = mkdtempSync(join(folder, 'ea-frames-'));
  const server = net.createServer();
  let reader: net.Socket | undefined;
  const timeout = AbortSignal.timeout(OPEN_TIMEOUT_MS);
  try {
    server.listen(join(dir, 's'));
    await once(server, 'listening', { signal: timeout });
    const accepted = once(server, 'connection', { signal: timeout });
    reader = net.connect({
      path: join(dir, 's'),
      onread: {
        buffer: () => target.readInto(),
        callback: (n) => {
          target.wrote(n);
          return true; // never paused: the child must not block on a full socket (camera.ts)
        },
      },
    });
    reader.on('error', () => {}); // 'close' follows; the caller looks at the child's exit for why
    const [childEnd] = (await accepted) as [net.Socket];
    return { childEnd, reader };
  } catch (err) {
    reader?.destroy();
    throw err;
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Closes both ends (a pair that was opened but never given to a child). */
export function closeFrameSocket(s: FrameSocket): void {
  s.childEnd.destroy();
  s.reader.destroy();
}
