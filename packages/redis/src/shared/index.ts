export type { RedisArg, RedisClient } from './client.js';
export {
  type Gate,
  isRedisAnswer,
  RedisHealth,
  type RedisStoreErrorEvent,
  type RedisStoreEvent,
  type RedisStoreListener,
  type RedisStoreRecoveredEvent,
  SEND,
  UNAVAILABLE,
  WAIT_FOR_CONNECTION,
} from './health.js';
export { hashTagKey, storeKey } from './keys.js';
export {
  type RedisStoreOptions,
  type ResolvedRedisOptions,
  resolveRedisOptions,
} from './options.js';
export { REDIS_NOW, Script, UnexpectedReplyError } from './script.js';
