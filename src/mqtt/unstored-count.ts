// How many windows this process accepted but could not yet store in the outbox (the disk is full), kept
// in a tiny file next to the outbox so that a crash or SIGKILL in that state still leaves a trace: the
// next start counts them as dropped and skips their seqs. The file is written once at full size and then
// only overwritten in place, which needs no new blocks on a full disk (ext4, tmpfs; not a CoW file system
// such as btrfs, where it is best effort).
import { closeSync, openSync, readSync, writeSync } from 'node:fs';

const SIZE = 24;

export class UnstoredCount {
  private fd: number | undefined;
  private last = 0;

  constructor(readonly path: string) {}

  /** Opens (creating at full size) and returns the count a previous run left; 0 when none. Never throws. */
  open(): number {
    try {
      this.fd = openSync(this.path, 'a+');
      closeSync(this.fd);
      this.fd = openSync(this.path, 'r+');
      const buf = Buffer.alloc(SIZE);
      const n = readSync(this.fd, buf, 0, SIZE, 0);
      const parsed = Number.parseInt(buf.subarray(0, n).toString('utf8').trim() || '0', 10);
      const found = Number.isSafeInteger(parsed) && parsed > 0 ? parsed : 0;
      // Written back at full size: the caller resets it only once the loss is recorded in the outbox.
      this.last = -1;
      this.set(found);
      return found;
    } catch {
      this.close();
      return 0;
    }
  }

  /** Records the current count (in place); a no-op when unchanged or when the file could not be opened. */
  set(n: number): void {
    if (this.fd === undefined || n === this.last) return;
    try {
      writeSync(this.fd, Buffer.from(String(n).padEnd(SIZE, ' ')), 0, SIZE, 0);
      this.last = n;
    } catch {
      // Best effort: the in-memory counters still report the loss while the process lives.
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
