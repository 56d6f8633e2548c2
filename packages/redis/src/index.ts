export * from './cache-store.js';
export * from './circuit-store.js';
export * from './idempotency-store.js';
export type { OnStoreError, RedisRateLimitStoreOptions } from './rate-limit-options.js';
export { type RedisRateLimitStore, redisRateLimitStore } from './rate-limit-store.js';
