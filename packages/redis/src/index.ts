export * from './cache/index.js';
export * from './circuit/index.js';
export * from './idempotency/index.js';
export * from './rate-limit/index.js';
export type {
  RedisClient,
  RedisStoreErrorEvent,
  RedisStoreEvent,
  RedisStoreListener,
  RedisStoreOptions,
  RedisStoreRecoveredEvent,
} from './shared/index.js';
