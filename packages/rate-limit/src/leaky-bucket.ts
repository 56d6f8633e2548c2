import { BucketLimiter } from './bucket-limiter.js';
import type { Decision, RateLimiter } from './decision.js';
import { memoryRateLimitStore } from './memory-store.js';
import { type LeakyBucketOptions, validateLeakyBucket } from './options.js';

export interface LeakyBucket extends RateLimiter {
  readonly maxCost: number;
  takeNow(key: string, cost?: number): Decision | undefined;
}

/**
 * A leaky bucket used as a queue: calls are spaced `1 / ratePerSecond` apart. An allowed take
 * is told `waitMs`, the time until its slot; a take that would leave more than `maxQueue`
 * calls waiting is refused with `retryAfterMs`. A take of cost n holds n slots in a row.
 */
export function leakyBucket(options: LeakyBucketOptions): LeakyBucket {
  const { ratePerSecond, maxQueue, store, clock } = validateLeakyBucket(options);
  return new BucketLimiter(
    'leakyBucket',
    maxQueue + 1,
    'maxQueue + 1',
    ratePerSecond,
    true,
    store ?? memoryRateLimitStore(),
    clock,
  );
}
