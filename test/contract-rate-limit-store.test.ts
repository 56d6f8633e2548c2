import { leakyBucket, type RateLimitStore, tokenBucket } from '@bulwark/rate-limit';
import fc from 'fast-check';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Internal: the slot the store groups a batch by must be the slot Redis puts the key in.
import { keySlot } from '../packages/redis/src/rate-limit/slot.js';
import {
  type Backend,
  clusterBackend,
  memoryBackend,
  redisBackend,
} from './support/rate-limit-backends.js';

// The RateLimitStore seam, the same on every backend: what a limiter decides must not depend on
// where its buckets live. Real time passes in Redis, so refills here are far slower than a run.
const slow = 0.001;

const backends: Array<[string, () => Promise<Backend> | Backend]> = [
  ['memory', memoryBackend],
  ['Redis', redisBackend],
  ['Redis Cluster', clusterBackend],
];

let unique = 0;
const key = (name: string) => `${name}:${++unique}`;
const allowed = (decisions: Array<{ allowed: boolean }>) => decisions.map((d) => d.allowed);

describe.each(backends)('RateLimitStore contract: %s', (_name, open) => {
  let backend: Backend;
  let store: RateLimitStore;

  beforeAll(async () => {
    backend = await open();
    [store] = backend.stores(1) as [RateLimitStore];
  }, 60_000);

  afterAll(async () => {
    await backend?.stop();
  }, 30_000);

  it('admits a token bucket up to capacity, then refuses with retryAfterMs', async () => {
    const limiter = tokenBucket({ capacity: 3, refillPerSecond: 1, store });
    const k = key('burst');
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await limiter.take(k));
    expect(allowed(decisions)).toEqual([true, true, true, false]);
    expect(decisions.map((d) => d.remaining)).toEqual([2, 1, 0, 0]);
    expect(decisions[3]!.retryAfterMs).toBeGreaterThan(0);
    expect(decisions[3]!.retryAfterMs).toBeLessThanOrEqual(1000);
    expect(decisions.every((d) => d.limit === 3 && d.waitMs === 0)).toBe(true);
  });

  it('spaces leaky bucket slots by 1/rate and refuses a full queue', async () => {
    const limiter = leakyBucket({ ratePerSecond: 10, maxQueue: 2, store });
    const k = key('leaky');
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await limiter.take(k));
    expect(allowed(decisions)).toEqual([true, true, true, false]);
    // Each take comes a little later than the one before, so its wait is a little shorter.
    decisions.slice(0, 3).forEach((d, i) => {
      expect(d.waitMs).toBeLessThanOrEqual(i * 100);
      expect(d.waitMs).toBeGreaterThan(i * 100 - 60);
    });
    expect(decisions[3]!.retryAfterMs).toBeGreaterThan(0);
  });

  it('charges costs above 1 and refuses one that does not fit, leaving the bucket as it was', async () => {
    const limiter = tokenBucket({ capacity: 10, refillPerSecond: slow, store });
    const k = key('cost');
    const decisions = [];
    for (const cost of [4, 4, 4, 2, 1]) decisions.push(await limiter.take(k, cost));
    expect(allowed(decisions)).toEqual([true, true, false, true, false]);
    expect(decisions.map((d) => d.remaining)).toEqual([6, 2, 2, 0, 0]);
  });

  it('decides takes of one tick with different costs and rules, each by its own', async () => {
    const small = tokenBucket({ capacity: 2, refillPerSecond: slow, store });
    const large = tokenBucket({ capacity: 10, refillPerSecond: slow, store });
    const [a, b] = [key('mixed:a'), key('mixed:b')];
    const decisions = await Promise.all([
      small.take(a),
      large.take(b, 6),
      small.take(a),
      large.take(b, 3),
      small.take(a),
      large.take(b, 2),
    ]);
    expect(allowed(decisions)).toEqual([true, true, true, true, false, false]);
    expect(decisions.map((d) => d.remaining)).toEqual([1, 4, 0, 1, 0, 1]);
    expect(decisions.map((d) => d.limit)).toEqual([2, 10, 2, 10, 2, 10]);
  });

  it('takes a key that comes several times in one tick once each, in order', async () => {
    const limiter = tokenBucket({ capacity: 3, refillPerSecond: slow, store });
    const k = key('dup');
    const decisions = await Promise.all([1, 2, 3, 4, 5].map(() => limiter.take(k)));
    expect(allowed(decisions)).toEqual([true, true, true, false, false]);
    expect(decisions.map((d) => d.remaining)).toEqual([2, 1, 0, 0, 0]);
  });

  it('decides 600 takes of one tick over 200 keys exactly, each key on its own', async () => {
    const limiter = tokenBucket({ capacity: 2, refillPerSecond: slow, store });
    const keys = Array.from({ length: 200 }, (_, i) => key(`many:${i}`));
    const takes = [];
    for (let round = 0; round < 3; round++) for (const k of keys) takes.push(limiter.take(k));
    const decisions = await Promise.all(takes);
    const rounds = [0, 1, 2].map((r) => decisions.slice(r * 200, (r + 1) * 200));
    expect(rounds[0]!.every((d) => d.allowed && d.remaining === 1)).toBe(true);
    expect(rounds[1]!.every((d) => d.allowed && d.remaining === 0)).toBe(true);
    expect(rounds[2]!.every((d) => !d.allowed)).toBe(true);
  });

  it('keeps odd keys apart in one tick: empty, braces, escapes and non-ASCII', async () => {
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: slow, store });
    const tag = key('odd');
    const odd = ['', '{a}', '{a', 'a}', '}{', '%', '%7Ba%7D', 'a b', 'é', '😀', '\uD800'].map(
      (k) => `${tag}${k}`,
    );
    odd.push(''); // a key that is all empty: its hash tag is empty, so Redis hashes the whole key
    const decisions = await Promise.all([...odd, ...odd].map((k) => limiter.take(k)));
    expect(allowed(decisions)).toEqual([...odd.map(() => true), ...odd.map(() => false)]);
  });

  it('admits exactly capacity of 4 clients x 50 concurrent takes on one key', async () => {
    const k = key('crowd');
    const limiters = backend
      .stores(4)
      .map((s) => tokenBucket({ capacity: 37, refillPerSecond: slow, store: s }));
    await Promise.all(limiters.map((l) => l.take(key('warm-up')))); // connected, script loaded
    const decisions = await Promise.all(
      limiters.flatMap((l) => Array.from({ length: 50 }, () => l.take(k))),
    );
    expect(decisions.filter((d) => d.allowed)).toHaveLength(37);
    // Every remaining count from 36 down to 0 was handed out once: the takes were serialised.
    const remaining = decisions.filter((d) => d.allowed).map((d) => d.remaining);
    expect(remaining.sort((a, b) => a - b)).toEqual(Array.from({ length: 37 }, (_, i) => i));
  });

  it('loads its scripts again after SCRIPT FLUSH, for a lone take and a batch', async () => {
    const target = await backend.flushable();
    if (target === undefined) return; // memory has no scripts
    const limiter = tokenBucket({ capacity: 2, refillPerSecond: slow, store: target.store });
    // Both scripts loaded first, then forgotten, as by a restarted Redis or a failover.
    expect((await limiter.take(key('flush'))).allowed).toBe(true);
    await Promise.all([key('a'), key('b')].map((k) => limiter.take(k)));
    await target.flush();
    const lone = key('lone');
    expect((await limiter.take(lone)).allowed).toBe(true);
    await target.flush();
    const batch = Array.from({ length: 20 }, (_, i) => key(`batch:${i}`));
    const decisions = await Promise.all([...batch, lone].map((k) => limiter.take(k)));
    expect(allowed(decisions)).toEqual([...batch.map(() => true), true]);
    expect(decisions.at(-1)!.remaining).toBe(0);
  });

  it('fails only the take whose key holds another type, with Redis own error', async () => {
    const { admin } = backend;
    if (admin === undefined) return; // memory holds nothing but buckets
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: slow, store });
    const wrong = key('wrong-type');
    await admin.rpush(`${backend.prefix}{${wrong}}`, 'not a bucket');
    const others = Array.from({ length: 10 }, (_, i) => key(`beside:${i}`));
    const outcomes = await Promise.allSettled([wrong, ...others].map((k) => limiter.take(k)));
    expect(outcomes[0]).toMatchObject({ status: 'rejected', reason: { name: 'ReplyError' } });
    expect(String((outcomes[0] as PromiseRejectedResult).reason.message)).toMatch(/^WRONGTYPE/);
    expect(outcomes.slice(1).every((o) => o.status === 'fulfilled' && o.value.allowed)).toBe(true);
    // Alone, too, and the store still counts Redis as up.
    await expect(limiter.take(wrong)).rejects.toThrow(/^WRONGTYPE/);
    expect((await limiter.take(others[0]!)).allowed).toBe(false);
  });

  it('groups takes by the slot Redis Cluster itself computes for each key', async () => {
    const { admin } = backend;
    if (!(admin instanceof Cluster)) return; // only a Cluster has slots
    const ask = (k: string) => admin.cluster('KEYSLOT', k) as Promise<number>;
    const odd = [
      'p:{}',
      'p:{',
      'p:}{a}',
      'p:{a}{b}',
      '{é}',
      'p:{😀}',
      'p:{a b}',
      'p:{%7B}',
      'plain',
    ];
    for (const k of odd) expect(keySlot(k), k).toBe(await ask(k));
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary' }), async (id) => {
        const k = `p:{${id}}`;
        expect(keySlot(k)).toBe(await ask(k));
      }),
      { numRuns: 300 },
    );
  });
});
