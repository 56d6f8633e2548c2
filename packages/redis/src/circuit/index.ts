export {
  type RedisCircuitStore,
  type RedisCircuitStoreOptions,
  redisCircuitStore,
} from './store.js';
