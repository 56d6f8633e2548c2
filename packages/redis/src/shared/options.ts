import {
  type Clock,
  clockOption,
  knownOptions,
  objectOption,
  positiveOption,
  realClock,
} from '@bulwark/core';
import type { RedisClient } from './client.js';

/** The options every Redis store takes. */
export interface RedisStoreOptions {
  /** An ioredis client (5.x or 6.x): `new Redis(...)` or `new Cluster(...)`. */
  client: RedisClient;
  /** Starts every key of this store; no braces (the store puts each id in its own hash tag). */
  prefix?: string;
  /** The longest any one Redis command may take before the store stops waiting for it. */
  timeoutMs?: number;
  /** The clock of that deadline (one timer per store, not per command); default real time. */
  clock?: Clock;
}

export interface ResolvedRedisOptions {
  client: RedisClient;
  prefix: string;
  timeoutMs: number;
  clock: Clock;
}

const COMMON = ['client', 'prefix', 'timeoutMs', 'clock'];
const HINTS = {
  timeout: 'did you mean timeoutMs?',
  commandTimeout: 'did you mean timeoutMs? commandTimeout is an option of the ioredis client',
  keyPrefix: 'did you mean prefix?',
  redis: 'did you mean client?',
  storeClient: 'did you mean client?',
};

/**
 * Validates what every store takes, and refuses option names the store does not know (a
 * misspelt `timeout` would otherwise leave the default in force without a word).
 */
export function resolveRedisOptions(
  where: string,
  options: RedisStoreOptions,
  defaults: { prefix: string; timeoutMs: number },
  more: readonly string[] = [],
): ResolvedRedisOptions {
  objectOption(where, 'options', options);
  knownOptions(where, options as unknown as Record<string, unknown>, [...COMMON, ...more], HINTS);
  const client = options.client as Partial<RedisClient> | null | undefined;
  if (
    typeof client !== 'object' ||
    client === null ||
    typeof client.evalsha !== 'function' ||
    typeof client.eval !== 'function' ||
    typeof client.duplicate !== 'function'
  ) {
    throw new TypeError(
      `${where}: client must be an ioredis Redis or Cluster client (new Redis(...) or new Cluster(...)), got ${client === null ? 'null' : typeof client}`,
    );
  }
  const prefix = options.prefix ?? defaults.prefix;
  if (typeof prefix !== 'string' || prefix.length === 0) {
    throw new TypeError(
      `${where}: prefix must be a non-empty string, got ${JSON.stringify(prefix) ?? String(prefix)}`,
    );
  }
  if (/[{}]/.test(prefix)) {
    throw new RangeError(
      `${where}: prefix must not contain '{' or '}', got ${JSON.stringify(prefix)}: the store puts each id in its own hash tag`,
    );
  }
  return {
    client: options.client,
    prefix,
    timeoutMs: positiveOption(where, 'timeoutMs', options.timeoutMs ?? defaults.timeoutMs),
    clock: options.clock === undefined ? realClock : clockOption(where, options.clock),
  };
}
