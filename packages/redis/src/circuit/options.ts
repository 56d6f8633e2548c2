import {
  type Clock,
  clockOption,
  integerOption,
  knownOptions,
  objectOption,
  positiveOption,
  realClock,
} from '@bulwark/core';
import type { Cluster, Redis } from 'ioredis';

export interface RedisCircuitStoreOptions {
  /** An ioredis client: `new Redis(...)` or `new Cluster(...)`. The store subscribes on `client.duplicate()`. */
  client: Redis | Cluster;
  /** Starts every key and channel; no braces (the store puts each circuit in its own hash tag). Default `'bulwark:circuit:'`. */
  prefix?: string;
  /** How long a Redis call may take before the breaker goes on alone; default 200. */
  timeoutMs?: number;
  /** How long a probe holds the half-open circuit for the fleet before another instance may probe; default 10 000. */
  probeLeaseMs?: number;
  /** The breakers' clock (the store converts record times to and from it); default real time. */
  clock?: Clock;
}

export const DEFAULT_PREFIX = 'bulwark:circuit:';
const WHERE = 'redisCircuitStore';
const KNOWN = ['client', 'prefix', 'timeoutMs', 'probeLeaseMs', 'clock'];

export function resolveRedisCircuitStore(options: RedisCircuitStoreOptions) {
  objectOption(WHERE, 'options', options);
  knownOptions(WHERE, options, KNOWN);
  const client = options.client as Partial<Redis> | undefined;
  if (
    typeof client !== 'object' ||
    client === null ||
    typeof client.evalsha !== 'function' ||
    typeof client.eval !== 'function' ||
    typeof client.duplicate !== 'function'
  ) {
    throw new TypeError(
      `${WHERE}: client must be an ioredis Redis or Cluster client, got ${client === null ? 'null' : typeof client}`,
    );
  }
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== 'string') {
    throw new TypeError(`${WHERE}: prefix must be a string, got ${typeof prefix}`);
  }
  if (/[{}]/.test(prefix)) {
    throw new RangeError(
      `${WHERE}: prefix must not contain '{' or '}', got ${JSON.stringify(prefix)}: the store puts each circuit in its own hash tag`,
    );
  }
  return {
    client: options.client,
    prefix,
    timeoutMs: positiveOption(WHERE, 'timeoutMs', options.timeoutMs ?? 200),
    probeLeaseMs: integerOption(WHERE, 'probeLeaseMs', options.probeLeaseMs ?? 10_000),
    clock: options.clock === undefined ? realClock : clockOption(WHERE, options.clock),
  };
}
