export { RateLimitedError } from '@bulwark/core';
export type { Decision, RateLimiter } from './decision.js';
export { type LeakyBucket, leakyBucket } from './leaky-bucket.js';
export { MemoryRateLimitStore, memoryRateLimitStore } from './memory-store.js';
export {
  DEFAULT_MAX_KEYS,
  type LeakyBucketOptions,
  type MemoryRateLimitStoreOptions,
  type RateLimitOptions,
  type TokenBucketOptions,
} from './options.js';
export { rateLimit } from './rate-limit.js';
export type { BucketRule, RateLimitStore, StoreEvent, StoreListener } from './store.js';
export { type TokenBucket, tokenBucket } from './token-bucket.js';
