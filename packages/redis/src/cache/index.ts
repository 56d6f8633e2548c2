export {
  type InvalidationBus,
  type InvalidationChannel,
  type InvalidationMessage,
  RedisInvalidationBus,
  type RedisInvalidationBusOptions,
  redisInvalidationBus,
} from './invalidation-bus.js';
export { type CacheSerializer, jsonSerializer } from './serializer.js';
export { RedisCacheStore, type RedisCacheStoreOptions, redisCacheStore } from './store.js';
export { TieredCacheStore, type TieredOptions, tiered } from './tiered.js';
