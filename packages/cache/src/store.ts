/** A value the store may hand back at once (memory) or later (Redis): callers handle both. */
export type MaybePromise<T> = T | PromiseLike<T>;

/**
 * One cached value. Times are in the clock's milliseconds (`clock.now()`): fresh before
 * `expiresAt`, kept (and served stale by the policies that allow it) until `staleUntil`.
 */
export interface CacheEntry<V = unknown> {
  readonly value: V;
  readonly expiresAt: number;
  /** >= expiresAt; the store drops the entry at this time. `Infinity`: never. */
  readonly staleUntil: number;
  readonly tags?: readonly string[] | undefined;
}

/**
 * Where cache entries live: memory, Redis, or both (tiered). `now` comes from the policy's
 * clock, so a store never needs its own and tests stay on one `manualClock`.
 */
export interface CacheStore {
  /** The entry of `key`, or undefined when absent or past `staleUntil`. */
  get(key: string, now: number): MaybePromise<CacheEntry | undefined>;
  /** Stores `entry` (replacing any other) until `entry.staleUntil`. */
  set(key: string, entry: CacheEntry, now: number): MaybePromise<void>;
  delete(key: string): MaybePromise<void>;
  /** Deletes every entry carrying `tag`. */
  deleteByTag(tag: string): MaybePromise<void>;
  /**
   * Optional cross-process single-flight: takes the fill lock of `key` for `leaseMs` and
   * resolves a token, or undefined when another process holds it. Memory stores leave it out.
   */
  acquireLock?(key: string, leaseMs: number): Promise<string | undefined>;
  /** Releases the lock taken with `token` (a no-op when the lease already passed to another). */
  releaseLock?(key: string, token: string): Promise<void>;
}
