// Per-camera emotion aggregates in fixed windows aligned to the clock (windows start at multiples of
// windowMs since the Unix epoch, so windows from different cameras and devices line up). A window is
// published off the device, so it holds counts only: no images, boxes or track ids.
//
// Attribution rules (tracks come from ../vision/tracker.ts):
// - people: distinct COUNTING tracks present in the window. A track is present when it is detected
//   in the window while confirmed (it met minTrackMs/minHits). A track that confirms later is counted
//   from the window in which it confirms on; the windows it spent unconfirmed are not revised (they
//   may already be published). A track that only coasts through a window (never detected in it) is
//   not present there.
// - newPeople: counting tracks first counted in this window. That is the window of their firstSeen,
//   except for a track whose confirmation crossed a boundary: it is new in the window where it
//   confirmed. Either way, newPeople summed over windows = distinct people, none lost or doubled.
// - emotions / meanProbabilities: each person's dominant label and mean vector are those of the
//   track's WHOLE LIFE SO FAR (the tracker's running mean), as of its last detection in the window:
//   a track's mean over a slice of frames would be noisy for the short slices at window edges.
// - notClassified: people whose emotion is unknown because the quality gate kept every detection of
//   theirs so far from the classifier (too small, blurred, turned away); they are in people but in no
//   emotion. skippedFaces counts the detections of the window the gate kept back, by reason.
// - viewers: people whose time spent looking at the kiosk (the tracker's lookingMs, whole life so far
//   as of their last detection in the window) reached minLookMs; passersBy = people - viewers.
//   lookTime: mean/p50/p90 of the viewers' looking time; viewerEmotions: viewers per dominant emotion
//   over the frames in which they looked and were classified, withheld below minPeople VIEWERS.
// - dwell: counting tracks that ENDED (timed out in the tracker, or were flushed) at a frame time
//   within the window, with their whole duration (lastSeen - firstSeen).
// - partial: the window covers less than its full aligned span: the first window after start-up
//   (it starts at nowMs, not at the boundary) or one closed early by close().
// Times are ms numbers passed in. A clock that steps backwards leaves data in the current window.
import { CANONICAL_LABELS, type EmotionLabel } from '../models/manifest.js';
import type { SkipReason } from '../vision/quality-options.js';
import { dominantLabel, type EndedTrack, type TrackView } from '../vision/tracker.js';

export interface WindowOptions {
  /** Window length; windows start at multiples of it since the epoch. Default 60 000. */
  windowMs?: number;
  /** Fewer people than this and the emotion breakdown is withheld (privacy). Default 3. */
  minPeople?: number;
  /** Most empty windows emitted for one gap (camera down); older ones are skipped. Default 1440. */
  maxEmptyWindows?: number;
  /** A person who looked at the kiosk for at least this long is a viewer. Default 2000. */
  minLookMs?: number;
}

export type SkippedFaces = Record<SkipReason, number>;

export interface DwellStats {
  count: number;
  meanS: number;
  p50S: number;
  p90S: number;
}

export interface AggregateWindow {
  cameraId: string;
  start: string;
  end: string;
  startMs: number;
  endMs: number;
  partial: boolean;
  framesAnalysed: number;
  framesDropped: number;
  faceDetections: number;
  people: number;
  newPeople: number;
  /** People per dominant emotion; null when withheld. */
  emotions: Record<EmotionLabel, number> | null;
  /** Mean over people of their mean vectors, canonical order; null when withheld or no people. */
  meanProbabilities: number[] | null;
  /** people < minPeople: emotions and meanProbabilities are null, counts stay. */
  withheld: boolean;
  /** Counting tracks that ended in the window; null when none did. */
  dwell: DwellStats | null;
  /** People none of whose detections so far was classified (quality gate). */
  notClassified: number;
  /** Detections of the window the quality gate kept from the classifier, by reason. */
  skippedFaces: SkippedFaces;
  /** People who looked at the kiosk for at least minLookMs. */
  viewers: number;
  /** people - viewers. */
  passersBy: number;
  /** Looking time per viewer (seconds); null when no viewers. */
  lookTime: DwellStats | null;
  /** Viewers per dominant emotion while looking; null when withheld (viewers < minPeople). */
  viewerEmotions: Record<EmotionLabel, number> | null;
}

interface Person {
  mean: number[] | null;
  dominant: EmotionLabel | null;
  lookingMs: number;
  lookingDominant: EmotionLabel | null;
}

interface OpenWindow {
  startMs: number;
  /** The aligned boundary where the window closes by itself. */
  endMs: number;
  /** Started after its aligned start (start-up). */
  lateStart: boolean;
  framesAnalysed: number;
  framesDropped: number;
  faceDetections: number;
  people: Map<number, Person>;
  newPeople: number;
  dwellMs: number[];
  skipped: SkippedFaces;
}

export class WindowAggregator {
  readonly windowMs: number;
  readonly minPeople: number;
  readonly maxEmptyWindows: number;
  readonly minLookMs: number;
  private cur: OpenWindow;
  // Windows closed by a frame that arrived past the boundary before tick() was called.
  private pending: AggregateWindow[] = [];
  // Ids of live tracks already counted in some window (for newPeople); dropped when a track ends.
  private counted = new Set<number>();
  private closed = false;

  constructor(
    readonly cameraId: string,
    opts: WindowOptions = {},
    nowMs: number,
  ) {
    this.windowMs = opts.windowMs ?? 60_000;
    this.minPeople = opts.minPeople ?? 3;
    this.maxEmptyWindows = opts.maxEmptyWindows ?? 1440;
    this.minLookMs = opts.minLookMs ?? 2000;
    if (!(this.minLookMs >= 0)) throw new RangeError(`minLookMs must be >= 0, got ${this.minLookMs}`);
    if (!cameraId) throw new Error('WindowAggregator: cameraId must not be empty');
    if (!Number.isInteger(this.windowMs) || this.windowMs <= 0)
      throw new RangeError(`windowMs must be a positive integer, got ${this.windowMs}`);
    if (!(this.minPeople >= 0)) throw new RangeError(`minPeople must be >= 0, got ${this.minPeople}`);
    if (!Number.isFinite(nowMs)) throw new RangeError(`nowMs must be a finite number of ms, got ${nowMs}`);
    const aligned = this.alignDown(nowMs);
    this.cur = this.open(aligned);
    this.cur.startMs = nowMs;
    this.cur.lateStart = nowMs > aligned;
  }

  /** One analysed frame: its face count, the tracker's output for it, and the faces the quality gate skipped. */
  frameAnalyzed(
    tMs: number,
    faces: number,
    active: readonly TrackView[],
    ended: readonly EndedTrack[],
    skipped: Partial<SkippedFaces> = {},
  ): void {
    this.checkOpen();
    this.roll(tMs);
    const w = this.cur;
    w.framesAnalysed++;
    w.faceDetections += faces;
    for (const k of Object.keys(w.skipped) as SkipReason[]) w.skipped[k] += skipped[k] ?? 0;
    for (const v of active) if (v.confirmed && v.lastSeenMs >= w.startMs) this.attribute(v);
    this.ended(ended);
  }

  /**
   * Tracks ended outside a frame, i.e. Tracker.flush() at shutdown: their dwell is cut short by the
   * shutdown; leave this out if truncated visits should not be in the dwell statistics.
   */
  tracksEnded(tMs: number, ended: readonly EndedTrack[]): void {
    this.checkOpen();
    this.roll(tMs);
    this.ended(ended);
  }

  /** People counted so far in the open window (for live status; the window itself is not closed). */
  peopleSoFar(): number {
    return this.cur.people.size;
  }

  /** Frames the pipeline could not analyse (overload); counted in the current window. */
  framesDropped(n: number): void {
    this.checkOpen();
    this.cur.framesDropped += n;
  }

  /**
   * Windows that closed by tMs, oldest first. If whole windows passed with no frames (camera down),
   * each is emitted empty so consumers see the gap, up to maxEmptyWindows of the most recent ones.
   */
  tick(tMs: number): AggregateWindow[] {
    if (this.closed) return [];
    this.roll(tMs);
    return this.pending.splice(0);
  }

  /**
   * Closes the current window for shutdown: partial ends it at tMs, otherwise at its aligned end.
   * Call tick(tMs) first and publish what it returns; close() refuses to drop closed windows.
   */
  close(tMs: number, partial = true): AggregateWindow {
    this.checkOpen();
    if (this.pending.length > 0 || tMs >= this.cur.endMs) {
      throw new Error(
        `WindowAggregator(${this.cameraId}): windows closed before ${new Date(tMs).toISOString()} are pending; call tick(tMs) before close(tMs)`,
      );
    }
    this.closed = true;
    const endMs = partial ? Math.max(tMs, this.cur.startMs) : this.cur.endMs;
    return this.finish(this.cur, endMs);
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`WindowAggregator(${this.cameraId}) is closed`);
  }

  private alignDown(t: number): number {
    return Math.floor(t / this.windowMs) * this.windowMs;
  }

  private open(startMs: number): OpenWindow {
    return {
      startMs,
      endMs: startMs + this.windowMs,
      lateStart: false,
      framesAnalysed: 0,
      framesDropped: 0,
      faceDetections: 0,
      people: new Map(),
      newPeople: 0,
      dwellMs: [],
      skipped: { small: 0, blurred: 0, turned: 0 },
    };
  }

  /** Moves the current window forward to the one holding tMs, queueing what closes. */
  private roll(tMs: number): void {
    if (!Number.isFinite(tMs)) throw new RangeError(`time must be a finite number of ms, got ${tMs}`);
    if (tMs < this.cur.endMs) return;
    this.pending.push(this.finish(this.cur, this.cur.endMs));
    const nowStart = this.alignDown(tMs);
    const firstEmpty = Math.max(this.cur.endMs, nowStart - this.maxEmptyWindows * this.windowMs);
    for (let s = firstEmpty; s < nowStart; s += this.windowMs)
      this.pending.push(this.finish(this.open(s), s + this.windowMs));
    this.cur = this.open(nowStart);
  }

  private attribute(v: TrackView): void {
    // Second line of defence (the pipeline discards non-finite frames): a NaN mean would publish as
    // null entries, which the window schema forbids, and argmax would read it as the first label.
    if (v.meanProbabilities && !v.meanProbabilities.every(Number.isFinite)) return;
    this.cur.people.set(v.id, {
      mean: v.meanProbabilities,
      dominant: v.dominant,
      lookingMs: v.lookingMs,
      lookingDominant: v.lookingProbabilities ? dominantLabel(v.lookingProbabilities) : null,
    });
    if (!this.counted.has(v.id)) {
      this.counted.add(v.id);
      this.cur.newPeople++;
    }
  }

  private ended(ended: readonly EndedTrack[]): void {
    for (const e of ended) {
      if (e.counts) {
        // Normally already counted while active; one never seen confirmed (a caller that feeds
        // only ended tracks) is counted here so that no person is lost.
        if (!this.counted.has(e.id)) this.attribute(e);
        this.cur.dwellMs.push(e.durationMs);
      }
      this.counted.delete(e.id);
    }
  }

  private finish(w: OpenWindow, endMs: number): AggregateWindow {
    const people = w.people.size;
    const withheld = people < this.minPeople;
    let emotions: Record<EmotionLabel, number> | null = null;
    let meanProbabilities: number[] | null = null;
    const all = [...w.people.values()];
    const classified = all.filter((p) => p.mean !== null);
    if (!withheld) {
      emotions = zeroCounts();
      const sum = CANONICAL_LABELS.map(() => 0);
      for (const p of classified) {
        emotions[p.dominant!]++;
        p.mean!.forEach((v, i) => (sum[i]! += v));
      }
      if (classified.length > 0) meanProbabilities = sum.map((s) => round(s / classified.length, 4));
    }
    const viewers = all.filter((p) => p.lookingMs >= this.minLookMs);
    let viewerEmotions: Record<EmotionLabel, number> | null = null;
    // The same privacy rule as the emotions, applied to the viewers the breakdown is about.
    if (viewers.length >= this.minPeople) {
      viewerEmotions = zeroCounts();
      for (const p of viewers) if (p.lookingDominant) viewerEmotions[p.lookingDominant]++;
    }
    return {
      cameraId: this.cameraId,
      start: new Date(w.startMs).toISOString(),
      end: new Date(endMs).toISOString(),
      startMs: w.startMs,
      endMs,
      partial: w.lateStart || endMs < w.endMs,
      framesAnalysed: w.framesAnalysed,
      framesDropped: w.framesDropped,
      faceDetections: w.faceDetections,
      people,
      newPeople: w.newPeople,
      emotions,
      meanProbabilities,
      withheld,
      dwell: dwellStats(w.dwellMs),
      notClassified: people - classified.length,
      skippedFaces: { ...w.skipped },
      viewers: viewers.length,
      passersBy: people - viewers.length,
      lookTime: dwellStats(viewers.map((p) => p.lookingMs)),
      viewerEmotions,
    };
  }
}

function zeroCounts(): Record<EmotionLabel, number> {
  return Object.fromEntries(CANONICAL_LABELS.map((l) => [l, 0])) as Record<EmotionLabel, number>;
}

/** Seconds to 0.1 s: at kiosk frame rates (<= 15 fps) finer digits are frame-timing noise. */
export function dwellStats(durationsMs: readonly number[]): DwellStats | null {
  if (durationsMs.length === 0) return null;
  const s = [...durationsMs].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return {
    count: s.length,
    meanS: round(mean / 1000, 1),
    p50S: round(percentile(s, 0.5) / 1000, 1),
    p90S: round(percentile(s, 0.9) / 1000, 1),
  };
}

/** Linear interpolation between closest ranks (numpy's default): position q * (n - 1). */
export function percentile(sorted: readonly number[], q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const a = sorted[lo]!;
  const b = sorted[Math.min(lo + 1, sorted.length - 1)]!;
  return a + (b - a) * (pos - lo);
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
