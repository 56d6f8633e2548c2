/** The calls a failure-rate breaker looks at; totals are kept as counters, read in O(1). */
export interface OutcomeWindow {
  readonly calls: number;
  readonly failures: number;
  readonly slowCalls: number;
  /** Counts one call that ended at `now`. */
  add(now: number, failed: boolean, slow: boolean): void;
  /** Lets the calls that are too old leave the window. */
  advance(now: number): void;
  clear(): void;
}
