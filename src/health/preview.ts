// The live preview behind the technician page: the newest annotated snapshot per camera, kept in
// memory only while someone watches, and encoded as PNG for the page. Nothing is stored or published.
import { EventEmitter } from 'node:events';
import { crc32, deflateSync } from 'node:zlib';
import type { PreviewSnapshot, PreviewTap } from '../pipeline/preview-tap.js';

export interface PreviewEvent {
  cameraId: string;
  capturedAt: string;
  width: number;
  height: number;
  /** data: URL of a PNG, drawn under the boxes by the page. */
  image: string;
  faces: PreviewSnapshot['faces'];
}

export class PreviewHub extends EventEmitter<{ preview: [PreviewEvent] }> implements PreviewTap {
  private watchers = 0;
  private readonly lastAt = new Map<string, number>();

  constructor(
    readonly enabled: boolean,
    private readonly fps: number,
    readonly width: number,
    private readonly clock: { now(): number } = Date,
  ) {
    super();
  }

  /** A page subscribed to previews; returns the unsubscribe. Snapshots are taken only while watched. */
  watch(): () => void {
    this.watchers++;
    let done = false;
    return () => {
      if (!done) this.watchers--;
      done = true;
    };
  }

  wants(cameraId: string): boolean {
    if (!this.enabled || this.watchers === 0) return false;
    const now = this.clock.now();
    if (now - (this.lastAt.get(cameraId) ?? 0) < 1000 / this.fps) return false;
    this.lastAt.set(cameraId, now);
    return true;
  }

  publish(s: PreviewSnapshot): void {
    if (!this.enabled) return;
    this.emit('preview', {
      cameraId: s.cameraId,
      capturedAt: new Date(s.capturedAtMs).toISOString(),
      width: s.width,
      height: s.height,
      image: `data:image/png;base64,${encodePng(s.rgb, s.width, s.height).toString('base64')}`,
      faces: s.faces,
    });
  }
}

/** A truecolour PNG (no filter: the preview is small and short-lived, size matters little). */
export function encodePng(rgb: Buffer, width: number, height: number): Buffer {
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) rgb.copy(raw, y * (stride + 1) + 1, y * stride, (y + 1) * stride);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(2, 9); // colour type: RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 3 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}
