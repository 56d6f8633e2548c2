import { manualClock } from '@bulwark/core/testing';
import { memoryRateLimitStore, tokenBucket } from '@bulwark/rate-limit';
import { describe, expect, it } from 'vitest';

function setup(maxKeys: number, capacity = 2, refillPerSecond = 1) {
  const clock = manualClock();
  const store = memoryRateLimitStore({ maxKeys });
  return { clock, store, limiter: tokenBucket({ capacity, refillPerSecond, store, clock }) };
}

describe('memoryRateLimitStore', () => {
  it('keeps no more than maxKeys buckets', async () => {
    const { store, limiter } = setup(100);
    for (let i = 0; i < 1000; i++) await limiter.take(`k${i}`);
    expect(store.size).toBe(100);
  });

  it('keeps 10 000 buckets by default', async () => {
    const store = memoryRateLimitStore();
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 1, store, clock: manualClock() });
    for (let i = 0; i < 10_050; i++) await limiter.take(`k${i}`);
    expect(store.size).toBe(10_000);
  });

  it('evicts the least recently used bucket', async () => {
    const { limiter } = setup(2, 1);
    await limiter.take('a');
    await limiter.take('b');
    await limiter.take('a'); // refused, but a is now more recent than b
    await limiter.take('c'); // evicts b
    expect((await limiter.take('a')).allowed).toBe(false);
    expect((await limiter.take('b')).allowed).toBe(true); // b came back full
  });

  it('evicts a bucket at rest before a busier, less recently used one', async () => {
    const { clock, limiter } = setup(3, 10, 1);
    await limiter.take('busy', 10); // full again only after 10 s
    await clock.advance(1000);
    await limiter.take('idle'); // full again after 1 s
    await limiter.take('other', 10);
    await clock.advance(2000);
    await limiter.take('new'); // idle is at rest: it goes, not busy
    expect((await limiter.take('busy', 4)).allowed).toBe(false);
  });

  it('brings an evicted busy bucket back full', async () => {
    const { limiter } = setup(1, 2);
    await limiter.take('a', 2);
    expect((await limiter.take('a')).allowed).toBe(false);
    await limiter.take('b');
    expect((await limiter.take('a', 2)).allowed).toBe(true);
  });

  it('sets no timer for any key', async () => {
    const { clock, limiter } = setup(10);
    for (let i = 0; i < 50; i++) await limiter.take(`k${i % 20}`);
    expect(clock.pendingTimers).toBe(0);
  });

  it('forgets every bucket on clear', async () => {
    const { store, limiter } = setup(10, 1);
    await limiter.take('a');
    store.clear();
    expect(store.size).toBe(0);
    expect((await limiter.take('a')).allowed).toBe(true);
  });

  it('rejects a maxKeys that is not a positive integer', () => {
    expect(() => memoryRateLimitStore({ maxKeys: 0 })).toThrow(
      'memoryRateLimitStore: maxKeys must be an integer >= 1, got 0',
    );
    expect(() => memoryRateLimitStore({ maxKeys: 1.5 })).toThrow(RangeError);
  });
});
