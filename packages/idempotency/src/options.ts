import {
  type Clock,
  clockOption,
  functionOption,
  integerOption,
  knownOptions,
  objectOption,
  realClock,
} from '@bulwark/core';
import { memoryIdempotencyStore } from './memory-store.js';
import { jsonSerializer, type Serializer } from './serializer.js';
import { type IdempotencyStore, isIdempotencyStore } from './store.js';

export const DEFAULT_TTL_MS = 86_400_000;
export const DEFAULT_LEASE_MS = 60_000;

export interface IdempotencyOptions {
  /** Where records live. Default: a `memoryIdempotencyStore` on this policy's clock. */
  store?: IdempotencyStore;
  /** How long a finished key replays its result, from completion. Default 86_400_000 (24 h). */
  ttlMs?: number;
  /**
   * How long a claim holds the key without a renewal: a crashed owner blocks the key this long.
   * Renewed every leaseMs / 3 while fn runs. Default 60_000.
   */
  leaseMs?: number;
  clock?: Clock;
  /**
   * Which errors of fn are final: stored and replayed (rethrown) to repeats, like a declined card.
   * Default: none; every error releases the key so the call can be tried again.
   */
  storeError?: (error: unknown) => boolean;
  /** How results are stored. Default `jsonSerializer` (strict JSON). */
  serializer?: Serializer;
}

export interface ResolvedIdempotencyOptions {
  store: IdempotencyStore;
  ttlMs: number;
  leaseMs: number;
  clock: Clock;
  storeError: ((error: unknown) => boolean) | undefined;
  serializer: Serializer;
}

const known = ['store', 'ttlMs', 'leaseMs', 'clock', 'storeError', 'serializer'];

export function resolveIdempotencyOptions(
  options: IdempotencyOptions | undefined,
): ResolvedIdempotencyOptions {
  const o = options === undefined ? {} : objectOption('idempotency', 'options', options);
  knownOptions('idempotency', o, known);
  const ttlMs = integerOption('idempotency', 'ttlMs', o.ttlMs ?? DEFAULT_TTL_MS);
  const leaseMs = integerOption('idempotency', 'leaseMs', o.leaseMs ?? DEFAULT_LEASE_MS);
  if (ttlMs < leaseMs) {
    throw new RangeError(
      `idempotency: ttlMs must be >= leaseMs (a record must outlive its lease), got ttlMs ${ttlMs} and leaseMs ${leaseMs}`,
    );
  }
  const clock = o.clock === undefined ? realClock : clockOption('idempotency', o.clock);
  if (o.store !== undefined && !isIdempotencyStore(o.store)) {
    throw new TypeError(
      'idempotency: store must be an idempotency store (memoryIdempotencyStore(), redisIdempotencyStore(), postgresIdempotencyStore(), or an object with claim, renew, complete, release, get and delete)',
    );
  }
  const serializer = o.serializer ?? jsonSerializer;
  if (
    typeof serializer?.serialize !== 'function' ||
    typeof serializer?.deserialize !== 'function'
  ) {
    throw new TypeError(
      'idempotency: serializer must be an object with serialize(value) and deserialize(text)',
    );
  }
  return {
    store: o.store ?? memoryIdempotencyStore({ clock }),
    ttlMs,
    leaseMs,
    clock,
    storeError:
      o.storeError === undefined
        ? undefined
        : functionOption('idempotency', 'storeError', o.storeError),
    serializer,
  };
}
