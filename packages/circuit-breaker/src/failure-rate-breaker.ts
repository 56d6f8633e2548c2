import {
  integerOption,
  invalidOption,
  nonNegativeOption,
  objectOption,
  positiveOption,
  ratioOption,
} from '@bulwark/core';
import type { Breaker, BreakerCounts } from './breaker.js';
import { CountWindow } from './count-window.js';

import type { OutcomeWindow } from './outcome-window.js';
import { TimeWindow } from './time-window.js';

export interface FailureRateBreakerOptions {
  /** Opens when failures / calls in the window reach this; in (0, 1]. Default 0.5. */
  threshold?: number;
  /** No decision before the window holds this many calls. Default 20. */
  minimumCalls?: number;
  /** The last `calls` calls, or the calls of the last `ms` in `buckets` slices (default 10). */
  window: { calls: number } | { ms: number; buckets?: number };
  /** A call that takes longer than this counts as slow. Off by default. */
  slowCallMs?: number;
  /** Opens when slow calls / calls reach this; in (0, 1]. Default 1 when slowCallMs is set. */
  slowCallRateThreshold?: number;
}

const WHERE = 'failureRateBreaker';

class FailureRateBreaker implements Breaker {
  constructor(
    private readonly window: OutcomeWindow,
    readonly timing: Breaker['timing'],
    private readonly threshold: number,
    private readonly minimumCalls: number,
    readonly slowCallMs: number,
    // Infinity when slow calls are not tracked: the rate never reaches it.
    private readonly slowCallRateThreshold: number,
  ) {}

  success(now: number, durationMs: number): boolean {
    this.window.add(now, false, durationMs > this.slowCallMs);
    return this.trips();
  }

  failure(now: number, durationMs: number): boolean {
    this.window.add(now, true, durationMs > this.slowCallMs);
    return this.trips();
  }

  reset(): void {
    this.window.clear();
  }

  counts(now: number): BreakerCounts {
    const w = this.window;
    w.advance(now);
    return { calls: w.calls, failures: w.failures, slowCalls: w.slowCalls };
  }

  private trips(): boolean {
    const { calls, failures, slowCalls } = this.window;
    return (
      calls >= this.minimumCalls &&
      (failures / calls >= this.threshold || slowCalls / calls >= this.slowCallRateThreshold)
    );
  }
}

/**
 * Opens the circuit when the failure rate (or the slow-call rate) over a window of calls reaches
 * its threshold, once the window holds `minimumCalls` calls. Every call costs O(1).
 */
export function failureRateBreaker(options: FailureRateBreakerOptions): Breaker {
  objectOption(WHERE, 'options', options);
  const threshold = ratioOption(WHERE, 'threshold', options.threshold ?? 0.5);
  let minimumCalls = integerOption(WHERE, 'minimumCalls', options.minimumCalls ?? 20);
  const slowCallMs =
    options.slowCallMs === undefined
      ? Number.POSITIVE_INFINITY
      : nonNegativeOption(WHERE, 'slowCallMs', options.slowCallMs);
  let slowCallRateThreshold = Number.POSITIVE_INFINITY;
  if (options.slowCallRateThreshold !== undefined) {
    if (options.slowCallMs === undefined) {
      invalidOption(WHERE, 'slowCallMs', 'set when slowCallRateThreshold is', undefined, false);
    }
    slowCallRateThreshold = ratioOption(
      WHERE,
      'slowCallRateThreshold',
      options.slowCallRateThreshold,
    );
  } else if (options.slowCallMs !== undefined) {
    slowCallRateThreshold = 1;
  }
  const tracksSlow = options.slowCallMs !== undefined;

  const spec = objectOption(WHERE, 'window', options.window) as Record<string, unknown>;
  const byCalls = spec.calls !== undefined;
  if (byCalls === (spec.ms !== undefined) || (byCalls && spec.buckets !== undefined)) {
    invalidOption(WHERE, 'window', '{ calls } or { ms, buckets? }', spec, false);
  }
  let window: OutcomeWindow;
  let timing: Breaker['timing'];
  if (byCalls) {
    const calls = integerOption(WHERE, 'window.calls', spec.calls);
    // As resilience4j does: a window smaller than minimumCalls decides once it is full.
    minimumCalls = Math.min(minimumCalls, calls);
    window = new CountWindow(calls);
    timing = tracksSlow ? 'duration' : 'none';
  } else {
    const ms = positiveOption(WHERE, 'window.ms', spec.ms);
    const buckets = integerOption(WHERE, 'window.buckets', spec.buckets ?? 10);
    window = new TimeWindow(ms, buckets);
    timing = tracksSlow ? 'duration' : 'end';
  }
  return new FailureRateBreaker(
    window,
    timing,
    threshold,
    minimumCalls,
    slowCallMs,
    slowCallRateThreshold,
  );
}
