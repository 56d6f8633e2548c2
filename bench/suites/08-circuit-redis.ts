import { type CircuitBreaker, circuitBreaker, consecutiveBreaker } from '@bulwark/circuit-breaker';
import { type RedisCircuitStore, redisCircuitStore } from '@bulwark/redis';
import { Redis } from 'ioredis';
import type { Suite } from '../suite.ts';

// The shared Redis on 6379, a prefix of this run's own, deleted at the end.
const prefix = `bench:circuit-redis:${process.pid}:`;
const fn = async () => 1;

const inMemory = circuitBreaker({ breaker: consecutiveBreaker(5), name: 'payments' });
let client: Redis;
let store: RedisCircuitStore;
let shared: CircuitBreaker;

const inMemoryCase = 'circuitBreaker(consecutiveBreaker(5)), in memory';

const suite: Suite = {
  id: 'circuit-redis',
  title: 'Circuit breaker on Redis: what a closed shared circuit costs a passing call',
  about:
    'An async function that returns at once, awaited bare, through a closed `circuitBreaker({ breaker: consecutiveBreaker(5) })` with its own memory store, and through the same breaker sharing its circuit with a fleet through `redisCircuitStore` (a real Redis on 127.0.0.1:6379, subscribed). Each instance counts its own calls, so a passing call makes no round trip: the Redis-backed breaker should cost what the in-memory one costs; its target is the in-memory target (100 ns over bare) plus 50 ns.',
  async setup() {
    client = new Redis({ host: '127.0.0.1', port: 6379 });
    store = redisCircuitStore({ client, prefix });
    shared = circuitBreaker({ breaker: consecutiveBreaker(5), store, name: 'payments' });
    await store.ready();
    if (shared.state !== 'closed') throw new Error(`the shared circuit is ${shared.state}`);
  },
  cases: [
    { name: 'await fn()', kind: 'bare', fn: async () => await fn() },
    {
      name: inMemoryCase,
      kind: 'ours',
      fn: async () => await inMemory.execute(fn),
      target: { maxOverheadNs: 100 },
    },
    {
      name: 'circuitBreaker(consecutiveBreaker(5)), redisCircuitStore',
      kind: 'ours',
      fn: async () => await shared.execute(fn),
      target: { maxOverheadNs: 150 },
    },
  ],
  async teardown() {
    await store.close();
    await client.del(store.redisKey('payments'));
    await client.quit();
  },
};
export default suite;
