import {
  type Clock,
  clockOption,
  functionOption,
  integerOption,
  objectOption,
  oneOfOption,
  positiveOption,
  realClock,
} from '@bulwark/core';
import { DEFAULT_MAX_KEYS } from '@bulwark/rate-limit';
import type { Cluster, Redis } from 'ioredis';

/** What a take does when Redis does not answer in time: see the README. */
export type OnStoreError = 'local' | 'allow' | 'deny';

export interface RedisRateLimitStoreOptions {
  /** An ioredis client: `new Redis(...)` or `new Cluster(...)`. */
  client: Redis | Cluster;
  /** Starts every key of this store, e.g. `'rl:api:'`; no braces (the store adds the hash tag). */
  prefix: string;
  /** How long a take waits for Redis before `onStoreError` decides; default 100. */
  timeoutMs?: number;
  /** `'local'` (default): an in-process limiter decides; `'allow'`: admit; `'deny'`: reject. */
  onStoreError?: OnStoreError;
  /** The most buckets the `'local'` stand-in keeps; default 10 000. */
  localMaxKeys?: number;
  /** The clock of the `timeoutMs` timer; default real time. */
  clock?: Clock;
}

const modes: readonly OnStoreError[] = ['local', 'allow', 'deny'];

export function validateRedisRateLimitStore(options: RedisRateLimitStoreOptions) {
  const where = 'redisRateLimitStore';
  objectOption(where, 'options', options);
  const client = objectOption(where, 'client', options.client);
  functionOption(where, 'client.evalsha', client.evalsha);
  functionOption(where, 'client.eval', client.eval);
  const { prefix } = options;
  if (typeof prefix !== 'string') {
    throw new TypeError(`${where}: prefix must be a string, got ${typeof prefix}`);
  }
  if (/[{}]/.test(prefix)) {
    throw new RangeError(
      `${where}: prefix must not contain '{' or '}', got ${JSON.stringify(prefix)}: the store puts each key in its own hash tag`,
    );
  }
  return {
    client,
    prefix,
    timeoutMs:
      options.timeoutMs === undefined ? 100 : positiveOption(where, 'timeoutMs', options.timeoutMs),
    onStoreError:
      options.onStoreError === undefined
        ? ('local' as const)
        : oneOfOption(where, 'onStoreError', options.onStoreError, modes),
    localMaxKeys:
      options.localMaxKeys === undefined
        ? DEFAULT_MAX_KEYS
        : integerOption(where, 'localMaxKeys', options.localMaxKeys),
    clock: options.clock === undefined ? realClock : clockOption(where, options.clock),
  };
}
