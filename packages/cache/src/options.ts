import {
  type Clock,
  clockOption,
  functionOption,
  integerOption,
  nonNegativeOption,
  objectOption,
  positiveOption,
  realClock,
} from '@bulwark/core';
import { checkTags } from './keys.js';
import type { CacheStore } from './store.js';

/** Tags of a cached value: fixed, or computed from the value and its key when it is stored. */
export type TagsOption = readonly string[] | ((value: unknown, key: string) => readonly string[]);

export interface MemoryCacheStoreOptions {
  /** Entries held at most; the least recently used goes first. Default 10 000. */
  maxEntries?: number;
  /** Total `sizeOf` held at most; needs `sizeOf`. Default: no byte bound. */
  maxBytes?: number;
  /** The size of a value (bytes, or any unit `maxBytes` uses). */
  sizeOf?: (value: unknown, key: string) => number;
  /** Copies values on the way in and out (e.g. `structuredClone`); default: kept by reference. */
  clone?: <V>(value: V) => V;
}

export interface CacheAsideOptions {
  /** Default: a `memoryCacheStore()` of its own. */
  store?: CacheStore;
  /** How long a loaded value is fresh. */
  ttlMs: number;
  /** After `ttlMs`, how long the stale value is still served while one background load refreshes it. */
  staleWhileRevalidateMs?: number;
  /** After `ttlMs`, how long the stale value is served when the loader fails. */
  staleIfErrorMs?: number;
  tags?: TagsOption;
  /** Cache a loader's `undefined` (negative caching); default false: undefined is loaded again. */
  cacheUndefined?: boolean;
  /** How long a cached `undefined` is fresh; default `ttlMs`. */
  undefinedTtlMs?: number;
  /** Use the store's cross-process fill lock when it has one (Redis); default true. */
  lock?: boolean;
  /** How long a process may hold the fill lock of a key; default 10 000. */
  lockLeaseMs?: number;
  /** How long a process waits for another's fill before loading itself; default 5 000. */
  lockWaitMs?: number;
  clock?: Clock;
}

export interface WriteThroughOptions {
  store?: CacheStore;
  /** Writes a value to the source of truth; the cache is updated only when it resolves. */
  write: (key: string, value: unknown) => Promise<void>;
  /** How long a cached value lives; default: until evicted or replaced. */
  ttlMs?: number;
  clock?: Clock;
}

/** Exponential delays between retries of a failed batch, or a function of the failures so far. */
export type BackoffOption =
  | { initialMs?: number; maxMs?: number; factor?: number }
  | ((failures: number) => number);

export interface WriteBehindOptions {
  store?: CacheStore;
  /** Writes one batch to the source; rejecting retries the whole batch later. */
  writeBatch: (entries: Array<{ key: string; value: unknown }>) => Promise<void>;
  /** How often queued writes go out. */
  flushIntervalMs: number;
  /** Entries per `writeBatch` call at most. */
  maxBatch: number;
  /** Keys waiting to be written at most; `set` of a new key waits for room beyond it. */
  maxPending: number;
  /** How long a cached value lives; default: until evicted or replaced. */
  ttlMs?: number;
  /** Delay before retrying a failed batch; default `{ initialMs: 100, maxMs: 30_000, factor: 2 }`. */
  backoff?: BackoffOption;
  clock?: Clock;
}

export const defaults = Object.freeze({
  maxEntries: 10_000,
  lockLeaseMs: 10_000,
  lockWaitMs: 5_000,
  backoff: Object.freeze({ initialMs: 100, maxMs: 30_000, factor: 2 }),
});

export function storeOption(where: string, store: unknown): CacheStore {
  const s = store as Partial<CacheStore> | null;
  if (
    typeof s !== 'object' ||
    s === null ||
    typeof s.get !== 'function' ||
    typeof s.set !== 'function' ||
    typeof s.delete !== 'function' ||
    typeof s.deleteByTag !== 'function'
  ) {
    throw new TypeError(
      `${where}: store must be a CacheStore (get, set, delete, deleteByTag), got ${s === null ? 'null' : typeof s}`,
    );
  }
  return s as CacheStore;
}

export function memoryStoreOptions(options: MemoryCacheStoreOptions | undefined) {
  const where = 'memoryCacheStore';
  const o = options === undefined ? {} : objectOption(where, 'options', options);
  const maxEntries = integerOption(where, 'maxEntries', o.maxEntries ?? defaults.maxEntries);
  const sizeOf = o.sizeOf === undefined ? undefined : functionOption(where, 'sizeOf', o.sizeOf);
  let maxBytes = Number.POSITIVE_INFINITY;
  if (o.maxBytes !== undefined) {
    maxBytes = positiveOption(where, 'maxBytes', o.maxBytes);
    if (sizeOf === undefined) {
      throw new TypeError(`${where}: maxBytes needs sizeOf, a function that measures a value`);
    }
  }
  const clone = o.clone === undefined ? undefined : functionOption(where, 'clone', o.clone);
  return { maxEntries, maxBytes, sizeOf, clone };
}

export function tagsOption(where: string, tags: unknown): TagsOption | undefined {
  if (tags === undefined || typeof tags === 'function') return tags as TagsOption | undefined;
  return checkTags(where, tags);
}

export function cacheAsideOptions(options: CacheAsideOptions) {
  const where = 'cacheAside';
  const o = objectOption(where, 'options', options);
  const ttlMs = positiveOption(where, 'ttlMs', o.ttlMs);
  const swrMs = nonNegativeOption(where, 'staleWhileRevalidateMs', o.staleWhileRevalidateMs ?? 0);
  const sieMs = nonNegativeOption(where, 'staleIfErrorMs', o.staleIfErrorMs ?? 0);
  if (o.cacheUndefined !== undefined && typeof o.cacheUndefined !== 'boolean') {
    throw new TypeError(
      `${where}: cacheUndefined must be a boolean, got ${typeof o.cacheUndefined}`,
    );
  }
  if (o.lock !== undefined && typeof o.lock !== 'boolean') {
    throw new TypeError(`${where}: lock must be a boolean, got ${typeof o.lock}`);
  }
  return {
    store: o.store === undefined ? undefined : storeOption(where, o.store),
    ttlMs,
    swrMs,
    sieMs,
    tags: tagsOption(where, o.tags),
    cacheUndefined: o.cacheUndefined === true,
    undefinedTtlMs:
      o.undefinedTtlMs === undefined
        ? ttlMs
        : positiveOption(where, 'undefinedTtlMs', o.undefinedTtlMs),
    lock: o.lock !== false,
    lockLeaseMs: positiveOption(where, 'lockLeaseMs', o.lockLeaseMs ?? defaults.lockLeaseMs),
    lockWaitMs: nonNegativeOption(where, 'lockWaitMs', o.lockWaitMs ?? defaults.lockWaitMs),
    clock: clockOption(where, o.clock ?? realClock),
  };
}

export function writeThroughOptions(options: WriteThroughOptions) {
  const where = 'writeThrough';
  const o = objectOption(where, 'options', options);
  return {
    store: o.store === undefined ? undefined : storeOption(where, o.store),
    write: functionOption(where, 'write', o.write),
    ttlMs: o.ttlMs === undefined ? undefined : positiveOption(where, 'ttlMs', o.ttlMs),
    clock: clockOption(where, o.clock ?? realClock),
  };
}

export function backoffOption(where: string, backoff: BackoffOption | undefined) {
  if (typeof backoff === 'function') return backoff;
  const b = backoff === undefined ? {} : objectOption(where, 'backoff', backoff);
  const initialMs = positiveOption(
    where,
    'backoff.initialMs',
    b.initialMs ?? defaults.backoff.initialMs,
  );
  const maxMs = positiveOption(where, 'backoff.maxMs', b.maxMs ?? defaults.backoff.maxMs);
  const factor = b.factor ?? defaults.backoff.factor;
  if (typeof factor !== 'number' || !(factor >= 1) || !Number.isFinite(factor)) {
    const message = `${where}: backoff.factor must be a finite number >= 1, got ${String(factor)}`;
    throw typeof factor === 'number' ? new RangeError(message) : new TypeError(message);
  }
  if (maxMs < initialMs) {
    throw new RangeError(
      `${where}: backoff.maxMs must be >= backoff.initialMs (${initialMs}), got ${maxMs}`,
    );
  }
  return (failures: number) => Math.min(maxMs, initialMs * factor ** (failures - 1));
}

export function writeBehindOptions(options: WriteBehindOptions) {
  const where = 'writeBehind';
  const o = objectOption(where, 'options', options);
  const maxBatch = integerOption(where, 'maxBatch', o.maxBatch);
  const maxPending = integerOption(where, 'maxPending', o.maxPending);
  return {
    store: o.store === undefined ? undefined : storeOption(where, o.store),
    writeBatch: functionOption(where, 'writeBatch', o.writeBatch),
    flushIntervalMs: positiveOption(where, 'flushIntervalMs', o.flushIntervalMs),
    maxBatch,
    maxPending,
    ttlMs: o.ttlMs === undefined ? undefined : positiveOption(where, 'ttlMs', o.ttlMs),
    backoff: backoffOption(where, o.backoff),
    clock: clockOption(where, o.clock ?? realClock),
  };
}

/** A TTL passed to a method: a finite number > 0. */
export function positiveTtl(where: string, ttlMs: unknown): number {
  return positiveOption(where, 'ttlMs', ttlMs);
}
