import { StoreUnavailableError } from '@bulwark/core';
import {
  type BucketRule,
  type Decision,
  MemoryRateLimitStore,
  type RateLimitStore,
  type StoreListener,
} from '@bulwark/rate-limit';
import type { RedisClient } from '../shared/client.js';
import {
  isRedisAnswer,
  RedisHealth,
  type RedisStoreListener,
  SEND,
  WAIT_FOR_CONNECTION,
} from '../shared/health.js';
import { hashTagKey } from '../shared/keys.js';
import { Batch, type BatchOwner } from './batch.js';
import {
  type OnStoreError,
  type RedisRateLimitStoreOptions,
  resolveRateLimitOptions,
} from './options.js';
import { TAKE, TAKE_MANY, TAKE_SAME } from './scripts.js';
import { keySlot } from './slot.js';

export interface RedisRateLimitStore extends RateLimitStore {
  /** False while Redis is considered down and `onStoreError` decides. */
  readonly available: boolean;
  /**
   * `store-error` { store, operation, error, onStoreError, key } once per outage, and
   * `store-recovered` { store, downMs }.
   */
  on(listener: RedisStoreListener): () => void;
  /** The same, as `RateLimitStore` (and `rateLimit`, which relays them) sees them. */
  on(listener: StoreListener): () => void;
  /** Stops probing Redis; takes in flight still settle. The client stays the caller's. */
  close(): void;
}

// The most takes in one script: one reply never gets huge, one script never runs long.
const MAX_BATCH = 256;

class RedisBuckets implements RedisRateLimitStore, BatchOwner {
  readonly timeoutMs: number;
  private readonly client: RedisClient;
  private readonly prefix: string;
  private readonly onStoreError: OnStoreError;
  private readonly localMaxKeys: number;
  private readonly health: RedisHealth;
  private readonly cluster: boolean;
  private local: MemoryRateLimitStore | undefined;
  /** Standalone: the takes of this tick, sent as one script at its end. */
  private batch: Batch | undefined;
  /** Cluster: the takes of this tick by slot, one script each (a script's keys share a slot). */
  private readonly slots = new Map<number, Batch>();
  private flushQueued = false;
  // The script's arguments as strings, for the last rule and cost seen: usually the only ones.
  private argsRule: BucketRule | undefined;
  private argsCost = 0;
  private argIncrement = '';
  private argTolerance = '';

  constructor(options: RedisRateLimitStoreOptions) {
    const valid = resolveRateLimitOptions(options);
    this.client = valid.client;
    this.prefix = valid.prefix;
    this.timeoutMs = valid.timeoutMs;
    this.onStoreError = valid.onStoreError;
    this.localMaxKeys = valid.localMaxKeys;
    this.cluster = (valid.client as { isCluster?: boolean }).isCluster === true;
    this.health = new RedisHealth(valid.client, {
      store: 'redisRateLimitStore',
      timeoutMs: valid.timeoutMs,
      clock: valid.clock,
      onStoreError: valid.onStoreError,
    });
    this.health.on((event) => {
      // The stand-in's buckets end with the outage; the next one starts from rest.
      if (event.type === 'store-recovered') this.local = undefined;
    });
  }

  get available(): boolean {
    return this.health.available;
  }

  take(key: string, cost: number, rule: BucketRule, now: number): Promise<Decision> {
    switch (this.health.gate('take', key)) {
      case SEND:
        return this.enqueue(key, cost, rule, now);
      case WAIT_FOR_CONNECTION:
        return this.health.afterConnect('take', key).then(
          () => this.take(key, cost, rule, now),
          (error: StoreUnavailableError) => this.fallback(key, cost, rule, now, error),
        );
      default:
        return this.fallback(key, cost, rule, now, undefined);
    }
  }

  on(listener: RedisStoreListener | StoreListener): () => void {
    return this.health.on(listener as RedisStoreListener);
  }

  close(): void {
    this.health.close();
  }

  /** @internal */
  answered(_batch: Batch): void {
    this.health.timeout.queue.settled();
    this.health.answered();
  }

  /** @internal */
  failed(batch: Batch, error: unknown): void {
    this.health.timeout.queue.settled();
    if (isRedisAnswer(error)) {
      // Redis is up and refused the script itself: the callers see its error as it is.
      for (const reject of batch.rejects) reject(error);
      return;
    }
    this.health.failed(error, 'take', batch.ids[0]);
    for (let i = 0; i < batch.size; i++) {
      this.fallback(batch.ids[i]!, batch.costs[i]!, batch.rules[i]!, batch.nows[i]!, error).then(
        batch.resolves[i],
        batch.rejects[i],
      );
    }
  }

  /** Joins the batch of this tick (of this key's slot, on Cluster); the tick's end sends it. */
  private enqueue(id: string, cost: number, rule: BucketRule, now: number): Promise<Decision> {
    const key = hashTagKey(this.prefix, id);
    let batch: Batch | undefined;
    if (this.cluster) {
      const slot = keySlot(key);
      batch = this.slots.get(slot);
      if (batch === undefined) this.slots.set(slot, (batch = new Batch(this)));
    } else {
      batch = this.batch ??= new Batch(this);
    }
    if (rule !== this.argsRule || cost !== this.argsCost) {
      this.argsRule = rule;
      this.argsCost = cost;
      this.argIncrement = String(cost * rule.intervalMs);
      this.argTolerance = String(rule.toleranceMs);
    }
    batch.add(key, this.argIncrement, this.argTolerance);
    batch.ids.push(id);
    batch.costs.push(cost);
    batch.rules.push(rule);
    batch.nows.push(now);
    const decided = new Promise<Decision>((resolve, reject) => {
      batch.resolves.push(resolve);
      batch.rejects.push(reject);
    });
    if (batch.size === MAX_BATCH) this.sendFull(batch);
    else if (!this.flushQueued) {
      this.flushQueued = true;
      // After the microtasks too: takes issued by async code that resumed in this tick join.
      process.nextTick(this.flush);
    }
    return decided;
  }

  private sendFull(batch: Batch): void {
    if (this.batch === batch) this.batch = undefined;
    else this.slots.delete(keySlot(batch.keys[0]!));
    this.send(batch);
  }

  private readonly flush = (): void => {
    this.flushQueued = false;
    if (this.batch !== undefined) {
      const batch = this.batch;
      this.batch = undefined;
      this.send(batch);
    }
    if (this.slots.size > 0) {
      for (const batch of this.slots.values()) this.send(batch);
      this.slots.clear();
    }
  };

  /** One script, one deadline for every take in it; one rule's arguments once, if all share it. */
  private send(batch: Batch): void {
    const { status } = this.client;
    if (status !== 'ready') {
      // Lost since the takes were gated: ioredis would hold the script and replay it late.
      batch.failed(
        new StoreUnavailableError(`redisRateLimitStore: the Redis connection is ${status}`),
      );
      return;
    }
    const { timeout } = this.health;
    batch.deadline = timeout.clock.now() + timeout.timeoutMs;
    timeout.queue.add(batch);
    const sent =
      batch.size === 1
        ? TAKE.run(this.client, batch.keys, batch.args)
        : batch.mixed
          ? TAKE_MANY.run(this.client, batch.keys, batch.args)
          : TAKE_SAME.run(this.client, batch.keys, batch.args.slice(0, 2));
    sent.then(
      (reply) => batch.answered(reply),
      (error: unknown) => batch.failed(error),
    );
  }

  /** The decision while Redis is away: what `onStoreError` says. */
  private fallback(
    key: string,
    cost: number,
    rule: BucketRule,
    now: number,
    cause: unknown,
  ): Promise<Decision> {
    switch (this.onStoreError) {
      case 'local':
        this.local ??= new MemoryRateLimitStore(this.localMaxKeys);
        return Promise.resolve(this.local.takeNow(key, cost, rule, now));
      case 'allow':
        return Promise.resolve(rule.decide(true, 0, cost));
      case 'deny':
        return Promise.reject(this.health.unavailable('take', cause));
    }
  }
}

/**
 * A rate-limit store in Redis (standalone or Cluster): the takes of one tick go as one script
 * (one per slot on Cluster), each take exact and atomic on Redis' clock, each bucket one key
 * under its own hash tag. When Redis does not answer within `timeoutMs`, `onStoreError` decides
 * until the store's probe finds Redis again.
 */
export function redisRateLimitStore(options: RedisRateLimitStoreOptions): RedisRateLimitStore {
  return new RedisBuckets(options);
}
