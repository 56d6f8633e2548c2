import { integerOption } from '@bulwark/core';
import {
  type RedisStoreOptions,
  type ResolvedRedisOptions,
  resolveRedisOptions,
} from '../shared/options.js';

export interface RedisCircuitStoreOptions extends RedisStoreOptions {
  /** Starts every key and channel; no braces (the store puts each circuit in its own hash tag). Default `'bulwark:circuit:'`. */
  prefix?: string;
  /** How long a Redis call may take before the breaker goes on alone; default 200. */
  timeoutMs?: number;
  /** How long a probe holds the half-open circuit for the fleet before another instance may probe; default 10 000. */
  probeLeaseMs?: number;
}

export interface ResolvedCircuitStoreOptions extends ResolvedRedisOptions {
  probeLeaseMs: number;
}

export const DEFAULT_PREFIX = 'bulwark:circuit:';
export const DEFAULT_TIMEOUT_MS = 200;
export const DEFAULT_PROBE_LEASE_MS = 10_000;
const WHERE = 'redisCircuitStore';

export function resolveCircuitStoreOptions(
  options: RedisCircuitStoreOptions,
): ResolvedCircuitStoreOptions {
  const common = resolveRedisOptions(
    WHERE,
    options,
    { prefix: DEFAULT_PREFIX, timeoutMs: DEFAULT_TIMEOUT_MS },
    ['probeLeaseMs'],
  );
  return {
    ...common,
    probeLeaseMs: integerOption(
      WHERE,
      'probeLeaseMs',
      options.probeLeaseMs ?? DEFAULT_PROBE_LEASE_MS,
    ),
  };
}
