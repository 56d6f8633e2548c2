import {
  type Clock,
  type Context,
  clockOption,
  functionOption,
  integerOption,
  nonNegativeOption,
  objectOption,
  positiveOption,
  realClock,
} from '@bulwark/core';
import type { RateLimiter } from './decision.js';
import type { RateLimitStore } from './store.js';

/** Buckets a memory store keeps by default. */
export const DEFAULT_MAX_KEYS = 10_000;

export interface TokenBucketOptions {
  /** The most tokens the bucket holds: the largest burst, and the largest cost of one take. */
  capacity: number;
  /** Tokens added per second, continuously (10/s is one every 100 ms, not 10 each second). */
  refillPerSecond: number;
  /** Where buckets live; default: a new `memoryRateLimitStore()`. */
  store?: RateLimitStore;
  clock?: Clock;
}

export interface LeakyBucketOptions {
  /** Calls per second, evenly spaced: 10/s is one slot every 100 ms. */
  ratePerSecond: number;
  /** How many calls may wait for a slot; one more is refused. 0: only a free slot admits. */
  maxQueue: number;
  /** Where buckets live; default: a new `memoryRateLimitStore()`. */
  store?: RateLimitStore;
  clock?: Clock;
}

export interface MemoryRateLimitStoreOptions {
  /** The most buckets kept; the least recently used go first, those at rest before busy ones. */
  maxKeys?: number;
}

export interface RateLimitOptions {
  limiter: RateLimiter;
  /** The bucket of a call; default: the `key` given to `execute` (`wrap`'s `key` option). */
  key?: (ctx: Context) => string;
  /** Units a call takes; default 1. */
  cost?: number | ((ctx: Context) => number);
  /** How long a refused call may wait for room in its bucket before it is rejected; default 0. */
  maxWaitMs?: number;
  /** The clock waits run on; default: the limiter's clock, else real time. */
  clock?: Clock;
}

export function validateStore(where: string, store: RateLimitStore): RateLimitStore {
  objectOption(where, 'store', store);
  functionOption(where, 'store.take', store.take);
  return store;
}

export function validateTokenBucket(options: TokenBucketOptions) {
  const where = 'tokenBucket';
  objectOption(where, 'options', options);
  return {
    capacity: positiveOption(where, 'capacity', options.capacity),
    refillPerSecond: positiveOption(where, 'refillPerSecond', options.refillPerSecond),
    store: options.store === undefined ? undefined : validateStore(where, options.store),
    clock: options.clock === undefined ? realClock : clockOption(where, options.clock),
  };
}

export function validateLeakyBucket(options: LeakyBucketOptions) {
  const where = 'leakyBucket';
  objectOption(where, 'options', options);
  return {
    ratePerSecond: positiveOption(where, 'ratePerSecond', options.ratePerSecond),
    maxQueue: integerOption(where, 'maxQueue', options.maxQueue, 0),
    store: options.store === undefined ? undefined : validateStore(where, options.store),
    clock: options.clock === undefined ? realClock : clockOption(where, options.clock),
  };
}

export function validateMemoryStore(options: MemoryRateLimitStoreOptions | undefined) {
  const where = 'memoryRateLimitStore';
  if (options !== undefined) objectOption(where, 'options', options);
  return {
    maxKeys:
      options?.maxKeys === undefined
        ? DEFAULT_MAX_KEYS
        : integerOption(where, 'maxKeys', options.maxKeys),
  };
}

export function validateRateLimit(options: RateLimitOptions) {
  const where = 'rateLimit';
  objectOption(where, 'options', options);
  const limiter = objectOption(where, 'limiter', options.limiter);
  functionOption(where, 'limiter.take', limiter.take);
  const maxCost = limiter.maxCost;
  let cost = options.cost ?? 1;
  if (typeof cost !== 'function') {
    cost = positiveOption(where, 'cost', cost);
    if (typeof maxCost === 'number' && cost > maxCost) {
      throw new RangeError(
        `${where}: cost must be <= the limiter's largest take (${maxCost}), got ${cost}: such a call could never pass`,
      );
    }
  }
  const limiterClock = (limiter as { clock?: Clock }).clock;
  return {
    limiter,
    key: options.key === undefined ? undefined : functionOption(where, 'key', options.key),
    cost,
    maxWaitMs:
      options.maxWaitMs === undefined
        ? 0
        : nonNegativeOption(where, 'maxWaitMs', options.maxWaitMs),
    clock:
      options.clock !== undefined
        ? clockOption(where, options.clock)
        : limiterClock !== undefined
          ? clockOption(where, limiterClock)
          : realClock,
  };
}
