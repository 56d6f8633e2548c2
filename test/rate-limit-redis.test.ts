import { RateLimitedError } from '@bulwark/core';
import { manualClock } from '@bulwark/core/testing';
import { leakyBucket, rateLimit, tokenBucket } from '@bulwark/rate-limit';
import { redisRateLimitStore } from '@bulwark/redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysUnder, keysUnder, uniquePrefix } from './support/rate-limit-keys.js';
import { runWorkers } from './support/rate-limit-workers.js';

// The shared Redis on 6379: every test keeps to its own prefix and deletes its keys after.
const shared = { host: '127.0.0.1', port: 6379 };
const prefix = uniquePrefix('redis');
let client: Redis;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function store() {
  return redisRateLimitStore({ client, prefix, timeoutMs: 5_000, onStoreError: 'deny' });
}

beforeAll(() => {
  client = new Redis(shared);
});

afterAll(async () => {
  await deleteKeysUnder(client, prefix);
  client.disconnect();
});

describe('rate limits in Redis', () => {
  it('admits a burst up to capacity, then refuses with retryAfterMs', async () => {
    const limiter = tokenBucket({ capacity: 5, refillPerSecond: 1, store: store() });
    const decisions = [];
    for (let i = 0; i < 6; i++) decisions.push(await limiter.take('burst'));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true, false]);
    expect(decisions[4]!.remaining).toBe(0);
    expect(decisions[5]!.retryAfterMs).toBeGreaterThan(0);
    expect(decisions[5]!.retryAfterMs).toBeLessThanOrEqual(1000);
  });

  it('keeps a bucket in one key that expires when the bucket is full again', async () => {
    const limiter = tokenBucket({ capacity: 10, refillPerSecond: 10, store: store() });
    await limiter.take('expiry', 3);
    const ttl = await client.pttl(`${prefix}{expiry}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(300);
  });

  it('spaces leaky bucket slots by 1/rate', async () => {
    const limiter = leakyBucket({ ratePerSecond: 1, maxQueue: 3, store: store() });
    const decisions = [];
    for (let i = 0; i < 5; i++) decisions.push(await limiter.take('leaky'));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, false]);
    // Each take comes a little later than the one before, so its wait is a little shorter.
    decisions.slice(0, 4).forEach((d, i) => {
      expect(d.waitMs).toBeLessThanOrEqual(i * 1000);
      expect(d.waitMs).toBeGreaterThan(i * 1000 - 900);
    });
  });

  it('runs on the clock of Redis, whatever the clocks of the app servers say', async () => {
    const s = store();
    // Two app servers whose clocks are 30 years apart and never move.
    const a = tokenBucket({ capacity: 2, refillPerSecond: 10, store: s, clock: manualClock(0) });
    const b = tokenBucket({ capacity: 2, refillPerSecond: 10, store: s, clock: manualClock(1e12) });
    expect((await a.take('skew')).allowed).toBe(true);
    expect((await b.take('skew')).allowed).toBe(true);
    expect((await a.take('skew')).allowed).toBe(false);
    expect((await b.take('skew')).allowed).toBe(false);
    await sleep(300); // real time, which only Redis sees
    expect((await b.take('skew')).allowed).toBe(true);
  });

  it('keeps keys with braces, spaces and unicode apart, each in its own hash tag', async () => {
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 0.01, store: store() });
    const odd = [
      'odd:{a}',
      'odd:{a',
      'odd:a}',
      'odd:a b',
      'odd:é',
      'odd:😀',
      'odd:%7Ba%7D',
      'odd:}{',
    ];
    for (const key of odd) expect((await limiter.take(key)).allowed).toBe(true);
    for (const key of odd) expect((await limiter.take(key)).allowed).toBe(false);
    const keys = (await keysUnder(client, `${prefix}{odd:`)).sort();
    expect(keys).toHaveLength(odd.length);
    for (const key of keys) expect(key.slice(prefix.length)).toMatch(/^\{[^{}]*\}$/);
  });

  it('shares one limit between the rateLimit policies of several app servers', async () => {
    const s = store();
    const servers = [0, 1].map(() =>
      rateLimit({ limiter: tokenBucket({ capacity: 2, refillPerSecond: 0.01, store: s }) }),
    );
    await servers[0]!.execute(() => 1, { key: 'shared' });
    await servers[1]!.execute(() => 1, { key: 'shared' });
    await expect(servers[0]!.execute(() => 1, { key: 'shared' })).rejects.toThrow(RateLimitedError);
    await expect(servers[1]!.execute(() => 1, { key: 'shared' })).rejects.toThrow(RateLimitedError);
  });

  it('lets 4 processes x 50 concurrent takes through one bucket (100, 10/s) no more than 150 times in 5 s', async () => {
    const result = await runWorkers({
      processes: 4,
      workers: 50,
      cluster: false,
      nodes: [shared],
      prefix,
      key: 'crowd',
      capacity: 100,
      refillPerSecond: 10,
      durationMs: 5_000,
    });
    const seen = JSON.stringify(result);
    expect(result.errors, seen).toBe(0);
    expect(result.refused, seen).toBeGreaterThan(1000); // demand far above the limit
    expect(result.admitted, seen).toBeLessThanOrEqual(150);
    expect(result.admitted, seen).toBeGreaterThanOrEqual(145);
    // Whatever the machine's load: never more than the bucket could hold over the real span.
    const span = result.lastAnswerAt - result.startAt;
    expect(result.admitted, seen).toBeLessThanOrEqual(Math.floor(100 + (10 * span) / 1000));
  }, 60_000);
});
