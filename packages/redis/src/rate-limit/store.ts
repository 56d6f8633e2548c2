import {
  type Clock,
  DeadlineQueue as Deadlines,
  type Expiring,
  StoreUnavailableError,
} from '@bulwark/core';
import {
  type BucketRule,
  type Decision,
  MemoryRateLimitStore,
  type RateLimitStore,
  type StoreEvent,
  type StoreListener,
} from '@bulwark/rate-limit';
import type { Cluster, Redis } from 'ioredis';
import { hashTagKey } from '../shared/keys.js';

import {
  type OnStoreError,
  type RedisRateLimitStoreOptions,
  validateRedisRateLimitStore,
} from './options.js';
import { RATE_LIMIT_SCRIPT, RATE_LIMIT_SCRIPT_SHA } from './script.js';

export interface RedisRateLimitStore extends RateLimitStore {
  /** False while Redis is considered down and `onStoreError` decides. */
  readonly available: boolean;
  /** `store-error` ({ error, key, onStoreError }) and `store-recovered` ({ downMs }). */
  on(listener: StoreListener): () => void;
}

// Statuses of a client that has not connected yet: a take may wait for the first connection.
const STARTING = new Set(['wait', 'connecting', 'connect']);

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/** One take sent to Redis: settled by its answer, its error, or its deadline. */
class PendingTake implements Expiring {
  settled = false;
  next: Expiring | undefined = undefined;

  constructor(
    private readonly store: RedisBuckets,
    readonly deadline: number,
    readonly key: string,
    readonly cost: number,
    readonly rule: BucketRule,
    readonly now: number,
    readonly probe: boolean,
    private readonly resolve: (decision: Decision | Promise<Decision>) => void,
  ) {}

  answered(reply: unknown): void {
    if (this.settled) return; // it timed out and was decided without Redis
    this.settled = true;
    // The backlog in µs when allowed, -1 minus it when refused (see the script).
    const code = reply as number;
    const allowed = code >= 0;
    this.resolve(this.rule.decide(allowed, (allowed ? code : -1 - code) / 1000, this.cost));
    this.store.answered(this);
  }

  failed(error: unknown, args: readonly string[]): void {
    if (this.settled) return;
    // A restarted Redis has forgotten the script: EVAL sends it and loads it again.
    if (isNoScript(error)) {
      this.store.client.eval(RATE_LIMIT_SCRIPT, 1, ...args).then(
        (reply) => this.answered(reply),
        (evalError: unknown) => this.failed(evalError, []),
      );
      return;
    }
    this.settled = true;
    this.resolve(this.store.failed(this, error));
  }

  expire(): void {
    this.failed(
      new StoreUnavailableError(`Redis did not answer within ${this.store.timeoutMs} ms`),
      [],
    );
  }
}

class RedisBuckets implements RedisRateLimitStore {
  readonly client: Redis | Cluster;
  readonly timeoutMs: number;
  private readonly prefix: string;
  private readonly onStoreError: OnStoreError;
  private readonly localMaxKeys: number;
  private readonly clock: Clock;
  private readonly deadlines: Deadlines;
  private listeners: StoreListener[] = [];
  /** Redis failed and has not answered since. */
  private down = false;
  /** Redis answered once: from then on, a client that is not ready has lost its connection. */
  private answeredOnce = false;
  /** While down, one take at a time tries Redis again. */
  private probing = false;
  private downSince = 0;
  private lastError: unknown;
  private local: MemoryRateLimitStore | undefined;
  // The script's arguments as strings, for the last rule and cost seen: usually the only ones.
  private argsRule: BucketRule | undefined;
  private argsCost = 0;
  private argIncrement = '';
  private argTolerance = '';

  constructor(options: RedisRateLimitStoreOptions) {
    const valid = validateRedisRateLimitStore(options);
    this.client = valid.client;
    this.prefix = valid.prefix;
    this.timeoutMs = valid.timeoutMs;
    this.onStoreError = valid.onStoreError;
    this.localMaxKeys = valid.localMaxKeys;
    this.clock = valid.clock;
    this.deadlines = new Deadlines(valid.clock);
  }

  get available(): boolean {
    return !this.down;
  }

  take(key: string, cost: number, rule: BucketRule, now: number): Promise<Decision> {
    const { status } = this.client;
    let probe = false;
    if (status !== 'ready') {
      // Never queue behind a reconnect: ioredis would hold the command, then replay it late.
      if (this.down || this.answeredOnce || !STARTING.has(status)) {
        if (!this.down) this.fail(new StoreUnavailableError(`Redis connection is ${status}`), key);
        return this.fallback(key, cost, rule, now);
      }
    } else if (this.down) {
      if (this.probing) return this.fallback(key, cost, rule, now);
      this.probing = probe = true;
    }
    if (rule !== this.argsRule || cost !== this.argsCost) {
      this.argsRule = rule;
      this.argsCost = cost;
      this.argIncrement = String(cost * rule.intervalMs);
      this.argTolerance = String(rule.toleranceMs);
    }
    const args = [hashTagKey(this.prefix, key), this.argIncrement, this.argTolerance] as const;
    return new Promise<Decision>((resolve) => {
      const deadline = this.clock.now() + this.timeoutMs;
      const pending = new PendingTake(this, deadline, key, cost, rule, now, probe, resolve);
      this.deadlines.add(pending);
      this.client.evalsha(RATE_LIMIT_SCRIPT_SHA, 1, ...args).then(
        (reply) => pending.answered(reply),
        (error: unknown) => pending.failed(error, args),
      );
    });
  }

  on(listener: StoreListener): () => void {
    if (typeof listener !== 'function') {
      throw new TypeError(
        `redisRateLimitStore.on: listener must be a function, got ${typeof listener}`,
      );
    }
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** Redis answered `take`. */
  answered(take: PendingTake): void {
    this.answeredOnce = true;
    if (take.probe) this.recover();
    this.deadlines.settled();
  }

  /** Redis failed `take`: `onStoreError` decides it. */
  failed(take: PendingTake, error: unknown): Promise<Decision> {
    if (take.probe) this.probing = false;
    this.fail(error, take.key);
    this.deadlines.settled();
    return this.fallback(take.key, take.cost, take.rule, take.now);
  }

  private fallback(key: string, cost: number, rule: BucketRule, now: number): Promise<Decision> {
    switch (this.onStoreError) {
      case 'local':
        this.local ??= new MemoryRateLimitStore(this.localMaxKeys);
        return this.local.take(key, cost, rule, now);
      case 'allow':
        return Promise.resolve(rule.decide(true, 0, cost));
      case 'deny':
        return Promise.reject(
          new StoreUnavailableError("Redis is unavailable and onStoreError is 'deny'", {
            cause: this.lastError,
          }),
        );
    }
  }

  private fail(error: unknown, key: string): void {
    if (!this.down) {
      this.down = true;
      this.downSince = this.clock.now();
    }
    this.lastError = error;
    if (this.listeners.length > 0) {
      this.emit({ type: 'store-error', error, key, onStoreError: this.onStoreError });
    }
  }

  private recover(): void {
    this.down = false;
    this.probing = false;
    // The stand-in's buckets end with the outage; the next one starts from rest.
    this.local = undefined;
    this.lastError = undefined;
    if (this.listeners.length > 0) {
      this.emit({ type: 'store-recovered', downMs: this.clock.now() - this.downSince });
    }
  }

  private emit(event: StoreEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        process.nextTick(() => {
          throw error;
        });
      }
    }
  }
}

/**
 * A rate-limit store in Redis (standalone or Cluster): one EVALSHA per take, timed by Redis'
 * clock, each bucket one key under its own hash tag. When Redis does not answer within
 * `timeoutMs`, `onStoreError` decides, and the store tries Redis again, one take at a time,
 * once the client is connected.
 */
export function redisRateLimitStore(options: RedisRateLimitStoreOptions): RedisRateLimitStore {
  return new RedisBuckets(options);
}
