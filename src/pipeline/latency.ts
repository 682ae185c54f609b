// Recent per-frame latencies for p50/p95 on the status page and /metrics. A fixed ring, so a daemon
// that runs for months holds the same few KB; percentiles describe the last `size` frames only.
export class LatencyWindow {
  private readonly values: Float64Array;
  private next = 0;
  private count = 0;

  constructor(size = 512) {
    this.values = new Float64Array(size);
  }

  add(ms: number): void {
    this.values[this.next] = ms;
    this.next = (this.next + 1) % this.values.length;
    this.count = Math.min(this.count + 1, this.values.length);
  }

  /** Nearest-rank percentile (0..100) of the recorded values; null before the first. */
  percentile(p: number): number | null {
    return this.count === 0 ? null : rank(this.sorted(), p);
  }

  /** p50 and p95 from one sort. */
  summary(): { p50: number | null; p95: number | null } {
    if (this.count === 0) return { p50: null, p95: null };
    const sorted = this.sorted();
    return { p50: rank(sorted, 50), p95: rank(sorted, 95) };
  }

  private sorted(): Float64Array {
    return this.values.slice(0, this.count).sort();
  }
}

function rank(sorted: Float64Array, p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}
