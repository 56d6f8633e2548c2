import {
  type Clock,
  clockOption,
  functionOption,
  integerOption,
  knownOptions,
  nonNegativeOption,
  objectOption,
  oneOfOption,
  positiveOption,
  realClock,
} from '@bulwark/core';
import type { IdempotencyStore } from '@bulwark/idempotency';
import type { RateLimiter } from '@bulwark/rate-limit';
import { DEFAULT_IPV6_SUBNET } from './client-key.js';
import { sfString } from './headers.js';

const FIELDS = ['all', 'refused'] as const;

export type Awaitable<T> = T | PromiseLike<T>;

/** `rateLimit` of an adapter; `Req` is the framework's request. */
export interface HttpRateLimitOptions<Req> {
  /** `tokenBucket(...)`, `leakyBucket(...)` or any `RateLimiter`. */
  limiter: RateLimiter;
  /** The bucket of a request. Default: the client address, IPv6 grouped by `ipv6Subnet`. */
  key?: (req: Req) => Awaitable<string>;
  /** Units a request takes. Default 1. */
  cost?: number | ((req: Req) => Awaitable<number>);
  /** True: the request is not counted and gets no RateLimit fields. */
  skip?: (req: Req) => Awaitable<boolean>;
  /** The policy's name in the RateLimit fields. Default `'default'`. */
  policyName?: string;
  /** `w` of RateLimit-Policy. Default: how long the limiter takes to refill a full quota. */
  windowSeconds?: number;
  /** The prefix length IPv6 clients are grouped by; `false` keys by the whole address. Default 56. */
  ipv6Subnet?: number | false;
  /**
   * Which responses carry `RateLimit-Policy` and `RateLimit`: `'all'` (default), so a client can
   * pace itself before it is refused, or only the `'refused'` ones (429), for services whose
   * clients never read them: the two fields are most of what the middleware costs a small route.
   */
  fields?: 'all' | 'refused';
  /** The clock a leaky bucket's wait runs on. Default: the limiter's clock, else real time. */
  clock?: Clock;
}

/** `idempotency` of an adapter. */
export interface HttpIdempotencyOptions<Req> {
  /** Where records live. Default: a `memoryIdempotencyStore()` of this middleware. */
  store?: IdempotencyStore;
  /** Answer 400 to a request without an Idempotency-Key. Default false: it runs as usual. */
  required?: boolean;
  /** Whose key it is (a user, a tenant): part of the stored key, so scopes never share records. */
  scope?: (req: Req) => Awaitable<string>;
  /** The methods it applies to. Default `['POST', 'PATCH']`. */
  methods?: readonly string[];
  /** Store and replay 5xx responses too. Default false: a 5xx releases the key for a retry. */
  storeServerErrors?: boolean;
  /** How long a finished key replays its response. Default 86_400_000 (24 h). */
  ttlMs?: number;
  /** How long a crashed server's claim blocks the key. Default 60_000. */
  leaseMs?: number;
  clock?: Clock;
}

/** `loadShedding` of an adapter: a bulkhead on inbound requests. */
export interface LoadSheddingOptions {
  /** Requests handled at once: an integer >= 1. */
  maxConcurrent: number;
  /** Requests that may wait for a slot. Default 0: answer 503 at once. */
  maxQueue?: number;
  /** How long a request may wait in the queue before a 503. Default: as long as it takes. */
  queueTimeoutMs?: number;
  /** The Retry-After of a 503. Default 1000 (1 s). */
  retryAfterMs?: number;
  clock?: Clock;
}

/** `deadline` of an adapter. */
export interface DeadlineOptions {
  /** How long a request may take before a 504: a finite number > 0. */
  ms: number;
  clock?: Clock;
}

function booleanOption(where: string, option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new TypeError(`${where}: ${option} must be a boolean, got ${typeof value}`);
  }
  return value;
}

export function resolveRateLimitOptions<Req>(where: string, options: HttpRateLimitOptions<Req>) {
  objectOption(where, 'options', options);
  knownOptions(where, options, [
    'limiter',
    'key',
    'cost',
    'skip',
    'policyName',
    'windowSeconds',
    'ipv6Subnet',
    'fields',
    'clock',
  ]);
  const limiter = objectOption(where, 'limiter', options.limiter);
  functionOption(where, 'limiter.take', limiter.take);
  let cost = options.cost ?? 1;
  if (typeof cost !== 'function') {
    cost = positiveOption(where, 'cost', cost);
    if (typeof limiter.maxCost === 'number' && cost > limiter.maxCost) {
      throw new RangeError(
        `${where}: cost must be <= the limiter's largest take (${limiter.maxCost}), got ${cost}: such a request could never pass`,
      );
    }
  }
  const name = options.policyName ?? 'default';
  if (typeof name !== 'string' || name.length === 0) {
    throw new TypeError(`${where}: policyName must be a non-empty string, got ${String(name)}`);
  }
  let policyName: string;
  try {
    policyName = sfString(name);
  } catch {
    throw new RangeError(
      `${where}: policyName must be printable ASCII (it goes in a header), got ${JSON.stringify(name)}`,
    );
  }
  const subnet = options.ipv6Subnet ?? DEFAULT_IPV6_SUBNET;
  const ipv6Subnet: number | false =
    subnet === false ? false : integerOption(where, 'ipv6Subnet', subnet, 1);
  if (ipv6Subnet !== false && ipv6Subnet > 128) {
    throw new RangeError(`${where}: ipv6Subnet must be an integer from 1 to 128, got ${subnet}`);
  }
  const limiterClock = (limiter as { clock?: Clock }).clock;
  return {
    limiter,
    key: options.key === undefined ? undefined : functionOption(where, 'key', options.key),
    cost,
    skip: options.skip === undefined ? undefined : functionOption(where, 'skip', options.skip),
    policyName,
    windowSeconds:
      options.windowSeconds === undefined
        ? undefined
        : integerOption(where, 'windowSeconds', options.windowSeconds, 1),
    ipv6Subnet,
    fieldsOnAllowed: oneOfOption(where, 'fields', options.fields ?? 'all', FIELDS) === 'all',
    clock:
      options.clock !== undefined
        ? clockOption(where, options.clock)
        : limiterClock !== undefined
          ? clockOption(where, limiterClock)
          : realClock,
  };
}

export const DEFAULT_METHODS: readonly string[] = Object.freeze(['POST', 'PATCH']);

export function resolveIdempotencyOptions<Req>(
  where: string,
  options: HttpIdempotencyOptions<Req> | undefined,
) {
  const o = options === undefined ? {} : objectOption(where, 'options', options);
  knownOptions(where, o, [
    'store',
    'required',
    'scope',
    'methods',
    'storeServerErrors',
    'ttlMs',
    'leaseMs',
    'clock',
  ]);
  const methods = o.methods ?? DEFAULT_METHODS;
  if (
    !Array.isArray(methods) ||
    methods.length === 0 ||
    !methods.every((m) => typeof m === 'string' && /^[A-Za-z]+$/.test(m))
  ) {
    throw new TypeError(
      `${where}: methods must be a non-empty array of HTTP method names, got ${JSON.stringify(methods)}`,
    );
  }
  return {
    store: o.store,
    required: booleanOption(where, 'required', o.required, false),
    scope: o.scope === undefined ? undefined : functionOption(where, 'scope', o.scope),
    methods: new Set(methods.map((m) => m.toUpperCase())),
    storeServerErrors: booleanOption(where, 'storeServerErrors', o.storeServerErrors, false),
    ttlMs: o.ttlMs === undefined ? undefined : integerOption(where, 'ttlMs', o.ttlMs),
    leaseMs: o.leaseMs === undefined ? undefined : integerOption(where, 'leaseMs', o.leaseMs),
    clock: o.clock === undefined ? undefined : clockOption(where, o.clock),
  };
}

export function resolveLoadSheddingOptions(where: string, options: LoadSheddingOptions) {
  objectOption(where, 'options', options);
  knownOptions(where, options, [
    'maxConcurrent',
    'maxQueue',
    'queueTimeoutMs',
    'retryAfterMs',
    'clock',
  ]);
  // Checked here too, so a bad value is named after the middleware, not the bulkhead inside it.
  integerOption(where, 'maxConcurrent', options.maxConcurrent);
  if (options.maxQueue !== undefined && options.maxQueue !== Number.POSITIVE_INFINITY) {
    integerOption(where, 'maxQueue', options.maxQueue, 0);
  }
  if (options.queueTimeoutMs !== undefined) {
    positiveOption(where, 'queueTimeoutMs', options.queueTimeoutMs);
  }
  return {
    retryAfterMs:
      options.retryAfterMs === undefined
        ? 1000
        : nonNegativeOption(where, 'retryAfterMs', options.retryAfterMs),
  };
}

export function resolveDeadlineOptions(where: string, options: DeadlineOptions) {
  objectOption(where, 'options', options);
  knownOptions(where, options, ['ms', 'clock']);
  return { ms: positiveOption(where, 'ms', options.ms) };
}
