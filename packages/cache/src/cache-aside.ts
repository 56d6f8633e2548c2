import {
  CallContext,
  type Clock,
  type InnerTask,
  isPromiseLike,
  PolicyBase,
  RUN,
} from '@bulwark/core';
import { isProgrammingError, makeEntry } from './entry.js';
import { fillAcrossProcesses } from './fill-lock.js';
import { checkKey, checkTag, checkTags, keyError } from './keys.js';
import { memoryCacheStore } from './memory-store.js';
import {
  type CacheAsideOptions,
  cacheAsideOptions,
  positiveTtl,
  type TagsOption,
} from './options.js';
import { type CacheStats, statsOf } from './stats.js';
import type { CacheEntry, CacheStore } from './store.js';

/** Options of `cacheAside.set`. */
export interface CacheSetOptions {
  /** Default: the policy's `ttlMs`. */
  ttlMs?: number;
  /** Default: the policy's `tags`. */
  tags?: readonly string[];
}

/** A load in progress for one key, shared by every call that misses it meanwhile. */
interface Flight {
  promise: Promise<unknown>;
  /** The context the loader runs with; waiters load again themselves if it was aborted. */
  readonly ctx: CallContext;
  /** Cleared by `set`/`invalidate` during the load: its older value is returned, not stored. */
  storable: boolean;
}

/**
 * Cache-aside as a policy: `execute(loader, { key })` answers from the cache, or runs the
 * loader once for all the calls that miss the same key at the same time.
 */
export class CacheAside extends PolicyBase {
  readonly store: CacheStore;
  private readonly clock: Clock;
  private readonly ttlMs: number;
  private readonly swrMs: number;
  private readonly sieMs: number;
  /** How long past `expiresAt` an entry is kept for stale reads. */
  private readonly keepMs: number;
  private readonly tags: TagsOption | undefined;
  private readonly cacheUndefined: boolean;
  private readonly undefinedTtlMs: number;
  private readonly lockable: boolean;
  private readonly lockLeaseMs: number;
  private readonly lockWaitMs: number;
  private readonly inflight = new Map<string, Flight>();
  private hits = 0;
  private misses = 0;
  private staleHits = 0;
  private loads = 0;
  private errors = 0;

  constructor(options: CacheAsideOptions) {
    super('cacheAside');
    const o = cacheAsideOptions(options);
    this.store = o.store ?? memoryCacheStore();
    this.clock = o.clock;
    this.ttlMs = o.ttlMs;
    this.swrMs = o.swrMs;
    this.sieMs = o.sieMs;
    this.keepMs = Math.max(o.swrMs, o.sieMs);
    this.tags = o.tags;
    this.cacheUndefined = o.cacheUndefined;
    this.undefinedTtlMs = o.undefinedTtlMs;
    this.lockable =
      o.lock &&
      typeof this.store.acquireLock === 'function' &&
      typeof this.store.releaseLock === 'function';
    this.lockLeaseMs = o.lockLeaseMs;
    this.lockWaitMs = o.lockWaitMs;
  }

  [RUN]<T>(fn: InnerTask<T>, ctx: CallContext): T | PromiseLike<T> {
    const key = ctx.key;
    if (typeof key !== 'string' || key.length === 0) {
      throw keyError('cacheAside.execute(fn, { key })', key);
    }
    const now = this.clock.now();
    const found = this.lookup(key, now);
    if (isPromiseLike(found)) {
      return Promise.resolve(found).then(
        (entry) => this.answer(fn, ctx, key, entry, this.clock.now()),
        (error: unknown) => {
          this.storeError(key, error, 'get');
          return this.answer(fn, ctx, key, undefined, this.clock.now());
        },
      );
    }
    return this.answer(fn, ctx, key, found, now);
  }

  /** The store's entry for `key`; a store that throws reads as a miss, and reports. */
  private lookup(
    key: string,
    now: number,
  ): CacheEntry | undefined | PromiseLike<CacheEntry | undefined> {
    try {
      return this.store.get(key, now);
    } catch (error) {
      this.storeError(key, error, 'get');
      return undefined;
    }
  }

  /** The fresh value of `key`, or undefined (a store that is down reads as a miss, and reports). */
  get<V = unknown>(key: string): Promise<V | undefined> {
    if (typeof key !== 'string' || key.length === 0) {
      return Promise.reject(keyError('cacheAside.get', key));
    }
    const now = this.clock.now();
    const found = this.lookup(key, now);
    if (isPromiseLike(found)) {
      return Promise.resolve(found).then(
        (entry) => this.fresh(entry, this.clock.now()) as V | undefined,
        (error: unknown) => {
          this.storeError(key, error, 'get');
          return this.fresh(undefined, 0) as V | undefined;
        },
      );
    }
    return Promise.resolve(this.fresh(found, now) as V | undefined);
  }

  /** Stores `value` as if loaded now; a load of `key` in progress will not overwrite it. */
  async set(key: string, value: unknown, options?: CacheSetOptions): Promise<void> {
    checkKey('cacheAside.set', key);
    const ttlMs =
      options?.ttlMs === undefined ? this.ttlMs : positiveTtl('cacheAside.set', options.ttlMs);
    const tags =
      options?.tags === undefined
        ? this.tagsOf(value, key)
        : checkTags('cacheAside.set', options.tags);
    const flight = this.inflight.get(key);
    if (flight !== undefined) flight.storable = false;
    const now = this.clock.now();
    await this.store.set(key, makeEntry(value, now, ttlMs, this.keepMs, tags), now);
  }

  /** Drops `key`; a load of it in progress returns its value to its callers but does not store it. */
  async invalidate(key: string): Promise<void> {
    checkKey('cacheAside.invalidate', key);
    const flight = this.inflight.get(key);
    if (flight !== undefined) flight.storable = false;
    await this.store.delete(key);
  }

  /** Drops every entry tagged `tag`; loads in progress are not stored (their tags are not known yet). */
  async invalidateTag(tag: string): Promise<void> {
    checkTag('cacheAside.invalidateTag', tag);
    for (const flight of this.inflight.values()) flight.storable = false;
    await this.store.deleteByTag(tag);
  }

  stats(): CacheStats {
    return statsOf(this.hits, this.misses, this.staleHits, this.loads, this.errors);
  }

  private fresh(entry: CacheEntry | undefined, now: number): unknown {
    if (entry !== undefined && now < entry.expiresAt) {
      this.hits++;
      return entry.value;
    }
    this.misses++;
    return undefined;
  }

  private answer<T>(
    fn: InnerTask<T>,
    ctx: CallContext,
    key: string,
    entry: CacheEntry | undefined,
    now: number,
  ): T | Promise<T> {
    if (entry !== undefined) {
      if (now < entry.expiresAt) {
        this.hits++;
        if (this.listening) this.emit('hit', { key });
        return entry.value as T;
      }
      if (now < entry.expiresAt + this.swrMs) {
        this.staleHits++;
        if (this.listening) this.emit('stale', { key, reason: 'revalidate' });
        // One refresh at a time per key: a load already running will refresh it.
        if (!this.inflight.has(key)) this.refresh(fn, ctx, key);
        return entry.value as T;
      }
    }
    this.misses++;
    if (this.listening) this.emit('miss', { key });
    return this.load(fn, ctx, key, entry);
  }

  private load<T>(
    fn: InnerTask<T>,
    ctx: CallContext,
    key: string,
    stale: CacheEntry | undefined,
  ): Promise<T> {
    const flight = this.inflight.get(key) ?? this.start(fn, ctx, key);
    const promise = flight.promise as Promise<T>;
    if (flight.ctx === ctx && (stale === undefined || this.sieMs === 0)) return promise;
    return promise.then(undefined, (error: unknown) =>
      this.failed(fn, ctx, key, stale, flight, error),
    );
  }

  private failed<T>(
    fn: InnerTask<T>,
    ctx: CallContext,
    key: string,
    stale: CacheEntry | undefined,
    flight: Flight,
    error: unknown,
  ): T | Promise<T> {
    // The load belonged to a call that was aborted; this caller still wants the value.
    if (flight.ctx !== ctx && flight.ctx.aborted && !ctx.aborted)
      return this.load(fn, ctx, key, stale);
    if (stale !== undefined && this.clock.now() < stale.expiresAt + this.sieMs) {
      this.staleHits++;
      if (this.listening) this.emit('stale', { key, reason: 'error', error });
      return stale.value as T;
    }
    throw error;
  }

  private start(fn: InnerTask<unknown>, ctx: CallContext, key: string): Flight {
    const flight: Flight = {
      promise: undefined as unknown as Promise<unknown>,
      ctx,
      storable: true,
    };
    this.inflight.set(key, flight);
    flight.promise = this.fill(fn, ctx, key, flight).finally(() => {
      if (this.inflight.get(key) === flight) this.inflight.delete(key);
    });
    return flight;
  }

  /** The background load of stale-while-revalidate: not tied to the call that noticed it. */
  private refresh(fn: InnerTask<unknown>, ctx: CallContext, key: string): void {
    if (this.listening) this.emit('refresh', { key });
    const detached = new CallContext(ctx.attempt, key, undefined, ctx.task);
    this.start(fn, detached, key).promise.catch((error: unknown) => {
      this.errors++;
      if (this.listening) this.emit('error', { key, error, during: 'refresh' });
    });
  }

  private fill(
    fn: InnerTask<unknown>,
    ctx: CallContext,
    key: string,
    flight: Flight,
  ): Promise<unknown> {
    const load = () => this.loadAndStore(fn, ctx, key, flight);
    if (!this.lockable) return load();
    const store = this.store as Required<CacheStore>;
    return fillAcrossProcesses(key, {
      store,
      clock: this.clock,
      leaseMs: this.lockLeaseMs,
      waitMs: this.lockWaitMs,
      read: (k) => this.read(k),
      load,
      storeError: (k, error, during) => this.storeError(k, error, during),
      checkAborted: () => {
        if (ctx.aborted) throw ctx.scope?.reason;
      },
    });
  }

  private async loadAndStore(
    fn: InnerTask<unknown>,
    ctx: CallContext,
    key: string,
    flight: Flight,
  ): Promise<unknown> {
    this.loads++;
    const value = await fn(ctx);
    if (!flight.storable || (value === undefined && !this.cacheUndefined)) return value;
    const now = this.clock.now();
    const ttlMs = value === undefined ? this.undefinedTtlMs : this.ttlMs;
    const entry = makeEntry(value, now, ttlMs, this.keepMs, this.tagsOf(value, key));
    try {
      await this.store.set(key, entry, now);
    } catch (error) {
      // A value the store cannot encode is a bug to surface; a store that is down is not.
      if (isProgrammingError(error)) throw error;
      this.storeError(key, error, 'set');
    }
    return value;
  }

  private async read(key: string): Promise<CacheEntry | undefined> {
    try {
      return await this.store.get(key, this.clock.now());
    } catch (error) {
      this.storeError(key, error, 'get');
      return undefined;
    }
  }

  private tagsOf(value: unknown, key: string): readonly string[] | undefined {
    const tags = this.tags;
    if (typeof tags !== 'function') return tags;
    return checkTags('cacheAside: tags(value, key)', tags(value, key));
  }

  private storeError(key: string, error: unknown, during: string): void {
    this.errors++;
    if (this.listening) this.emit('error', { key, error, during });
  }
}

/**
 * Cache-aside: `execute(loader, { key })` returns the cached value of `key`, or runs `loader`
 * once for every call that misses it concurrently, and caches the result for `ttlMs`.
 */
export function cacheAside(options: CacheAsideOptions): CacheAside {
  return new CacheAside(options);
}
