import { StoreUnavailableError } from '@bulwark/core';
import { manualClock } from '@bulwark/core/testing';
import { tokenBucket } from '@bulwark/rate-limit';
import { type OnStoreError, type RedisStoreEvent, redisRateLimitStore } from '@bulwark/redis';
import { describe, expect, it } from 'vitest';
import { keySlot } from '../src/rate-limit/slot.js';
import { FakeRedis } from './rate-limit-fake-redis.js';

// The store's client-side logic on a manual clock: batching, deadlines and fallbacks. What Redis
// does with the scripts (exactness, NOSCRIPT, Cluster slots, outages) is tested on real Redis in
// test/contract-rate-limit-store.test.ts and test/rate-limit-outage.test.ts.

function setup(
  onStoreError: OnStoreError = 'local',
  capacity = 2,
  client: Partial<Pick<FakeRedis, 'status' | 'isCluster'>> = {},
) {
  const redis = Object.assign(new FakeRedis(), client);
  const clock = manualClock();
  const store = redisRateLimitStore({
    client: redis.asClient(),
    prefix: 'rl:',
    timeoutMs: 100,
    onStoreError,
    clock,
  });
  const events: RedisStoreEvent[] = [];
  store.on((e) => events.push(e));
  const limiter = tokenBucket({ capacity, refillPerSecond: 1, store, clock });
  return { redis, clock, store, events, limiter };
}

describe('redisRateLimitStore', () => {
  it('sends a lone take as one EVALSHA of its bucket key', async () => {
    const { redis, limiter } = setup();
    expect(await limiter.take('u1')).toMatchObject({ allowed: true, remaining: 1 });
    expect(redis.calls).toEqual([
      {
        command: 'evalsha',
        keys: ['rl:{u1}'],
        args: ['1000', expect.stringMatching(/^2000\.001/)],
      },
    ]);
  });

  it('sends the takes of one tick as one script, in order, a repeated key taken each time', async () => {
    const { redis, limiter } = setup();
    const decisions = await Promise.all(['a', 'b', 'a', 'a'].map((k) => limiter.take(k)));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(redis.calls.map((c) => c.keys)).toEqual([['rl:{a}', 'rl:{b}', 'rl:{a}', 'rl:{a}']]);
  });

  it('caps a script at 256 takes', async () => {
    const { redis, limiter } = setup();
    await Promise.all(Array.from({ length: 600 }, (_, i) => limiter.take(`k${i}`)));
    expect(redis.calls.map((c) => c.keys.length)).toEqual([256, 256, 88]);
  });

  it('sends one script per slot on Redis Cluster, whose keys all share that slot', async () => {
    const { redis, limiter } = setup('local', 2, { isCluster: true });
    const keys = Array.from({ length: 40 }, (_, i) => `k${i % 10}`);
    const decisions = await Promise.all(keys.map((k) => limiter.take(k)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(20); // 2 of each key's 4
    expect(redis.calls).toHaveLength(10);
    for (const call of redis.calls) {
      expect(call.keys).toHaveLength(4);
      expect(new Set(call.keys.map(keySlot)).size).toBe(1);
    }
  });

  it('decides a whole batch locally once Redis has not answered it within timeoutMs, on one timer', async () => {
    const { redis, clock, limiter, events } = setup('local');
    redis.mode = 'hang';
    let decided = 0;
    const takes = ['a', 'b', 'c'].map((k) =>
      limiter.take(k).then((d) => {
        decided++;
        return d;
      }),
    );
    await clock.advance(0);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(99);
    expect(decided).toBe(0);
    await clock.advance(1);
    expect((await Promise.all(takes)).map((d) => d.remaining)).toEqual([1, 1, 1]);
    expect(events).toEqual([
      {
        type: 'store-error',
        store: 'redisRateLimitStore',
        operation: 'take',
        error: expect.any(StoreUnavailableError),
        onStoreError: 'local',
        key: 'a',
      },
    ]);
    expect((events[0] as { error: Error }).error.message).toBe(
      'redisRateLimitStore: Redis did not answer a take within 100 ms',
    );
  });

  it('gives each batch its own timeoutMs, counted from when it was sent', async () => {
    const { redis, clock, limiter } = setup('deny');
    redis.mode = 'hang';
    const outcomes: string[] = [];
    const watch = (name: string, take: Promise<unknown>) =>
      take.catch(() => outcomes.push(`${name} given up at ${clock.now()}`));
    const first = watch('first', limiter.take('a'));
    await clock.advance(60);
    // Still before the first deadline: the store is not down yet, this one is sent too.
    const second = watch('second', limiter.take('b'));
    await clock.advance(40);
    expect(outcomes).toEqual(['first given up at 100']);
    await clock.advance(60);
    await Promise.all([first, second]);
    expect(outcomes).toEqual(['first given up at 100', 'second given up at 160']);
    expect(redis.calls).toHaveLength(2);
  });

  it('ignores an answer that comes after the batch was decided without Redis', async () => {
    const { redis, clock, limiter } = setup('local', 1);
    redis.mode = 'hang';
    const take = limiter.take('u1');
    await clock.advance(100);
    expect((await take).allowed).toBe(true);
    redis.hanging[0]!.resolve(-500_001);
    await clock.advance(0);
    expect(redis.calls).toHaveLength(1);
  });

  it('decides at once, sending nothing, while the client reconnects', async () => {
    const { redis, limiter, events, store } = setup('local');
    await limiter.take('u1');
    redis.status = 'reconnecting';
    expect((await limiter.take('u1')).allowed).toBe(true); // the local bucket, full
    expect((await limiter.take('u1')).allowed).toBe(true);
    expect((await limiter.take('u1')).allowed).toBe(false);
    expect(redis.calls).toHaveLength(1);
    expect(store.available).toBe(false);
    expect(events).toMatchObject([{ type: 'store-error', operation: 'take', key: 'u1' }]);
  });

  it("admits every take while Redis is away with onStoreError 'allow'", async () => {
    const { redis, limiter } = setup('allow', 1);
    redis.status = 'reconnecting';
    for (let i = 0; i < 5; i++) {
      expect(await limiter.take('u1')).toMatchObject({ allowed: true, waitMs: 0 });
    }
  });

  it("rejects every take with StoreUnavailableError while Redis is away with onStoreError 'deny'", async () => {
    const { redis, clock, limiter } = setup('deny');
    redis.mode = 'hang';
    const take = limiter.take('u1').catch((e: unknown) => e);
    await clock.advance(100);
    const error = (await take) as Error;
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error.message).toBe(
      "redisRateLimitStore: Redis is unavailable (take); the store falls back to 'deny' until it answers again (last error: redisRateLimitStore: Redis did not answer a take within 100 ms)",
    );
    expect(error.cause).toBeInstanceOf(StoreUnavailableError);
  });

  it('treats a Redis that cannot serve (READONLY) like an outage', async () => {
    const { redis, limiter, events } = setup('local');
    redis.mode = new Error('READONLY You cannot write against a read only replica.');
    redis.mode.name = 'ReplyError';
    expect((await limiter.take('u1')).allowed).toBe(true);
    expect(events).toMatchObject([{ type: 'store-error', error: redis.mode, key: 'u1' }]);
  });

  it('waits for the first connection, within timeoutMs, without queueing a command', async () => {
    const { redis, clock, limiter } = setup('local', 2, { status: 'connecting' });
    const take = limiter.take('u1');
    await clock.advance(50);
    expect(redis.calls).toHaveLength(0);
    redis.status = 'ready';
    redis.emit('ready');
    expect((await take).remaining).toBe(1);
    expect(redis.calls).toHaveLength(1);
  });

  it('goes back to Redis once its probe answers, and says so once', async () => {
    const { redis, clock, limiter, events, store } = setup('local', 1);
    redis.status = 'reconnecting';
    await limiter.take('u1');
    redis.status = 'ready';
    redis.emit('ready');
    await clock.advance(0);
    expect(store.available).toBe(true);
    expect(events.map((e) => e.type)).toEqual(['store-error', 'store-recovered']);
    expect((await limiter.take('u1')).allowed).toBe(true); // Redis' bucket, full
    expect(redis.calls).toHaveLength(1);
  });

  it('leaves no timer once its takes are decided', async () => {
    const { clock, limiter } = setup();
    await Promise.all([limiter.take('a'), limiter.take('b')]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects bad options clearly', () => {
    const client = new FakeRedis().asClient();
    expect(() => redisRateLimitStore({ client } as never)).toThrow(
      "redisRateLimitStore: prefix is required, got undefined: give each limiter's store its own, such as 'rl:api:'",
    );
    expect(() => redisRateLimitStore({ client, prefix: 'a{b}:' })).toThrow(
      /prefix must not contain '\{' or '\}'/,
    );
    expect(() => redisRateLimitStore({ client, prefix: 'p:', timeoutMs: 0 })).toThrow(
      'redisRateLimitStore: timeoutMs must be a finite number > 0, got 0',
    );
    expect(() =>
      redisRateLimitStore({ client, prefix: 'p:', onStoreError: 'ignore' as never }),
    ).toThrow("onStoreError must be one of 'local', 'allow', 'deny', got \"ignore\"");
    expect(() => redisRateLimitStore({ client, prefix: 'p:', timeout: 5 } as never)).toThrow(
      /timeout.*did you mean timeoutMs\?/,
    );
    expect(() => redisRateLimitStore({ client: {} as never, prefix: 'p:' })).toThrow(
      'redisRateLimitStore: client must be an ioredis Redis or Cluster client',
    );
  });
});
