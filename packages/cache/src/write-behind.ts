import { type Clock, EventHub, type PolicyListener, type TimerKind } from '@bulwark/core';
import { makeEntry } from './entry.js';
import { Fifo } from './fifo.js';
import { checkKey, checkTags } from './keys.js';
import { memoryCacheStore } from './memory-store.js';
import { positiveTtl, type WriteBehindOptions, writeBehindOptions } from './options.js';
import type { CacheStore } from './store.js';
import { WriteQueue } from './write-queue.js';

export interface WriteBehindSetOptions {
  /** Default: the cache's `ttlMs`. */
  ttlMs?: number;
  tags?: readonly string[];
}

/**
 * Write-behind: `set` updates the cache at once and queues the source write; queued writes go
 * out in batches, the latest value of each key once per flush, retried until the source takes
 * them. Memory is bounded: at `maxPending` queued keys, `set` of a new key waits for room.
 */
export class WriteBehind {
  readonly store: CacheStore;
  private readonly hub = new EventHub();
  private readonly writeBatch: (entries: Array<{ key: string; value: unknown }>) => Promise<void>;
  private readonly flushIntervalMs: number;
  private readonly maxBatch: number;
  private readonly maxPending: number;
  private readonly ttlMs: number | undefined;
  private readonly backoff: (failures: number) => number;
  private readonly clock: Clock;
  private readonly queue = new WriteQueue();
  /** Sets waiting for room; each is woken with a slot reserved for it. */
  private readonly roomWaiters = new Fifo<() => void>();
  private readonly flushWaiters: Array<() => void> = [];
  /** Keys with a set waiting for room, and how many. */
  private readonly waitingKeys = new Map<string, number>();
  /** Slots reserved for woken sets that have not queued yet. */
  private reserved = 0;
  /** Sets between their call and their queueing (cache write, room wait). */
  private entering = 0;
  private failures = 0;
  /** Batches go out back to back until the queue is empty. */
  private draining = false;
  private cancelTimer: (() => void) | undefined;
  private timerKind: TimerKind = 'background';
  private timerDueAt = 0;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(options: WriteBehindOptions) {
    const o = writeBehindOptions(options);
    this.store = o.store ?? memoryCacheStore();
    this.writeBatch = o.writeBatch;
    this.flushIntervalMs = o.flushIntervalMs;
    this.maxBatch = o.maxBatch;
    this.maxPending = o.maxPending;
    this.ttlMs = o.ttlMs;
    this.backoff = o.backoff;
    this.clock = o.clock;
  }

  /** Keys whose latest value the source does not have yet (queued, retrying or in flight). */
  get pending(): number {
    return this.queue.size + this.reserved;
  }

  /** Hears `flushed` and `flush-error`. Returns the unsubscribe. */
  on(listener: PolicyListener): () => void {
    return this.hub.listen(listener);
  }

  /** The latest value set for `key` (even before the source has it), or the cached one. */
  async get<V = unknown>(key: string): Promise<V | undefined> {
    checkKey('writeBehind.get', key);
    const owed = this.queue.latest(key);
    if (owed !== undefined) return owed.value as V;
    const now = this.clock.now();
    const entry = await this.store.get(key, now);
    return entry !== undefined && now < entry.expiresAt ? (entry.value as V) : undefined;
  }

  /**
   * Caches `value` and queues its write. Resolves once queued: at once, or when there is room
   * under `maxPending` (a key already queued just takes the new value and never waits).
   */
  async set(key: string, value: unknown, options?: WriteBehindSetOptions): Promise<void> {
    if (this.closed) {
      throw new Error(`writeBehind: closed, set(${JSON.stringify(key)}) refused after close()`);
    }
    checkKey('writeBehind.set', key);
    const ttlMs =
      options?.ttlMs === undefined ? this.ttlMs : positiveTtl('writeBehind.set', options.ttlMs);
    const tags = checkTags('writeBehind.set', options?.tags);
    this.entering++;
    try {
      // The cache first: a value the store cannot encode is refused before it is queued.
      const now = this.clock.now();
      await this.store.set(key, makeEntry(value, now, ttlMs, 0, tags), now);
      if (
        (this.queue.grows(key) &&
          (this.pending >= this.maxPending || this.roomWaiters.length > 0)) ||
        this.waitingKeys.has(key)
      ) {
        // Behind an earlier set of the same key too, or that older value would land last.
        this.waitingKeys.set(key, (this.waitingKeys.get(key) ?? 0) + 1);
        await new Promise<void>((resolve) => {
          this.roomWaiters.push(resolve);
          this.promoteTimer();
        });
        this.reserved--;
        const left = this.waitingKeys.get(key)! - 1;
        if (left === 0) this.waitingKeys.delete(key);
        else this.waitingKeys.set(key, left);
      }
      this.queue.add(key, value);
    } catch (error) {
      this.entering--;
      this.settleFlushes();
      throw error;
    }
    this.entering--;
    this.admit();
    if (this.draining) this.pump();
    // A pending backoff stands even for a flush: retrying at once would hammer a failing source.
    else if (this.cancelTimer === undefined) {
      if (this.flushWaiters.length > 0) this.drainNow();
      else this.schedule(this.flushIntervalMs);
    }
  }

  /** Writes out everything queued so far, retrying failed batches; resolves when the source has it all. */
  flush(): Promise<void> {
    if (this.idle()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.flushWaiters.push(resolve);
      this.drainNow();
    });
  }

  /** Refuses new sets and writes out everything; resolves when the source has it all. */
  close(): Promise<void> {
    this.closed = true;
    this.closing ??= this.flush().then(() => {
      this.cancelTimer?.();
      this.cancelTimer = undefined;
    });
    return this.closing;
  }

  /** Writes now rather than at the next tick (or after the backoff): a caller is waiting. */
  private drainNow(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.draining = true;
    this.pump();
  }

  private pump(): void {
    const batch = this.queue.take(this.maxBatch);
    if (batch === undefined) {
      if (this.queue.batch === undefined) {
        this.draining = false;
        this.settleFlushes();
      }
      return;
    }
    const entries = Array.from(batch, ([key, value]) => ({ key, value }));
    let result: Promise<void>;
    try {
      result = Promise.resolve(this.writeBatch(entries));
    } catch (error) {
      result = Promise.reject(error);
    }
    result.then(
      () => this.written(batch.size),
      (error: unknown) => this.failed(batch.size, error),
    );
  }

  private written(count: number): void {
    this.queue.succeeded();
    this.failures = 0;
    if (this.hub.listening) {
      this.hub.emit({ policy: 'writeBehind', type: 'flushed', count, pending: this.pending });
    }
    this.admit();
    this.pump();
  }

  private failed(count: number, error: unknown): void {
    this.queue.failed();
    this.failures++;
    this.draining = false;
    const retryInMs = this.backoff(this.failures);
    if (this.hub.listening) {
      this.hub.emit({
        policy: 'writeBehind',
        type: 'flush-error',
        error,
        count,
        failures: this.failures,
        retryInMs,
        pending: this.pending,
      });
    }
    this.schedule(retryInMs);
  }

  /** Wakes waiting sets while there is room, reserving a slot for each. */
  private admit(): void {
    while (this.roomWaiters.length > 0 && this.pending < this.maxPending) {
      this.reserved++;
      this.roomWaiters.shift()!();
    }
  }

  private schedule(ms: number): void {
    this.cancelTimer?.();
    // Housekeeping never keeps the process alive, unless a caller awaits what it will do.
    const kind: TimerKind = this.awaited() ? 'call' : 'background';
    this.timerKind = kind;
    this.timerDueAt = this.clock.now() + ms;
    this.cancelTimer = this.clock.setTimer(
      () => {
        this.cancelTimer = undefined;
        this.draining = true;
        this.pump();
      },
      ms,
      kind,
    );
  }

  /** A caller started waiting on the timer: make it one that keeps the process alive. */
  private promoteTimer(): void {
    if (this.cancelTimer !== undefined && this.timerKind === 'background') {
      this.schedule(Math.max(this.timerDueAt - this.clock.now(), 0));
    }
  }

  private awaited(): boolean {
    return this.flushWaiters.length > 0 || this.roomWaiters.length > 0;
  }

  private idle(): boolean {
    return this.pending === 0 && this.entering === 0 && this.roomWaiters.length === 0;
  }

  private settleFlushes(): void {
    if (this.flushWaiters.length === 0 || !this.idle()) return;
    for (const resolve of this.flushWaiters.splice(0)) resolve();
  }
}

export function writeBehind(options: WriteBehindOptions): WriteBehind {
  return new WriteBehind(options);
}
