import { manualClock } from '@bulwark/core/testing';
import { tokenBucket } from '@bulwark/rate-limit';
import { describe, expect, it } from 'vitest';

function bucket(capacity = 10, refillPerSecond = 10) {
  const clock = manualClock();
  return { clock, limiter: tokenBucket({ capacity, refillPerSecond, clock }) };
}

async function takeTimes(limiter: { take(key: string): Promise<{ allowed: boolean }> }, n: number) {
  let allowed = 0;
  for (let i = 0; i < n; i++) if ((await limiter.take('k')).allowed) allowed++;
  return allowed;
}

describe('tokenBucket', () => {
  it('admits a burst up to capacity at one instant', async () => {
    const { limiter } = bucket(10, 1);
    expect(await takeTimes(limiter, 15)).toBe(10);
  });

  it('refills continuously: one token every 1/refillPerSecond', async () => {
    const { clock, limiter } = bucket(10, 10);
    await takeTimes(limiter, 10);
    await clock.advance(99);
    expect((await limiter.take('k')).allowed).toBe(false);
    await clock.advance(1);
    expect((await limiter.take('k')).allowed).toBe(true);
    expect((await limiter.take('k')).allowed).toBe(false);
  });

  it('never holds more than capacity, however long it rests', async () => {
    const { clock, limiter } = bucket(5, 100);
    await clock.advance(60_000);
    expect(await takeTimes(limiter, 20)).toBe(5);
  });

  it('tells an allowed take what remains and when the bucket is full again', async () => {
    const { limiter } = bucket(10, 10);
    await limiter.take('k', 3);
    expect(await limiter.take('k', 2)).toEqual({
      allowed: true,
      limit: 10,
      remaining: 5,
      retryAfterMs: 0,
      resetMs: 500,
      waitMs: 0,
    });
  });

  it('tells a refused take when the same take could succeed', async () => {
    const { clock, limiter } = bucket(10, 10);
    await limiter.take('k', 9);
    const refused = await limiter.take('k', 4);
    expect(refused).toEqual({
      allowed: false,
      limit: 10,
      remaining: 1,
      retryAfterMs: 300,
      resetMs: 900,
      waitMs: 0,
    });
    await clock.advance(299);
    expect((await limiter.take('k', 4)).allowed).toBe(false);
    await clock.advance(1);
    expect((await limiter.take('k', 4)).allowed).toBe(true);
  });

  it('does not take anything from the bucket on a refused take', async () => {
    const { clock, limiter } = bucket(2, 1);
    await takeTimes(limiter, 2);
    for (let i = 0; i < 5; i++) await limiter.take('k');
    await clock.advance(1000);
    expect((await limiter.take('k')).allowed).toBe(true);
  });

  it('keeps one bucket per key', async () => {
    const { limiter } = bucket(1, 1);
    expect((await limiter.take('a')).allowed).toBe(true);
    expect((await limiter.take('b')).allowed).toBe(true);
    expect((await limiter.take('a')).allowed).toBe(false);
  });

  it('treats keys with braces, spaces and unicode as plain distinct keys', async () => {
    const { limiter } = bucket(1, 1);
    const keys = ['{a}', '{a', 'a}', 'a b', 'é', 'e\u0301', '😀', '', '%7Ba%7D'];
    for (const key of keys) expect((await limiter.take(key)).allowed).toBe(true);
    for (const key of keys) expect((await limiter.take(key)).allowed).toBe(false);
  });

  it('admits a take of the whole capacity when the bucket is full', async () => {
    const { limiter } = bucket(10, 1);
    expect((await limiter.take('k', 10)).allowed).toBe(true);
  });

  it('rejects a cost above capacity with a RangeError naming capacity', async () => {
    const { limiter } = bucket(10, 1);
    await expect(limiter.take('k', 11)).rejects.toThrow(RangeError);
    await expect(limiter.take('k', 11)).rejects.toThrow(/capacity \(10\), got 11/);
  });

  it('rejects a cost that is not a positive finite number', async () => {
    const { limiter } = bucket();
    await expect(limiter.take('k', 0)).rejects.toThrow(RangeError);
    await expect(limiter.take('k', -1)).rejects.toThrow(RangeError);
    await expect(limiter.take('k', Number.NaN)).rejects.toThrow(RangeError);
    await expect(limiter.take('k', Number.POSITIVE_INFINITY)).rejects.toThrow(RangeError);
    await expect(limiter.take('k', '2' as unknown as number)).rejects.toThrow(TypeError);
  });

  it('rejects a key that is not a string', async () => {
    const { limiter } = bucket();
    await expect(limiter.take(42 as unknown as string)).rejects.toThrow(
      'tokenBucket.take: key must be a string, got 42',
    );
    await expect(limiter.take(undefined as unknown as string)).rejects.toThrow(TypeError);
  });

  it('sets no timer', async () => {
    const { clock, limiter } = bucket(1, 1);
    await takeTimes(limiter, 3);
    expect(clock.pendingTimers).toBe(0);
  });

  it('exposes the largest cost one take may ask for', () => {
    expect(bucket(7, 1).limiter.maxCost).toBe(7);
  });
});

describe('takeNow', () => {
  it('decides at once on the memory store, taking as take does', async () => {
    const clock = manualClock();
    const limiter = tokenBucket({ capacity: 2, refillPerSecond: 1, clock });
    expect(limiter.takeNow('a')).toMatchObject({ allowed: true, remaining: 1 });
    expect(await limiter.take('a')).toMatchObject({ allowed: true, remaining: 0 });
    expect(limiter.takeNow('a')).toMatchObject({ allowed: false, retryAfterMs: 1_000 });
  });

  it('answers undefined when the store cannot decide without waiting', () => {
    const store = { take: async () => ({}) as never };
    expect(tokenBucket({ capacity: 2, refillPerSecond: 1, store }).takeNow('a')).toBeUndefined();
  });

  it('refuses a bad key or cost at once', () => {
    const limiter = tokenBucket({ capacity: 2, refillPerSecond: 1 });
    expect(() => limiter.takeNow(3 as never)).toThrow(
      /tokenBucket.takeNow: key must be a string, got 3/,
    );
    expect(() => limiter.takeNow('a', 3)).toThrow(RangeError);
  });
});
