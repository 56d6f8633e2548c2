import type { OutcomeWindow } from './outcome-window.js';

/**
 * The calls of the last `buckets` slices of time, the current slice included. Slice `n` holds
 * the calls that ended in [n * width, (n + 1) * width). Slices roll lazily when a call or a read
 * comes, on the injected clock: no timer, and never more than `buckets` slices cleared at once.
 */
export class TimeWindow implements OutcomeWindow {
  calls = 0;
  failures = 0;
  slowCalls = 0;
  private readonly width: number;
  private readonly bucketCalls: Float64Array;
  private readonly bucketFailures: Float64Array;
  private readonly bucketSlowCalls: Float64Array;
  private head = 0;
  private headSlice = Number.NEGATIVE_INFINITY;

  constructor(
    ms: number,
    private readonly buckets: number,
  ) {
    this.width = ms / buckets;
    this.bucketCalls = new Float64Array(buckets);
    this.bucketFailures = new Float64Array(buckets);
    this.bucketSlowCalls = new Float64Array(buckets);
  }

  add(now: number, failed: boolean, slow: boolean): void {
    this.advance(now);
    const i = this.head;
    this.bucketCalls[i]!++;
    this.calls++;
    if (failed) {
      this.bucketFailures[i]!++;
      this.failures++;
    }
    if (slow) {
      this.bucketSlowCalls[i]!++;
      this.slowCalls++;
    }
  }

  advance(now: number): void {
    const slice = Math.floor(now / this.width);
    const steps = slice - this.headSlice;
    // A clock that steps back keeps counting into the current slice.
    if (!(steps > 0)) return;
    this.headSlice = slice;
    if (steps >= this.buckets) {
      this.clearBuckets();
      return;
    }
    let i = this.head;
    for (let s = 0; s < steps; s++) {
      i = i + 1 === this.buckets ? 0 : i + 1;
      this.calls -= this.bucketCalls[i]!;
      this.failures -= this.bucketFailures[i]!;
      this.slowCalls -= this.bucketSlowCalls[i]!;
      this.bucketCalls[i] = 0;
      this.bucketFailures[i] = 0;
      this.bucketSlowCalls[i] = 0;
    }
    this.head = i;
  }

  clear(): void {
    this.clearBuckets();
    this.headSlice = Number.NEGATIVE_INFINITY;
  }

  private clearBuckets(): void {
    this.bucketCalls.fill(0);
    this.bucketFailures.fill(0);
    this.bucketSlowCalls.fill(0);
    this.calls = 0;
    this.failures = 0;
    this.slowCalls = 0;
    this.head = 0;
  }
}
