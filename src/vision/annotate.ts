// Drawing faces, emotions and scores onto frames, and writing them to a video (for `analyze --annotate`,
// src/cli/analyze.ts).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import type { EmotionLabel } from '../models/manifest.js';
import { frameToMat, takeFrame, type Frame, type Rect } from './image.js';
import { cv } from './opencv.js';

/** What is drawn per face; the analyze command's FaceResult is one. */
export interface LabelledFace {
  box: Rect;
  emotion: { label: EmotionLabel; score: number };
}

/** BGR colours, one per emotion, chosen to be told apart at a glance. */
const COLOURS: Record<EmotionLabel, [number, number, number]> = {
  angry: [40, 40, 230],
  disgust: [40, 140, 40],
  fear: [160, 60, 160],
  happy: [40, 210, 250],
  sad: [200, 120, 40],
  surprise: [230, 200, 40],
  neutral: [200, 200, 200],
};

export function annotateFrame(frame: Frame, faces: LabelledFace[]): Frame {
  const src = frameToMat(frame);
  const mat = src.copy(); // drawn on, so never over a caller's pixels
  src.release();
  const thick = Math.max(2, Math.round(frame.width / 640));
  const fontScale = Math.max(0.5, frame.width / 1600);
  for (const f of faces) {
    const [b, g, r] = COLOURS[f.emotion.label];
    const colour = new cv.Vec3(b, g, r);
    const { x, y, width, height } = f.box;
    mat.drawRectangle(
      new cv.Point2(Math.round(x), Math.round(y)),
      new cv.Point2(Math.round(x + width), Math.round(y + height)),
      colour,
      thick,
    );
    const text = `${f.emotion.label} ${(f.emotion.score * 100).toFixed(0)}%`;
    const ty = Math.max(Math.round(y) - 6, 14);
    mat.putText(
      text,
      new cv.Point2(Math.round(x), ty),
      cv.FONT_HERSHEY_SIMPLEX,
      fontScale,
      new cv.Vec3(0, 0, 0),
      thick + 2,
    );
    mat.putText(text, new cv.Point2(Math.round(x), ty), cv.FONT_HERSHEY_SIMPLEX, fontScale, colour, thick);
  }
  return takeFrame(mat);
}

/** An FFmpeg encoder fed raw BGR frames on stdin, writing H.264 MP4. */
export class VideoWriter {
  private proc: ChildProcessWithoutNullStreams | undefined;
  private stderr = '';

  constructor(
    private readonly path: string,
    private readonly width: number,
    private readonly height: number,
    private readonly fps: number,
  ) {}

  start(): void {
    if (this.proc) return;
    this.proc = spawn('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'bgr24',
      '-s',
      `${this.width}x${this.height}`,
      '-r',
      String(this.fps),
      '-i',
      'pipe:0',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-pix_fmt',
      'yuv420p',
      '-movflags',
      '+faststart',
      this.path,
    ]);
    this.proc.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-2000);
    });
  }

  async write(frame: Frame): Promise<void> {
    if (!this.proc) throw new Error('VideoWriter not started');
    if (!this.proc.stdin.write(frame.data)) await once(this.proc.stdin, 'drain');
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p) return;
    this.proc = undefined;
    p.stdin.end();
    const [code] = (await once(p, 'close')) as [number | null];
    if (code !== 0) throw new Error(`ffmpeg could not write ${this.path}: ${this.stderr.trim() || `exit ${code}`}`);
  }
}
