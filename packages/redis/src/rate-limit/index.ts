export type { OnStoreError, RedisRateLimitStoreOptions } from './options.js';
export { type RedisRateLimitStore, redisRateLimitStore } from './store.js';
