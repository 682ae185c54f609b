// Anonymous multi-face tracking, SORT-style, by POSITION AND MOTION ONLY: nothing derived from the
// face's appearance is computed or kept, and a track id is just this instance's counter, so a track
// says "some face was here for this long, looking like this on average" and nothing about who.
//
// Per track we keep an alpha-beta filter (a fixed-gain Kalman filter; no covariances to tune and
// nothing to go numerically wrong on a kiosk running for months):
//   - centre (cx, cy) with a constant-velocity model: predict x + v*dt, then correct with gains
//     ALPHA (position) and BETA (velocity, per ms). Velocity is what keeps two faces crossing paths
//     from swapping ids: each prediction keeps moving the way its face was moving.
//   - size (w, h) smoothed with gain ALPHA_SIZE and NO velocity: detector box sizes jitter frame to
//     frame, and a size velocity would amplify that into boxes that balloon while a face is missed.
// Time is in ms and passed in, so irregular frame intervals (dropped frames) are handled by dt.
//
// Association: greedy on IoU between predicted and detected boxes (IoU >= iouThreshold), best pairs
// first. Greedy equals Hungarian whenever the faces are apart, which is the kiosk case; where they
// overlap, the constant-velocity prediction has already separated them. A second pass, only over
// what is left unmatched, pairs by centre distance relative to box size (and similar size): for fast
// movers whose box jumped past the IoU gate (typically the second detection, before any velocity is
// known) and for a face that stopped while it was missed (we also try its last seen position).
import { CANONICAL_LABELS, type EmotionLabel } from '../models/manifest.js';
import type { Rect } from './image.js';
import { iou } from './nms.js';

export interface TrackerOptions {
  /** Smallest IoU between a track's predicted box and a detection for them to match. Default 0.3. */
  iouThreshold?: number;
  /** A track ends once it has been unseen for MORE than this many ms. Default 1500. */
  maxUnseenMs?: number;
  /** A track counts (is "confirmed") once it spans at least this many ms... Default 1000. */
  minTrackMs?: number;
  /** ...and has at least this many detections. Default 3. */
  minHits?: number;
  /**
   * Fallback gate: centre distance / mean box side at or below which leftover tracks and detections
   * still match. Default 1.0; 0 disables the fallback.
   */
  maxCentreDistance?: number;
}

export interface TrackedFace {
  box: Rect;
  /** Canonical label order (CANONICAL_LABELS); null when the face was not classified (quality gate). */
  probabilities: number[] | null;
  /** The face looks at the kiosk in this frame (head pose within the attention limits). */
  looking?: boolean;
}

export interface TrackView {
  id: number;
  firstSeenMs: number;
  lastSeenMs: number;
  /** Detections matched to this track. */
  hits: number;
  /** Filtered box; for a track missed this frame, its prediction at the update time. */
  box: Rect;
  /** Mean of the per-frame probability vectors over the classified detections, canonical order; null when none was classified. */
  meanProbabilities: number[] | null;
  dominant: EmotionLabel | null;
  /**
   * Time spent looking at the kiosk: for each detection that looks, the time since the track's previous
   * detection (at most maxUnseenMs), so dropped frames do not shorten it and a gap does not inflate it.
   */
  lookingMs: number;
  /** Mean probabilities over the detections that looked AND were classified; null when none. */
  lookingProbabilities: number[] | null;
  /** Met minTrackMs and minHits at some point (it never goes back). */
  confirmed: boolean;
}

export interface EndedTrack extends TrackView {
  /** lastSeenMs - firstSeenMs. */
  durationMs: number;
  /** Lasted at least minTrackMs with at least minHits detections; shorter tracks are noise. */
  counts: boolean;
}

export interface TrackerUpdate {
  /** Live tracks (seen this frame or still within maxUnseenMs), by id. */
  active: TrackView[];
  /** Tracks that timed out at this update, by id. */
  ended: EndedTrack[];
}

// Position follows the detector closely (its boxes are accurate; lag would cost IoU on movers);
// velocity adapts more slowly so that one jittery box does not throw the prediction off.
const ALPHA = 0.85;
const BETA = 0.3;
const ALPHA_SIZE = 0.6;
// Fallback matches must also be of similar size: a face twice as big is not the same face moving.
const MAX_SIZE_RATIO = 2;

interface Track {
  id: number;
  // Filter state, valid at stateMs (the last update that matched a detection).
  cx: number;
  cy: number;
  w: number;
  h: number;
  vx: number;
  vy: number;
  stateMs: number;
  firstSeenMs: number;
  lastSeenMs: number;
  hits: number;
  // Running sums of the per-frame probability vectors (all classified detections, and those that
  // also looked) with their counts. Nothing else per frame.
  probSum: number[];
  classified: number;
  lookSum: number[];
  lookClassified: number;
  lookingMs: number;
  confirmed: boolean;
}

export class Tracker {
  readonly iouThreshold: number;
  readonly maxUnseenMs: number;
  readonly minTrackMs: number;
  readonly minHits: number;
  readonly maxCentreDistance: number;
  private tracks: Track[] = [];
  private nextId = 1;
  private lastMs = -Infinity;

  constructor(opts: TrackerOptions = {}) {
    this.iouThreshold = opts.iouThreshold ?? 0.3;
    this.maxUnseenMs = opts.maxUnseenMs ?? 1500;
    this.minTrackMs = opts.minTrackMs ?? 1000;
    this.minHits = opts.minHits ?? 3;
    this.maxCentreDistance = opts.maxCentreDistance ?? 1.0;
    if (!(this.iouThreshold >= 0 && this.iouThreshold <= 1))
      throw new RangeError(`iouThreshold must be in [0, 1], got ${this.iouThreshold}`);
    for (const k of ['maxUnseenMs', 'minTrackMs', 'minHits', 'maxCentreDistance'] as const) {
      if (!(this[k] >= 0)) throw new RangeError(`${k} must be >= 0, got ${this[k]}`);
    }
  }

  /**
   * One analysed frame at tMs. A clock that steps backwards is treated as "no time passed" rather
   * than an error, so an NTP correction cannot crash the pipeline or give negative durations.
   */
  update(tMs: number, faces: readonly TrackedFace[]): TrackerUpdate {
    const t = this.advance(tMs);
    for (const f of faces) checkProbabilities(f.probabilities);

    // End timed-out tracks first, so a face returning after maxUnseenMs starts a new track.
    const ended = this.tracks.filter((tr) => t - tr.lastSeenMs > this.maxUnseenMs);
    this.tracks = this.tracks.filter((tr) => t - tr.lastSeenMs <= this.maxUnseenMs);

    const matches = this.associate(t, faces);
    const matchedDet = new Set<number>();
    for (const [ti, di] of matches) {
      this.correct(this.tracks[ti]!, t, faces[di]!);
      matchedDet.add(di);
    }
    faces.forEach((f, di) => {
      if (!matchedDet.has(di)) this.tracks.push(this.create(t, f));
    });

    return {
      active: this.tracks.map((tr) => view(tr, predictBox(tr, t))),
      ended: ended.map((tr) => this.endView(tr)),
    };
  }

  /** Ends every track (shutdown); the tracker is empty afterwards but can be used again. */
  flush(tMs: number): EndedTrack[] {
    this.advance(tMs);
    const ended = this.tracks.map((tr) => this.endView(tr));
    this.tracks = [];
    return ended;
  }

  private advance(tMs: number): number {
    if (!Number.isFinite(tMs)) throw new RangeError(`tracker time must be a finite number of ms, got ${tMs}`);
    this.lastMs = Math.max(this.lastMs, tMs);
    return this.lastMs;
  }

  /** [trackIndex, detectionIndex] pairs. */
  private associate(t: number, faces: readonly TrackedFace[]): [number, number][] {
    const preds = this.tracks.map((tr) => predictBox(tr, t));
    const usedT = new Set<number>();
    const usedD = new Set<number>();
    const out: [number, number][] = [];
    const take = (pairs: { ti: number; di: number; key: number }[]): void => {
      // Stable sort: ties resolve to the older track, then the earlier detection.
      pairs.sort((a, b) => a.key - b.key);
      for (const p of pairs) {
        if (usedT.has(p.ti) || usedD.has(p.di)) continue;
        usedT.add(p.ti);
        usedD.add(p.di);
        out.push([p.ti, p.di]);
      }
    };

    const byIou: { ti: number; di: number; key: number }[] = [];
    preds.forEach((pb, ti) =>
      faces.forEach((f, di) => {
        const v = iou(pb, f.box);
        if (v > 0 && v >= this.iouThreshold) byIou.push({ ti, di, key: -v });
      }),
    );
    take(byIou);

    if (this.maxCentreDistance > 0) {
      const byDist: { ti: number; di: number; key: number }[] = [];
      preds.forEach((pb, ti) => {
        if (usedT.has(ti)) return;
        const tr = this.tracks[ti]!;
        const last = { x: tr.cx - tr.w / 2, y: tr.cy - tr.h / 2, width: tr.w, height: tr.h };
        faces.forEach((f, di) => {
          if (usedD.has(di) || !similarSize(pb, f.box)) return;
          const d = Math.min(relativeDistance(pb, f.box), relativeDistance(last, f.box));
          if (d <= this.maxCentreDistance) byDist.push({ ti, di, key: d });
        });
      });
      take(byDist);
    }
    return out;
  }

  private create(t: number, f: TrackedFace): Track {
    const b = f.box;
    return {
      id: this.nextId++,
      cx: b.x + b.width / 2,
      cy: b.y + b.height / 2,
      w: b.width,
      h: b.height,
      vx: 0,
      vy: 0,
      stateMs: t,
      firstSeenMs: t,
      lastSeenMs: t,
      hits: 1,
      probSum: f.probabilities ? [...f.probabilities] : CANONICAL_LABELS.map(() => 0),
      classified: f.probabilities ? 1 : 0,
      lookSum: f.probabilities && f.looking ? [...f.probabilities] : CANONICAL_LABELS.map(() => 0),
      lookClassified: f.probabilities && f.looking ? 1 : 0,
      lookingMs: 0,
      confirmed: this.minHits <= 1 && this.minTrackMs <= 0,
    };
  }

  private correct(tr: Track, t: number, f: TrackedFace): void {
    const b = f.box;
    const zx = b.x + b.width / 2;
    const zy = b.y + b.height / 2;
    const dt = t - tr.stateMs;
    if (tr.hits === 1 && dt > 0) {
      // Second detection: the first velocity estimate is simply the displacement, so a face moving
      // steadily is predicted exactly from its third frame on.
      tr.vx = (zx - tr.cx) / dt;
      tr.vy = (zy - tr.cy) / dt;
      tr.cx = zx;
      tr.cy = zy;
    } else {
      const px = tr.cx + tr.vx * dt;
      const py = tr.cy + tr.vy * dt;
      const rx = zx - px;
      const ry = zy - py;
      tr.cx = px + ALPHA * rx;
      tr.cy = py + ALPHA * ry;
      if (dt > 0) {
        tr.vx += (BETA * rx) / dt;
        tr.vy += (BETA * ry) / dt;
      }
    }
    tr.w += ALPHA_SIZE * (b.width - tr.w);
    tr.h += ALPHA_SIZE * (b.height - tr.h);
    if (f.looking) tr.lookingMs += Math.min(t - tr.lastSeenMs, this.maxUnseenMs);
    tr.stateMs = t;
    tr.lastSeenMs = t;
    tr.hits++;
    if (f.probabilities) {
      f.probabilities.forEach((p, i) => (tr.probSum[i]! += p));
      tr.classified++;
      if (f.looking) {
        f.probabilities.forEach((p, i) => (tr.lookSum[i]! += p));
        tr.lookClassified++;
      }
    }
    if (!tr.confirmed) tr.confirmed = tr.hits >= this.minHits && tr.lastSeenMs - tr.firstSeenMs >= this.minTrackMs;
  }

  private endView(tr: Track): EndedTrack {
    const durationMs = tr.lastSeenMs - tr.firstSeenMs;
    // Box at the last detection: where the face was, not where a prediction drifted to.
    const v = view(tr, predictBox(tr, tr.stateMs));
    return { ...v, durationMs, counts: tr.confirmed };
  }
}

function checkProbabilities(p: readonly number[] | null): void {
  if (p && p.length !== CANONICAL_LABELS.length) {
    throw new Error(
      `tracker: probabilities must have ${CANONICAL_LABELS.length} entries (canonical order), got ${p.length}`,
    );
  }
}

function predictBox(tr: Track, t: number): Rect {
  const dt = t - tr.stateMs;
  const cx = tr.cx + tr.vx * dt;
  const cy = tr.cy + tr.vy * dt;
  return { x: cx - tr.w / 2, y: cy - tr.h / 2, width: tr.w, height: tr.h };
}

function view(tr: Track, box: Rect): TrackView {
  const meanProbabilities = tr.classified > 0 ? tr.probSum.map((s) => s / tr.classified) : null;
  return {
    id: tr.id,
    firstSeenMs: tr.firstSeenMs,
    lastSeenMs: tr.lastSeenMs,
    hits: tr.hits,
    box,
    meanProbabilities,
    dominant: meanProbabilities ? dominantLabel(meanProbabilities) : null,
    lookingMs: tr.lookingMs,
    lookingProbabilities: tr.lookClassified > 0 ? tr.lookSum.map((s) => s / tr.lookClassified) : null,
    confirmed: tr.confirmed,
  };
}

/** Label of the largest entry of a canonical-order vector (first one on ties). */
export function dominantLabel(p: readonly number[]): EmotionLabel {
  let best = 0;
  for (let i = 1; i < CANONICAL_LABELS.length; i++) if ((p[i] ?? -Infinity) > (p[best] ?? -Infinity)) best = i;
  return CANONICAL_LABELS[best]!;
}

function relativeDistance(a: Rect, b: Rect): number {
  const dx = a.x + a.width / 2 - (b.x + b.width / 2);
  const dy = a.y + a.height / 2 - (b.y + b.height / 2);
  const side = (a.width + a.height + b.width + b.height) / 4;
  return side > 0 ? Math.hypot(dx, dy) / side : Infinity;
}

function similarSize(a: Rect, b: Rect): boolean {
  const sa = Math.sqrt(a.width * a.height);
  const sb = Math.sqrt(b.width * b.height);
  return sa > 0 && sb > 0 && Math.max(sa, sb) / Math.min(sa, sb) <= MAX_SIZE_RATIO;
}
