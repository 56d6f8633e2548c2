import type { StoreListener } from './store.js';

/** The answer to one `take`. */
export interface Decision {
  /** True when the call may go ahead (after `waitMs`, for a leaky bucket). */
  readonly allowed: boolean;
  /** The most cost the bucket admits at once: `capacity`, or `maxQueue + 1` for a leaky bucket. */
  readonly limit: number;
  /** Units of cost that could still be taken right now. */
  readonly remaining: number;
  /** For a refused call: in how many ms the same take could succeed. 0 when allowed. */
  readonly retryAfterMs: number;
  /** In how many ms the bucket is back to its resting state: full tokens, or an empty queue. */
  readonly resetMs: number;
  /** Leaky bucket: how long an allowed call waits for its slot. Always 0 for a token bucket. */
  readonly waitMs: number;
}

export interface RateLimiter {
  /** Takes `cost` (default 1) from the bucket of `key`. */
  take(key: string, cost?: number): Promise<Decision>;
  /**
   * Optional: the decision at once, when the store can give it without waiting (the memory
   * store); undefined when it cannot (Redis), and the caller takes as usual. Lets an HTTP
   * middleware decide within the request's own turn of the event loop.
   */
  takeNow?(key: string, cost?: number): Decision | undefined;
  /** Hears the events of the limiter's store, if it has any (`store-error`, `store-recovered`). */
  on?(listener: StoreListener): () => void;
  /** The largest cost one take may ask for; `rateLimit` checks its `cost` against it. */
  readonly maxCost?: number;
}

export function decision(
  allowed: boolean,
  limit: number,
  remaining: number,
  retryAfterMs: number,
  resetMs: number,
  waitMs: number,
): Decision {
  return { allowed, limit, remaining, retryAfterMs, resetMs, waitMs };
}
