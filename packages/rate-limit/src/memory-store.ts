import type { Decision } from './decision.js';
import { type MemoryRateLimitStoreOptions, validateMemoryStore } from './options.js';
import type { BucketRule, RateLimitStore } from './store.js';

// How many of the least recently used buckets eviction looks at for one that is at rest.
const EVICTION_SCAN = 16;

/** A bucket, linked into the recency list between the buckets used just before and after it. */
interface Bucket {
  key: string;
  /** Theoretical arrival time, relative to the store's origin. */
  tat: number;
  newer: Bucket;
  older: Bucket;
}

/**
 * Buckets in one process, bounded by `maxKeys`: a Map from key to bucket, plus a recency list
 * through the buckets themselves: a take moves its bucket to the recent end with a few pointer
 * writes (cheaper than re-inserting into the Map), and eviction takes from the other end, O(1). No
 * bucket holds a timer. A bucket at rest (its `tat` passed) is the same as no bucket, so
 * eviction drops one of those first; only when the least recently used ones are all busy does
 * a busy bucket go, and it comes back at rest: full tokens, or an empty queue.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  private readonly buckets = new Map<string, Bucket>();
  // The recency list is a ring through this sentinel: its `newer` is the least recently used
  // bucket, its `older` the most recently used one.
  private readonly ring: Bucket;
  // Times are kept relative to the first take, where doubles are finest.
  private origin = Number.NaN;

  constructor(readonly maxKeys: number) {
    const ring = { key: '', tat: 0 } as Bucket;
    ring.newer = ring;
    ring.older = ring;
    this.ring = ring;
  }

  /** Buckets held: at most maxKeys. */
  get size(): number {
    return this.buckets.size;
  }

  take(key: string, cost: number, rule: BucketRule, now: number): Promise<Decision> {
    return Promise.resolve(this.takeNow(key, cost, rule, now));
  }

  /** `take`, synchronously. */
  takeNow(key: string, cost: number, rule: BucketRule, now: number): Decision {
    if (Number.isNaN(this.origin)) this.origin = now;
    const t = now - this.origin;
    const bucket = this.buckets.get(key);
    let backlog = 0;
    if (bucket !== undefined) {
      if (bucket.tat > t) backlog = bucket.tat - t;
      // A refused take counts as use too: a key that is being refused is not idle.
      if (this.ring.older !== bucket) this.touch(bucket);
    }
    const after = backlog + cost * rule.intervalMs;
    const allowed = after <= rule.toleranceMs;
    if (allowed) {
      if (bucket === undefined) this.add(key, t + after, t);
      else bucket.tat = t + after;
    }
    return rule.decide(allowed, backlog, cost);
  }

  /** Forgets every bucket. */
  clear(): void {
    this.buckets.clear();
    this.ring.newer = this.ring;
    this.ring.older = this.ring;
  }

  private add(key: string, tat: number, t: number): void {
    const { buckets, ring } = this;
    let bucket: Bucket;
    if (buckets.size < this.maxKeys) {
      bucket = { key, tat, newer: ring, older: ring };
    } else {
      // The evicted bucket's object is reused for the new key.
      bucket = this.evictable(t);
      buckets.delete(bucket.key);
      unlink(bucket);
      bucket.key = key;
      bucket.tat = tat;
    }
    buckets.set(key, bucket);
    linkNewest(ring, bucket);
  }

  /** The first bucket at rest among the least recently used, else the least recently used. */
  private evictable(t: number): Bucket {
    const { ring } = this;
    let bucket = ring.newer;
    for (let i = 0; i < EVICTION_SCAN && bucket !== ring; i++, bucket = bucket.newer) {
      if (bucket.tat <= t) return bucket;
    }
    return ring.newer;
  }

  private touch(bucket: Bucket): void {
    unlink(bucket);
    linkNewest(this.ring, bucket);
  }
}

function unlink(bucket: Bucket): void {
  bucket.newer.older = bucket.older;
  bucket.older.newer = bucket.newer;
}

/** Links `bucket` in as the most recently used. */
function linkNewest(ring: Bucket, bucket: Bucket): void {
  const newest = ring.older;
  bucket.older = newest;
  bucket.newer = ring;
  newest.newer = bucket;
  ring.older = bucket;
}

/** The default store: buckets in this process, at most `maxKeys` (10 000) of them. */
export function memoryRateLimitStore(options?: MemoryRateLimitStoreOptions): MemoryRateLimitStore {
  const { maxKeys } = validateMemoryStore(options);
  return new MemoryRateLimitStore(maxKeys);
}
