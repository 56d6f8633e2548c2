import type { Clock } from '@bulwark/core';
import { type Decision, decision, type RateLimiter } from './decision.js';
import type { BucketRule, RateLimitStore, StoreListener } from './store.js';

// Floating-point sums must not refuse a take that lands exactly on the boundary: the tolerance
// gets a millionth of an interval more, so a call may pass at most that much early.
const SLACK = 1e-6;

const noSubscription = () => {};

/** Whole units left, read through rounding noise (2.9999999999 is 3). */
function units(value: number): number {
  return value <= 0 ? 0 : Math.floor(value + 1e-9);
}

/** Whole ms, rounded up, ignoring noise below a nanosecond. */
function ceilMs(value: number): number {
  return value <= 1e-6 ? 0 : Math.ceil(value - 1e-6);
}

/**
 * A token bucket or a leaky bucket: both are the same virtual-time rule (see `BucketRule`).
 * A token bucket lets an allowed call go at once; a leaky bucket tells it to wait for its slot.
 */
export class BucketLimiter implements RateLimiter, BucketRule {
  readonly intervalMs: number;
  readonly toleranceMs: number;

  /**
   * @param name the factory's name, for error messages
   * @param maxCost capacity (token bucket) or maxQueue + 1 (leaky bucket)
   * @param costLimit how error messages name maxCost
   * @param spacing true for a leaky bucket: allowed calls wait for their slot
   */
  constructor(
    private readonly name: string,
    readonly maxCost: number,
    private readonly costLimit: string,
    ratePerSecond: number,
    private readonly spacing: boolean,
    private readonly store: RateLimitStore,
    readonly clock: Clock,
  ) {
    this.intervalMs = 1000 / ratePerSecond;
    this.toleranceMs = (maxCost + SLACK) * this.intervalMs;
  }

  take(key: string, cost = 1): Promise<Decision> {
    if (typeof key !== 'string') {
      return Promise.reject(
        new TypeError(`${this.name}.take: key must be a string, got ${describe(key)}`),
      );
    }
    if (typeof cost !== 'number' || !(cost > 0 && cost <= this.maxCost)) {
      return Promise.reject(this.costError(cost));
    }
    return this.store.take(key, cost, this, this.clock.now());
  }

  takeNow(key: string, cost = 1): Decision | undefined {
    if (this.store.takeNow === undefined) return undefined;
    if (typeof key !== 'string') {
      throw new TypeError(`${this.name}.takeNow: key must be a string, got ${describe(key)}`);
    }
    if (typeof cost !== 'number' || !(cost > 0 && cost <= this.maxCost)) throw this.costError(cost);
    return this.store.takeNow(key, cost, this, this.clock.now());
  }

  on(listener: StoreListener): () => void {
    return this.store.on ? this.store.on(listener) : noSubscription;
  }

  decide(allowed: boolean, backlogMs: number, cost: number): Decision {
    const { intervalMs, maxCost } = this;
    if (allowed) {
      const after = backlogMs + cost * intervalMs;
      return decision(
        true,
        maxCost,
        units(maxCost - after / intervalMs),
        0,
        ceilMs(after),
        this.spacing ? backlogMs : 0,
      );
    }
    return decision(
      false,
      maxCost,
      units(maxCost - backlogMs / intervalMs),
      Math.max(1, Math.ceil(backlogMs + cost * intervalMs - this.toleranceMs)),
      ceilMs(backlogMs),
      0,
    );
  }

  private costError(cost: unknown): Error {
    const message = `${this.name}.take: cost must be a number > 0 and <= ${this.costLimit} (${this.maxCost}), got ${describe(cost)}`;
    if (typeof cost !== 'number') return new TypeError(message);
    return cost > this.maxCost
      ? new RangeError(`${message}: a bucket that never holds that much could never admit it`)
      : new RangeError(message);
  }
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  if (typeof value === 'number') return String(value);
  return typeof value;
}
