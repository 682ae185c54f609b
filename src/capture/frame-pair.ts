// Pairs the full frames of FFmpeg's pipe:1 with the detector-sized copies of its pipe:3. Both outputs
// come from one split of the same decoded frames, so the n-th copy belongs to the n-th frame; only the
// two pipes arrive independently.
import type { Frame } from '../vision/image.js';

export class FramePairer {
  private fulls: Frame[] = [];
  private copies: Frame[] = [];
  /** Set once one side ran too far ahead: from then on frames go out without copies. */
  private broken = false;

  /** `maxLag`: frames one side may be ahead before pairing is given up (it never should be). */
  constructor(
    private readonly sink: (frame: Frame) => void,
    private readonly maxLag = 4,
  ) {}

  full(frame: Frame): void {
    if (this.broken) {
      this.sink(frame);
      return;
    }
    this.fulls.push(frame);
    this.drain();
  }

  copy(frame: Frame): void {
    if (this.broken) return;
    this.copies.push(frame);
    this.drain();
  }

  private drain(): void {
    while (this.fulls.length && this.copies.length)
      this.sink({ ...this.fulls.shift()!, detectorCopy: this.copies.shift()! });
    if (this.fulls.length > this.maxLag || this.copies.length > this.maxLag) {
      // A lost or extra copy would pair every later frame with the wrong picture: stop pairing (the
      // detector then reads the full frames, slower but right).
      this.broken = true;
      this.copies = [];
      const held = this.fulls;
      this.fulls = [];
      for (const f of held) this.sink(f);
    }
  }
}
