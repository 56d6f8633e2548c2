import { integerOption, objectOption, oneOfOption } from '@bulwark/core';
import { DEFAULT_MAX_KEYS } from '@bulwark/rate-limit';
import {
  type RedisStoreOptions,
  type ResolvedRedisOptions,
  resolveRedisOptions,
} from '../shared/options.js';

/** What a take does while Redis is away: see the README. */
export type OnStoreError = 'local' | 'allow' | 'deny';

export interface RedisRateLimitStoreOptions extends RedisStoreOptions {
  /**
   * Starts every key of this store, e.g. `'rl:api:'`; no braces (the store adds the hash tag).
   * Required: two limiters with different rules must not share buckets by accident.
   */
  prefix: string;
  /** How long a take waits for Redis before `onStoreError` decides; default 100. */
  timeoutMs?: number;
  /** `'local'` (default): an in-process limiter decides; `'allow'`: admit; `'deny'`: reject. */
  onStoreError?: OnStoreError;
  /** The most buckets the `'local'` stand-in keeps; default 10 000. */
  localMaxKeys?: number;
}

export interface ResolvedRateLimitOptions extends ResolvedRedisOptions {
  onStoreError: OnStoreError;
  localMaxKeys: number;
}

const where = 'redisRateLimitStore';
const modes: readonly OnStoreError[] = ['local', 'allow', 'deny'];

export function resolveRateLimitOptions(
  options: RedisRateLimitStoreOptions,
): ResolvedRateLimitOptions {
  objectOption(where, 'options', options);
  if (options.prefix === undefined) {
    throw new TypeError(
      `${where}: prefix is required, got undefined: give each limiter's store its own, such as 'rl:api:'`,
    );
  }
  const common = resolveRedisOptions(where, options, { prefix: options.prefix, timeoutMs: 100 }, [
    'onStoreError',
    'localMaxKeys',
  ]);
  return {
    ...common,
    onStoreError:
      options.onStoreError === undefined
        ? 'local'
        : oneOfOption(where, 'onStoreError', options.onStoreError, modes),
    localMaxKeys:
      options.localMaxKeys === undefined
        ? DEFAULT_MAX_KEYS
        : integerOption(where, 'localMaxKeys', options.localMaxKeys),
  };
}
