import {
  type Clock,
  clockOption,
  integerOption,
  objectOption,
  realClock,
  StoreUnavailableError,
} from '@bulwark/core';
import { EntryList, type MemoryEntry } from './memory-list.js';
import type { ClaimResult, IdempotencyRecord, IdempotencyStore } from './store.js';

export interface MemoryIdempotencyStoreOptions {
  /** Records kept at most, in progress and completed together. Default 10_000. */
  maxKeys?: number;
  clock?: Clock;
}

/** An in-memory store: one process only. It answers synchronously; `size` counts its records. */
export interface MemoryIdempotencyStore extends IdempotencyStore {
  claim(key: string, fingerprint: string, leaseMs: number, ttlMs: number): ClaimResult;
  renew(key: string, token: number, leaseMs: number, ttlMs: number): boolean;
  complete(key: string, token: number, result: string, ttlMs: number): boolean;
  release(key: string, token: number): boolean;
  get(key: string): IdempotencyRecord | undefined;
  delete(key: string): void;
  readonly size: number;
}

// Expired completed records dropped per new key, so memory follows traffic without a timer.
const SWEEP_PER_CLAIM = 2;

class MemoryStore implements MemoryIdempotencyStore {
  private readonly entries = new Map<string, MemoryEntry>();
  // In progress, oldest claim or renewal first; completed, least recently used first.
  private readonly running = new EntryList();
  private readonly done = new EntryList();
  private lastToken = 0;

  constructor(
    private readonly maxKeys: number,
    private readonly clock: Clock,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  claim(key: string, fingerprint: string, leaseMs: number, ttlMs: number): ClaimResult {
    const now = this.clock.now();
    const entry = this.entries.get(key);
    if (entry !== undefined && entry.expiresAt > now) {
      if (entry.fingerprint !== fingerprint) return { status: 'mismatch' };
      if (entry.result !== undefined) {
        this.done.touch(entry);
        return { status: 'completed', result: entry.result };
      }
      const left = entry.leaseUntil - now;
      if (left > 0) return { status: 'in-progress', retryAfterMs: Math.ceil(left) };
      // The owner's lease ran out: it crashed or stalled. Take over under a higher token.
      entry.token = this.nextToken(now);
      entry.leaseUntil = now + leaseMs;
      entry.expiresAt = now + ttlMs;
      this.running.touch(entry);
      return { status: 'claimed', token: entry.token, takeover: true };
    }
    if (entry !== undefined) this.drop(entry);
    this.sweep(now);
    if (this.entries.size >= this.maxKeys) this.evict(now);
    const token = this.nextToken(now);
    const fresh: MemoryEntry = {
      key,
      fingerprint,
      token,
      leaseUntil: now + leaseMs,
      expiresAt: now + ttlMs,
      result: undefined,
      prev: undefined,
      next: undefined,
    };
    this.entries.set(key, fresh);
    this.running.push(fresh);
    return { status: 'claimed', token, takeover: false };
  }

  renew(key: string, token: number, leaseMs: number, ttlMs: number): boolean {
    const entry = this.held(key, token);
    if (entry === undefined) return false;
    const now = this.clock.now();
    entry.leaseUntil = now + leaseMs;
    entry.expiresAt = Math.max(entry.expiresAt, now + ttlMs);
    this.running.touch(entry);
    return true;
  }

  complete(key: string, token: number, result: string, ttlMs: number): boolean {
    const entry = this.held(key, token);
    if (entry === undefined) return false;
    this.running.remove(entry);
    entry.result = result;
    entry.leaseUntil = 0;
    entry.expiresAt = this.clock.now() + ttlMs;
    this.done.push(entry);
    return true;
  }

  release(key: string, token: number): boolean {
    const entry = this.held(key, token);
    if (entry === undefined) return false;
    this.drop(entry);
    return true;
  }

  get(key: string): IdempotencyRecord | undefined {
    const now = this.clock.now();
    const entry = this.entries.get(key);
    if (entry === undefined || entry.expiresAt <= now) return undefined;
    const completed = entry.result !== undefined;
    return {
      state: completed ? 'completed' : 'in-progress',
      fingerprint: entry.fingerprint,
      token: entry.token,
      leaseRemainingMs: completed ? undefined : entry.leaseUntil - now,
      result: entry.result,
      expiresInMs: entry.expiresAt - now,
    };
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (entry !== undefined) this.drop(entry);
  }

  private held(key: string, token: number): MemoryEntry | undefined {
    const entry = this.entries.get(key);
    return entry !== undefined && entry.result === undefined && entry.token === token
      ? entry
      : undefined;
  }

  // Above every earlier token of this store, and above the clock in microseconds, like the Redis
  // and PostgreSQL stores: a key released or expired never gets a token it had before.
  private nextToken(now: number): number {
    this.lastToken = Math.max(this.lastToken + 1, Math.floor(now * 1000));
    return this.lastToken;
  }

  private drop(entry: MemoryEntry): void {
    this.entries.delete(entry.key);
    (entry.result === undefined ? this.running : this.done).remove(entry);
  }

  private sweep(now: number): void {
    for (let i = 0; i < SWEEP_PER_CLAIM; i++) {
      const oldest = this.done.head;
      if (oldest === undefined || oldest.expiresAt > now) return;
      this.drop(oldest);
    }
  }

  /** Completed records go first (LRU), then abandoned claims; a live claim is never dropped. */
  private evict(now: number): void {
    const completed = this.done.head;
    if (completed !== undefined) {
      this.drop(completed);
      return;
    }
    const oldest = this.running.head;
    if (oldest === undefined) return;
    if (oldest.leaseUntil > now && oldest.expiresAt > now) {
      throw new StoreUnavailableError(
        `memoryIdempotencyStore: all ${this.maxKeys} keys are in progress; raise maxKeys`,
        { retryAfterMs: Math.ceil(oldest.leaseUntil - now) },
      );
    }
    this.drop(oldest);
  }
}

/**
 * Idempotency records in this process's memory, bounded by `maxKeys`. When full, a new key
 * evicts the least recently used completed record, then a claim whose lease expired; when every
 * record is a live claim, the new claim fails with `StoreUnavailableError` (fn does not run).
 */
export function memoryIdempotencyStore(
  options?: MemoryIdempotencyStoreOptions,
): MemoryIdempotencyStore {
  const o = options === undefined ? {} : objectOption('memoryIdempotencyStore', 'options', options);
  const maxKeys = integerOption('memoryIdempotencyStore', 'maxKeys', o.maxKeys ?? 10_000);
  const clock = o.clock === undefined ? realClock : clockOption('memoryIdempotencyStore', o.clock);
  return new MemoryStore(maxKeys, clock);
}
