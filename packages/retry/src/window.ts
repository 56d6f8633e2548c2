/** Buckets a window is cut into: the window slides in steps of windowMs / BUCKETS. */
export const BUCKETS = 10;
// One more slot than the window, so retries can be kept a bucket longer than calls.
const SLOTS = BUCKETS + 1;

/**
 * Counts calls and retries over a sliding window, in a ring of fixed buckets: O(1) per count
 * whatever the traffic, and old buckets are dropped when time is next read, never by a timer.
 *
 * Bucketing rounds in the budget's favour: a call counts only while its bucket lies wholly
 * inside the last windowMs, and a retry counts while its bucket overlaps it. So at any moment
 * the counted retries include every retry of the last windowMs, and the counted calls are
 * among the calls of the last windowMs.
 */
export class SlidingCounts {
  private readonly calls = new Float64Array(SLOTS);
  private readonly retries = new Float64Array(SLOTS);
  /** The bucket number (time x BUCKETS / windowMs) that slot `index` holds. */
  private head = Number.NEGATIVE_INFINITY;
  private index = 0;
  callTotal = 0;
  retryTotal = 0;

  constructor(private readonly windowMs: number) {}

  /** Brings the ring up to `now`, dropping what fell out of the window. */
  roll(now: number): void {
    // Multiplying first keeps integer times exact: now / bucketMs could round below a boundary.
    const bucket = Math.floor((now * BUCKETS) / this.windowMs);
    // A clock that steps back keeps counting into the newest bucket.
    if (bucket <= this.head) return;
    if (bucket - this.head >= SLOTS) {
      this.calls.fill(0);
      this.retries.fill(0);
      this.callTotal = 0;
      this.retryTotal = 0;
    } else {
      for (let step = this.head; step < bucket; step++) this.advance();
    }
    this.head = bucket;
  }

  private advance(): void {
    const next = (this.index + 1) % SLOTS;
    // The oldest slot is reused: its retries leave now (its calls left one bucket earlier).
    this.retryTotal -= this.retries[next]!;
    this.retries[next] = 0;
    this.calls[next] = 0;
    // The slot after it becomes the oldest: its calls no longer count.
    const oldest = (next + 1) % SLOTS;
    this.callTotal -= this.calls[oldest]!;
    this.calls[oldest] = 0;
    this.index = next;
  }

  addCall(): void {
    this.calls[this.index]!++;
    this.callTotal++;
  }

  addRetry(): void {
    this.retries[this.index]!++;
    this.retryTotal++;
  }
}
