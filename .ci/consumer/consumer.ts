// A service on ioredis 6 that uses every Redis store: it must type-check as it is.
import { circuitBreaker, consecutiveBreaker } from '@bulwark/circuit-breaker';
import { idempotency } from '@bulwark/idempotency';
import { tokenBucket } from '@bulwark/rate-limit';
import {
  type RedisStoreEvent,
  redisCacheStore,
  redisCircuitStore,
  redisIdempotencyStore,
  redisInvalidationBus,
  redisRateLimitStore,
} from '@bulwark/redis';
import { Cluster, Redis } from 'ioredis';

const client = new Redis({ lazyConnect: true });
const cluster = new Cluster([{ host: '127.0.0.1', port: 7000 }], { lazyConnect: true });

export const limiter = tokenBucket({
  capacity: 10,
  refillPerSecond: 1,
  store: redisRateLimitStore({ client, prefix: 'rl:' }),
});
export const breaker = circuitBreaker({
  name: 'payments',
  breaker: consecutiveBreaker(3),
  store: redisCircuitStore({ client: cluster }),
});
export const payments = idempotency({ store: redisIdempotencyStore({ client }) });
export const cache = redisCacheStore({ client: cluster });
export const bus = redisInvalidationBus({ client });
export const log = (event: RedisStoreEvent) => event.type;
