/**
 * A breaker strategy counts outcomes and says when the circuit should open. It knows nothing of
 * the circuit's states: `circuitBreaker` owns those, and calls the strategy only while closed.
 */
export interface Breaker {
  /**
   * What the circuit reads from its clock for each call: nothing (`'none'`), the time the call
   * ends (`'end'`, for a time window), or its duration as well (`'duration'`, for slow calls).
   */
  readonly timing: 'none' | 'end' | 'duration';
  /** A call that takes longer than this is slow; `Infinity` when slow calls are not tracked. */
  readonly slowCallMs: number;
  /** Counts a call that did not fail; true when the circuit should open. */
  success(now: number, durationMs: number): boolean;
  /** Counts a failed call; true when the circuit should open. */
  failure(now: number, durationMs: number): boolean;
  /** Forgets every call: the circuit has just closed or been reset. */
  reset(): void;
  /** What the strategy holds at `now`. */
  counts(now: number): BreakerCounts;
}

export interface BreakerCounts {
  calls: number;
  failures: number;
  slowCalls: number;
}

const TIMINGS: ReadonlySet<unknown> = new Set(['none', 'end', 'duration']);

export function isBreaker(value: unknown): value is Breaker {
  if (typeof value !== 'object' || value === null) return false;
  const b = value as Partial<Breaker>;
  return (
    TIMINGS.has(b.timing) &&
    typeof b.slowCallMs === 'number' &&
    typeof b.success === 'function' &&
    typeof b.failure === 'function' &&
    typeof b.reset === 'function' &&
    typeof b.counts === 'function'
  );
}
