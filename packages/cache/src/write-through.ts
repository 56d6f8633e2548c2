import type { Clock } from '@bulwark/core';
import { makeEntry } from './entry.js';
import { checkKey, checkTags } from './keys.js';
import { memoryCacheStore } from './memory-store.js';
import { positiveTtl, type WriteThroughOptions, writeThroughOptions } from './options.js';
import type { CacheStore } from './store.js';

export interface WriteThroughSetOptions {
  /** Default: the cache's `ttlMs`. */
  ttlMs?: number;
  tags?: readonly string[];
}

/**
 * Write-through: `set` writes the source first and updates the cache only once the source has
 * the value, so the cache never holds what the source refused.
 */
export class WriteThrough {
  readonly store: CacheStore;
  private readonly write: (key: string, value: unknown) => Promise<void>;
  private readonly ttlMs: number | undefined;
  private readonly clock: Clock;
  /** The last `set` of each key still running: sets of one key apply in call order. */
  private readonly writing = new Map<string, Promise<void>>();
  /** Loads in progress, shared by concurrent `get`s of a key; `set` marks them stale. */
  private readonly loading = new Map<string, { promise: Promise<unknown>; storable: boolean }>();

  constructor(options: WriteThroughOptions) {
    const o = writeThroughOptions(options);
    this.store = o.store ?? memoryCacheStore();
    this.write = o.write;
    this.ttlMs = o.ttlMs;
    this.clock = o.clock;
  }

  /** The cached value, or `load(key)` once for concurrent callers (cached), or undefined. */
  async get<V = unknown>(
    key: string,
    load?: (key: string) => V | PromiseLike<V>,
  ): Promise<V | undefined> {
    checkKey('writeThrough.get', key);
    if (load !== undefined && typeof load !== 'function') {
      throw new TypeError(`writeThrough.get: load must be a function, got ${typeof load}`);
    }
    const now = this.clock.now();
    const entry = await this.store.get(key, now);
    if (entry !== undefined && now < entry.expiresAt) return entry.value as V;
    if (load === undefined) return undefined;
    const running = this.loading.get(key);
    if (running !== undefined) return running.promise as Promise<V>;
    const flight = { promise: undefined as unknown as Promise<unknown>, storable: true };
    this.loading.set(key, flight);
    flight.promise = this.fill(key, load, flight).finally(() => this.loading.delete(key));
    return flight.promise as Promise<V>;
  }

  /**
   * Writes `value` to the source, then to the cache. When the source write fails the cache is
   * left as it was and the error is thrown.
   */
  async set(key: string, value: unknown, options?: WriteThroughSetOptions): Promise<void> {
    checkKey('writeThrough.set', key);
    const ttlMs =
      options?.ttlMs === undefined ? this.ttlMs : positiveTtl('writeThrough.set', options.ttlMs);
    const tags = checkTags('writeThrough.set', options?.tags);
    const previous = this.writing.get(key);
    const mine = this.apply(previous, key, value, ttlMs, tags);
    this.writing.set(key, mine);
    try {
      await mine;
    } finally {
      if (this.writing.get(key) === mine) this.writing.delete(key);
    }
  }

  /** Drops the cached value (the source keeps its own). */
  async delete(key: string): Promise<void> {
    checkKey('writeThrough.delete', key);
    const flight = this.loading.get(key);
    if (flight !== undefined) flight.storable = false;
    await this.store.delete(key);
  }

  private async apply(
    previous: Promise<void> | undefined,
    key: string,
    value: unknown,
    ttlMs: number | undefined,
    tags: readonly string[] | undefined,
  ): Promise<void> {
    if (previous !== undefined) await previous.catch(() => undefined);
    await this.write(key, value);
    const flight = this.loading.get(key);
    if (flight !== undefined) flight.storable = false;
    const now = this.clock.now();
    try {
      await this.store.set(key, makeEntry(value, now, ttlMs, 0, tags), now);
    } catch (error) {
      // The source has the new value: an older cached one must not outlive this failure.
      await Promise.resolve()
        .then(() => this.store.delete(key))
        .catch(() => undefined);
      throw error;
    }
  }

  private async fill(
    key: string,
    load: (key: string) => unknown,
    flight: { storable: boolean },
  ): Promise<unknown> {
    const value = await load(key);
    if (value !== undefined && flight.storable && !this.writing.has(key)) {
      const now = this.clock.now();
      await this.store.set(key, makeEntry(value, now, this.ttlMs, 0, undefined), now);
    }
    return value;
  }
}

export function writeThrough(options: WriteThroughOptions): WriteThrough {
  return new WriteThrough(options);
}
