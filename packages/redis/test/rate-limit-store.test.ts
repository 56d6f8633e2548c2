import { type PolicyEvent, StoreUnavailableError } from '@bulwark/core';
import { manualClock } from '@bulwark/core/testing';
import { rateLimit, type StoreEvent, tokenBucket } from '@bulwark/rate-limit';
import { type OnStoreError, redisRateLimitStore } from '@bulwark/redis';
import { describe, expect, it } from 'vitest';
import { FakeRedis } from './rate-limit-fake-redis.js';

function setup(onStoreError: OnStoreError = 'local', capacity = 2) {
  const redis = new FakeRedis();
  redis.scriptLoaded = true;
  const clock = manualClock();
  const store = redisRateLimitStore({
    client: redis.asClient(),
    prefix: 'rl:',
    timeoutMs: 100,
    onStoreError,
    clock,
  });
  const events: StoreEvent[] = [];
  store.on((e) => events.push(e));
  const limiter = tokenBucket({ capacity, refillPerSecond: 1, store, clock });
  return { redis, clock, store, events, limiter };
}

describe('redisRateLimitStore', () => {
  it('decides each take with one EVALSHA on the bucket key', async () => {
    const { redis, limiter } = setup();
    expect(await limiter.take('u1')).toMatchObject({ allowed: true, remaining: 1 });
    expect(await limiter.take('u1')).toMatchObject({ allowed: true, remaining: 0 });
    expect(await limiter.take('u1')).toMatchObject({ allowed: false, retryAfterMs: 1000 });
    expect(redis.calls.map((c) => c.command)).toEqual(['evalsha', 'evalsha', 'evalsha']);
    expect(redis.calls[0]).toMatchObject({
      key: 'rl:{u1}',
      args: ['1000', expect.stringMatching(/^2000\.001/)],
    });
  });

  it('loads the script with EVAL after NOSCRIPT, as after a Redis restart', async () => {
    const { redis, limiter } = setup();
    redis.scriptLoaded = false;
    expect((await limiter.take('u1')).allowed).toBe(true);
    await limiter.take('u1');
    expect(redis.calls.map((c) => c.command)).toEqual(['evalsha', 'eval', 'evalsha']);
  });

  it('puts every key in a hash tag of its own, braces and all escaped', async () => {
    const { redis, limiter } = setup();
    for (const key of ['{a}', 'a b', 'é😀', '%', '', '\uD800']) await limiter.take(key);
    expect(redis.calls.map((c) => c.key)).toEqual([
      'rl:{%7Ba%7D}',
      'rl:{a b}',
      'rl:{é😀}',
      'rl:{%25}',
      'rl:{}',
      'rl:{%uD800}',
    ]);
  });

  it('decides locally once Redis has not answered within timeoutMs', async () => {
    const { redis, clock, limiter, events } = setup('local');
    redis.mode = 'hang';
    const take = limiter.take('u1');
    let decided = false;
    void take.then(() => {
      decided = true;
    });
    await clock.advance(99);
    expect(decided).toBe(false);
    await clock.advance(1);
    expect(await take).toMatchObject({ allowed: true, remaining: 1 });
    expect(events).toEqual([
      {
        type: 'store-error',
        error: expect.any(StoreUnavailableError),
        key: 'u1',
        onStoreError: 'local',
      },
    ]);
    expect(String((events[0]!.error as Error).message)).toBe('Redis did not answer within 100 ms');
  });

  it('limits locally while Redis is down, without asking Redis again until it is ready', async () => {
    const { redis, clock, limiter } = setup('local');
    redis.mode = 'hang';
    const first = limiter.take('u1');
    await clock.advance(100);
    await first;
    redis.status = 'reconnecting';
    expect((await limiter.take('u1')).allowed).toBe(true);
    expect((await limiter.take('u1')).allowed).toBe(false); // the local bucket of 2 is empty
    expect(redis.calls).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it("admits every take while Redis is down with onStoreError 'allow'", async () => {
    const { redis, limiter } = setup('allow', 1);
    redis.status = 'reconnecting';
    for (let i = 0; i < 5; i++) {
      expect(await limiter.take('u1')).toMatchObject({ allowed: true, waitMs: 0 });
    }
  });

  it("rejects every take with StoreUnavailableError while Redis is down with onStoreError 'deny'", async () => {
    const { redis, clock, limiter } = setup('deny');
    redis.mode = 'hang';
    const take = limiter.take('u1').catch((e: unknown) => e);
    await clock.advance(100);
    const error = await take;
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toBe("Redis is unavailable and onStoreError is 'deny'");
    expect((error as Error).cause).toBeInstanceOf(StoreUnavailableError);
  });

  it('fails over at once, without queueing the command, when the connection drops', async () => {
    const { redis, limiter, events, store } = setup('local');
    await limiter.take('u1');
    redis.status = 'reconnecting';
    expect((await limiter.take('u1')).allowed).toBe(true);
    expect(redis.calls).toHaveLength(1);
    expect(store.available).toBe(false);
    expect(events).toMatchObject([{ type: 'store-error', key: 'u1' }]);
    expect((events[0]!.error as Error).message).toBe('Redis connection is reconnecting');
  });

  it('treats an error reply like an outage', async () => {
    const { redis, limiter, events } = setup('local');
    const failure = new Error('READONLY You cannot write against a read only replica.');
    redis.mode = failure;
    expect((await limiter.take('u1')).allowed).toBe(true);
    expect(events).toEqual([
      { type: 'store-error', error: failure, key: 'u1', onStoreError: 'local' },
    ]);
  });

  it('sends the first takes while the client is still connecting', async () => {
    const { redis, limiter } = setup();
    redis.status = 'connecting';
    expect((await limiter.take('u1')).allowed).toBe(true);
    expect(redis.calls).toHaveLength(1);
  });

  it('goes back to Redis once it answers, one probe at a time, and says so', async () => {
    const { redis, clock, limiter, events, store } = setup('local', 1);
    redis.status = 'reconnecting';
    await limiter.take('u1'); // down
    redis.status = 'ready';
    redis.mode = 'hang';
    const probe = limiter.take('u1');
    // While the probe is out, others decide locally at once.
    expect((await limiter.take('u1')).allowed).toBe(false);
    expect(redis.calls).toHaveLength(1);
    await clock.advance(100);
    await probe;
    redis.mode = 'answer';
    await clock.advance(5000);
    expect((await limiter.take('u1')).allowed).toBe(true); // Redis' bucket is full
    expect(store.available).toBe(true);
    expect(events.map((e) => e.type)).toEqual(['store-error', 'store-error', 'store-recovered']);
    expect(events[2]).toEqual({ type: 'store-recovered', downMs: 5100 });
    expect((await limiter.take('u1')).allowed).toBe(false);
    expect(redis.calls).toHaveLength(3);
  });

  it('relays its events through the rate-limit policy', async () => {
    const { redis, store, clock } = setup();
    const policy = rateLimit({
      limiter: tokenBucket({ capacity: 1, refillPerSecond: 1, store, clock }),
    });
    const events: PolicyEvent[] = [];
    policy.on((e) => events.push(e));
    redis.status = 'reconnecting';
    expect(await policy.execute(() => 'ran', { key: 'u1' })).toBe('ran');
    expect(events).toMatchObject([
      { policy: 'rate-limit', type: 'store-error', key: 'u1', onStoreError: 'local' },
    ]);
  });

  it('keeps one timer for all the takes in flight, and none once they are answered', async () => {
    const { redis, clock, limiter } = setup('local', 10);
    redis.mode = 'hang';
    const takes = [1, 2, 3, 4, 5].map((i) => limiter.take(`u${i}`));
    expect(clock.pendingTimers).toBe(1);
    for (const pending of redis.hanging) pending.resolve(0);
    expect((await Promise.all(takes)).every((d) => d.allowed)).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  it('gives each take its own timeoutMs, counted from when it was sent', async () => {
    const { redis, clock, limiter } = setup('deny');
    redis.mode = 'hang';
    const outcomes: string[] = [];
    const watch = (name: string, take: Promise<unknown>) =>
      take.catch(() => outcomes.push(`${name} given up at ${clock.now()}`));
    const first = watch('first', limiter.take('a'));
    await clock.advance(60);
    const second = watch('second', limiter.take('b'));
    await clock.advance(40);
    expect(outcomes).toEqual(['first given up at 100']);
    await clock.advance(60);
    await Promise.all([first, second]);
    expect(outcomes).toEqual(['first given up at 100', 'second given up at 160']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('ignores an answer that comes after the take was decided without Redis', async () => {
    const { redis, clock, limiter } = setup('local', 1);
    redis.mode = 'hang';
    const take = limiter.take('u1');
    await clock.advance(100);
    expect((await take).allowed).toBe(true);
    redis.hanging[0]!.resolve(-500_001);
    await clock.flush();
    expect(redis.calls).toHaveLength(1);
  });

  it('leaves no timer once a take is decided', async () => {
    const { clock, limiter } = setup();
    await limiter.take('u1');
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects bad options clearly', () => {
    const client = new FakeRedis().asClient();
    expect(() => redisRateLimitStore({ client, prefix: 'a{b}:' })).toThrow(
      /prefix must not contain '\{' or '\}'/,
    );
    expect(() => redisRateLimitStore({ client } as never)).toThrow(
      'redisRateLimitStore: prefix must be a string, got undefined',
    );
    expect(() => redisRateLimitStore({ client, prefix: 'p:', timeoutMs: 0 })).toThrow(
      'redisRateLimitStore: timeoutMs must be a finite number > 0, got 0',
    );
    expect(() =>
      redisRateLimitStore({ client, prefix: 'p:', onStoreError: 'ignore' as never }),
    ).toThrow("onStoreError must be one of 'local', 'allow', 'deny', got \"ignore\"");
    expect(() => redisRateLimitStore({ client: {} as never, prefix: 'p:' })).toThrow(
      'redisRateLimitStore: client.evalsha must be a function',
    );
  });
});
