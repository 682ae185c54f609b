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
    if (this.count === 0) return null;
    const sorted = Array.from(this.values.subarray(0, this.count)).sort((a, b) => a - b);
    const rank = Math.min(this.count - 1, Math.max(0, Math.ceil((p / 100) * this.count) - 1));
    return sorted[rank]!;
  }

  summary(): { p50: number | null; p95: number | null } {
    return { p50: this.percentile(50), p95: this.percentile(95) };
  }
}
