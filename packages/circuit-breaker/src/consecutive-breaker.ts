import { integerOption } from '@bulwark/core';
import type { Breaker, BreakerCounts } from './breaker.js';

class ConsecutiveBreaker implements Breaker {
  readonly timing = 'none';
  readonly slowCallMs = Number.POSITIVE_INFINITY;
  private consecutive = 0;
  // Since the circuit last closed, for stats(); two increments are all a call costs.
  private calls = 0;
  private failures = 0;

  constructor(private readonly threshold: number) {}

  success(): boolean {
    this.calls++;
    this.consecutive = 0;
    return false;
  }

  failure(): boolean {
    this.calls++;
    this.failures++;
    return ++this.consecutive >= this.threshold;
  }

  reset(): void {
    this.consecutive = 0;
    this.calls = 0;
    this.failures = 0;
  }

  counts(): BreakerCounts {
    return { calls: this.calls, failures: this.failures, slowCalls: 0 };
  }
}

/** Opens the circuit after `threshold` failures in a row; a success starts the count again. */
export function consecutiveBreaker(threshold: number): Breaker {
  return new ConsecutiveBreaker(integerOption('consecutiveBreaker', 'threshold', threshold, 1));
}
