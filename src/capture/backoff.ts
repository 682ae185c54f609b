// Reconnect delays. Exponential so a dead camera costs little, capped so a camera that comes back is
// picked up within maxMs, jittered so a site's cameras behind one failed switch don't all reconnect
// in the same millisecond when it returns.

export interface BackoffConfig {
  initialMs: number;
  maxMs: number;
  /** Streaming this long without a failure resets the exponent (default 10 s, cameras[].backoff.resetAfterMs). */
  resetAfterMs?: number;
}

/** 10 s: a camera that streams 15 s and drops must not wait up to maxMs each time (30 s did). */
export const DEFAULT_RESET_AFTER_MS = 10_000;

/**
 * The exponent to use after a failure: back to 0 when the source streamed (without a failure) for at
 * least resetAfterMs before it, else unchanged. `streamedMs` null: it never streamed this time.
 */
export function attemptAfterFailure(
  attempt: number,
  streamedMs: number | null,
  cfg: Pick<BackoffConfig, 'resetAfterMs'>,
): number {
  return streamedMs !== null && streamedMs >= (cfg.resetAfterMs ?? DEFAULT_RESET_AFTER_MS) ? 0 : attempt;
}

/** ±20 % around `ms`. */
export function jitter(ms: number, random: () => number = Math.random): number {
  return Math.round(ms * (0.8 + 0.4 * random()));
}

/** initialMs·2^attempt capped at maxMs, then ±20 % jitter (so a delay can reach 1.2·maxMs). */
export function backoffDelay(attempt: number, cfg: BackoffConfig, random: () => number = Math.random): number {
  const base = Math.min(cfg.maxMs, cfg.initialMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return jitter(base, random);
}
