import type { Decision } from './decision.js';

/**
 * What a limiter asks of its store: one step of a virtual-time bucket (the generic cell rate
 * algorithm, GCRA). A bucket is one number, its theoretical arrival time `tat`: the moment it
 * would be full (token bucket) or empty (leaky bucket) again. A take of `cost`, at `now`:
 *
 *     backlogMs = max(tat - now, 0)
 *     allowed   = backlogMs + cost * intervalMs <= toleranceMs
 *     if allowed: tat = now + backlogMs + cost * intervalMs
 *
 * The same rule serves both algorithms; only how a limiter reads the result differs.
 */
export interface BucketRule {
  /** How long one unit of cost keeps the bucket busy: 1000 / rate, in ms. */
  readonly intervalMs: number;
  /** How far past `now` the bucket may be booked: capacity x intervalMs (plus a rounding slack). */
  readonly toleranceMs: number;
  /** Turns the store's answer into the Decision the caller gets. */
  decide(allowed: boolean, backlogMs: number, cost: number): Decision;
}

/** Something a store reports, such as `{ type: 'store-error', error, ... }`. */
export interface StoreEvent {
  readonly type: string;
  readonly [detail: string]: unknown;
}

export type StoreListener = (event: StoreEvent) => void;

/**
 * Where buckets live. `take` performs the step of `BucketRule` atomically and answers with
 * `rule.decide(allowed, backlogMs, cost)`. `now` is the limiter's clock; a shared store may
 * use its own (Redis uses `TIME`), since only differences of time reach the Decision.
 */
export interface RateLimitStore {
  take(key: string, cost: number, rule: BucketRule, now: number): Promise<Decision>;
  /** Optional: `take` answered synchronously, for a store that never waits (memory). */
  takeNow?(key: string, cost: number, rule: BucketRule, now: number): Decision;
  /** Events of the store (a Redis outage); `rateLimit` relays them as its own. */
  on?(listener: StoreListener): () => void;
}
