import { type CacheEntry, type CacheStore, checkKey } from '@bulwark/cache';
import { isPromiseLike, isResilienceError } from '@bulwark/core';
import type {
  InvalidationBus,
  InvalidationChannel,
  InvalidationMessage,
} from './invalidation-bus.js';

export interface TieredOptions {
  /** Spreads deletes, tag deletes and overwrites to the l1 of every other process. */
  bus?: InvalidationBus;
  /** The longest an entry stays in l1 before l2 is asked again; default: the entry's own TTL. */
  l1TtlMs?: number;
}

type Clearable = CacheStore & { clear?: () => void };

/**
 * Two stores in front of each other: l1 (memory, in this process) answers what it holds fresh;
 * l2 (Redis, shared) answers the rest and fills l1. Writes go to l2 first: a value l2 cannot
 * encode never reaches l1, but one l2 cannot take while Redis is away still fills l1 (this
 * process then loads it once, not on every read). With a bus, every write and delete drops
 * the key from the l1 of the other processes.
 */
export class TieredCacheStore implements CacheStore {
  readonly acquireLock?: (key: string, leaseMs: number) => Promise<string | undefined>;
  readonly releaseLock?: (key: string, token: string) => Promise<void>;
  private readonly channel: InvalidationChannel | undefined;
  private readonly l1TtlMs: number | undefined;
  /** Bumped by every invalidation: an l2 read that an invalidation overtook does not fill l1. */
  private generation = 0;

  constructor(
    readonly l1: CacheStore,
    readonly l2: CacheStore,
    options?: TieredOptions,
  ) {
    for (const [name, store] of [
      ['l1', l1],
      ['l2', l2],
    ] as const) {
      if (typeof store?.get !== 'function' || typeof store?.set !== 'function') {
        throw new TypeError(`tiered: ${name} must be a CacheStore, got ${typeof store}`);
      }
    }
    const l1TtlMs = options?.l1TtlMs;
    if (
      l1TtlMs !== undefined &&
      (typeof l1TtlMs !== 'number' || !(l1TtlMs > 0) || !Number.isFinite(l1TtlMs))
    ) {
      throw new RangeError(`tiered: l1TtlMs must be a finite number > 0, got ${String(l1TtlMs)}`);
    }
    this.l1TtlMs = l1TtlMs;
    const bus = options?.bus;
    if (bus !== undefined && typeof bus?.subscribe !== 'function') {
      throw new TypeError(`tiered: bus must be an InvalidationBus, got ${typeof bus}`);
    }
    this.channel = bus?.subscribe((message) => this.apply(message));
    // Cross-process single-flight belongs to the shared tier.
    if (typeof l2.acquireLock === 'function' && typeof l2.releaseLock === 'function') {
      this.acquireLock = (key, leaseMs) => l2.acquireLock!(key, leaseMs);
      this.releaseLock = (key, token) => l2.releaseLock!(key, token);
    }
  }

  get(key: string, now: number): CacheEntry | undefined | Promise<CacheEntry | undefined> {
    const local = this.l1.get(key, now);
    if (isPromiseLike(local)) {
      return Promise.resolve(local).then((entry) =>
        entry !== undefined && now < entry.expiresAt ? entry : this.fromL2(key, now, entry),
      );
    }
    if (local !== undefined && now < local.expiresAt) return local;
    return this.fromL2(key, now, local);
  }

  async set(key: string, entry: CacheEntry, now: number): Promise<void> {
    checkKey('tiered.set', key);
    try {
      await this.l2.set(key, entry, now);
    } catch (error) {
      // Redis is away: keep the value here all the same, and still report the failed write.
      if (isResilienceError(error, 'STORE_UNAVAILABLE')) {
        this.generation++;
        await this.l1.set(key, this.bounded(entry, now), now);
      }
      throw error;
    }
    this.generation++;
    await this.l1.set(key, this.bounded(entry, now), now);
    await this.channel?.publish({ keys: [key] });
  }

  async delete(key: string): Promise<void> {
    this.generation++;
    await this.l1.delete(key);
    await this.l2.delete(key);
    await this.channel?.publish({ keys: [key] });
  }

  async deleteByTag(tag: string): Promise<void> {
    this.generation++;
    await this.l1.deleteByTag(tag);
    await this.l2.deleteByTag(tag);
    await this.channel?.publish({ tag });
  }

  /** Stops hearing the bus. */
  close(): void {
    this.channel?.close();
  }

  private async fromL2(
    key: string,
    now: number,
    local: CacheEntry | undefined,
  ): Promise<CacheEntry | undefined> {
    const generation = this.generation;
    let entry: CacheEntry | undefined;
    try {
      entry = await this.l2.get(key, now);
    } catch (error) {
      // l2 is down: what l1 still holds, stale or not, beats nothing.
      if (local !== undefined) return local;
      throw error;
    }
    if (generation !== this.generation) return entry;
    if (entry === undefined) {
      // l2 no longer has it: deleted elsewhere, the bus message may still be on its way.
      if (local !== undefined) await this.l1.delete(key);
      return undefined;
    }
    await this.l1.set(key, this.bounded(entry, now), now);
    return entry;
  }

  private bounded(entry: CacheEntry, now: number): CacheEntry {
    if (this.l1TtlMs === undefined) return entry;
    const until = now + this.l1TtlMs;
    if (entry.staleUntil <= until) return entry;
    return { ...entry, expiresAt: Math.min(entry.expiresAt, until), staleUntil: until };
  }

  private apply(message: InvalidationMessage): void {
    this.generation++;
    const l1 = this.l1 as Clearable;
    // l1 is memory in practice: its deletes are synchronous; a remote l1 is not waited for.
    const settle = (result: unknown) => {
      if (isPromiseLike(result)) Promise.resolve(result).catch(() => undefined);
    };
    if ('keys' in message) for (const key of message.keys) settle(l1.delete(key));
    else if ('tag' in message) settle(l1.deleteByTag(message.tag));
    else if (typeof l1.clear === 'function') l1.clear();
  }
}

/** `tiered(memoryCacheStore(), redisCacheStore(...), { bus })`: memory in front of Redis. */
export function tiered(l1: CacheStore, l2: CacheStore, options?: TieredOptions): TieredCacheStore {
  return new TieredCacheStore(l1, l2, options);
}
