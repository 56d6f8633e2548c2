import type { Clock } from '@bulwark/core';
import { type RetryBudgetOptions, resolveRetryBudgetOptions } from './options.js';
import { SlidingCounts } from './window.js';

export interface RetryBudgetStats {
  /** Calls (first attempts) counted in the window. */
  calls: number;
  /** Retries granted in the window. */
  retries: number;
  /** Retries the budget would grant now. */
  available: number;
}

/**
 * A cap on retries shared by many retry policies, after Finagle's RetryBudget: each call
 * deposits `ratio` of a retry, each retry withdraws one, and deposits expire after `windowMs`;
 * a reserve of minPerSecond x window lets a quiet service retry. During an outage the fleet
 * sends at most (1 + ratio) x its normal traffic, however many layers retry.
 */
export class RetryBudget {
  private readonly counts: SlidingCounts;
  private readonly ratio: number;
  private readonly reserve: number;
  private readonly clock: Clock;

  constructor(options?: RetryBudgetOptions) {
    const { ratio, minPerSecond, windowMs, clock } = resolveRetryBudgetOptions(options);
    this.counts = new SlidingCounts(windowMs);
    this.ratio = ratio;
    this.reserve = (minPerSecond * windowMs) / 1000;
    this.clock = clock;
  }

  deposit(): void {
    this.counts.roll(this.clock.now());
    this.counts.addCall();
  }

  tryWithdraw(): boolean {
    this.counts.roll(this.clock.now());
    const { callTotal, retryTotal } = this.counts;
    if (retryTotal + 1 > this.ratio * callTotal + this.reserve) return false;
    this.counts.addRetry();
    return true;
  }

  /** Retries the budget would grant now. */
  get available(): number {
    this.counts.roll(this.clock.now());
    const { callTotal, retryTotal } = this.counts;
    return Math.max(0, Math.floor(this.ratio * callTotal + this.reserve - retryTotal));
  }

  stats(): RetryBudgetStats {
    const available = this.available;
    return { calls: this.counts.callTotal, retries: this.counts.retryTotal, available };
  }
}

/**
 * A budget to share between retry policies so a fleet never multiplies an outage: retries in
 * any window stay under ratio x calls + minPerSecond x window.
 */
export function retryBudget(options?: RetryBudgetOptions): RetryBudget {
  return new RetryBudget(options);
}
