import { BucketLimiter } from './bucket-limiter.js';
import type { Decision, RateLimiter } from './decision.js';
import { memoryRateLimitStore } from './memory-store.js';
import { type TokenBucketOptions, validateTokenBucket } from './options.js';

export interface TokenBucket extends RateLimiter {
  readonly maxCost: number;
  takeNow(key: string, cost?: number): Decision | undefined;
}

/**
 * A token bucket: holds up to `capacity` tokens, refilled continuously at `refillPerSecond`.
 * A take of `cost` passes at once when the bucket holds that many tokens, else it is refused
 * with `retryAfterMs`, the time until it would. Bursts up to capacity; never more than
 * `capacity + refillPerSecond x seconds` over any span, however the takes are timed.
 */
export function tokenBucket(options: TokenBucketOptions): TokenBucket {
  const { capacity, refillPerSecond, store, clock } = validateTokenBucket(options);
  return new BucketLimiter(
    'tokenBucket',
    capacity,
    'capacity',
    refillPerSecond,
    false,
    store ?? memoryRateLimitStore(),
    clock,
  );
}
