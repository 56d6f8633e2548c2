import { type PolicyEvent, StoreUnavailableError } from '@bulwark/core';
import { type Decision, rateLimit, tokenBucket } from '@bulwark/rate-limit';
import { type OnStoreError, type RedisStoreEvent, redisRateLimitStore } from '@bulwark/redis';
import { Redis, type RedisOptions } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisServer, redisCli } from './support/redis-server.js';

// A Redis of this test's own on a free port, killed, frozen (SIGSTOP) and restarted mid-run;
// the shared one on 6379 is never touched.
const timeoutMs = 100;
// The bound: every decision within timeoutMs + 50 ms, measured around each take.
const bound = timeoutMs + 50;
const prefix = 'rl:';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const clientSettings: Array<[string, RedisOptions]> = [
  ['ioredis defaults', {}],
  [
    'enableOfflineQueue: false, commandTimeout: 50, maxRetriesPerRequest: 0',
    { enableOfflineQueue: false, commandTimeout: 50, maxRetriesPerRequest: 0 },
  ],
];

let cleanup: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

async function setup(
  onStoreError: OnStoreError,
  capacity: number,
  clientOptions: RedisOptions,
  server?: RedisServer,
) {
  const redis = server ?? (await RedisServer.start());
  cleanup.push(() => redis.stop());
  const client = new Redis({ host: '127.0.0.1', port: redis.port, ...clientOptions });
  client.on('error', () => {}); // refused reconnects are expected here
  cleanup.push(() => client.disconnect());
  const store = redisRateLimitStore({ client, prefix, timeoutMs, onStoreError });
  cleanup.push(() => store.close());
  const events: RedisStoreEvent[] = [];
  store.on((e) => events.push(e));
  const limiter = tokenBucket({ capacity, refillPerSecond: 0.001, store });
  const count = (type: string) => events.filter((e) => e.type === type).length;
  return { server: redis, client, store, events, count, limiter };
}

interface Timed {
  value?: Decision;
  error?: unknown;
  ms: number;
}

async function timed(take: () => Promise<Decision>): Promise<Timed> {
  const started = performance.now();
  const outcome = await take().then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  return { ...outcome, ms: performance.now() - started };
}

/** 5 takes of `key` one after the other, then 20 at once on keys of their own. */
async function takesWhileAway(limiter: ReturnType<typeof tokenBucket>, key: string, crowd: string) {
  const sequential: Timed[] = [];
  for (let i = 0; i < 5; i++) sequential.push(await timed(() => limiter.take(key)));
  const concurrent = await Promise.all(
    Array.from({ length: 20 }, (_, i) => timed(() => limiter.take(`${crowd}:${i}`))),
  );
  return { sequential, all: [...sequential, ...concurrent] };
}

/** What each mode decides while Redis is away, for 5 takes of a bucket of 3. */
function expectMode(mode: OnStoreError, takes: Timed[]) {
  if (mode === 'deny') {
    for (const take of takes) {
      expect(take.error).toBeInstanceOf(StoreUnavailableError);
      expect(take.error).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    }
    return;
  }
  expect(takes.every((t) => t.error === undefined)).toBe(true);
  // 'local': a bucket in this process, full at the start of each outage, limits on its own.
  const expected =
    mode === 'local' ? [true, true, true, false, false] : [true, true, true, true, true];
  expect(takes.map((t) => t.value!.allowed)).toEqual(expected);
}

function expectWithinBound(takes: Timed[]) {
  const slowest = Math.max(...takes.map((t) => t.ms));
  expect(slowest, `slowest take ${slowest.toFixed(1)} ms`).toBeLessThan(bound);
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Redis is back: the store says so and a take lands in Redis' bucket again. */
async function expectBackOnRedis(
  ctx: Awaited<ReturnType<typeof setup>>,
  key: string,
  recoveries: number,
) {
  await until('the store to use Redis again', () => ctx.store.available);
  expect(ctx.count('store-recovered')).toBe(recoveries);
  expect(ctx.events.at(-1)).toMatchObject({
    type: 'store-recovered',
    store: 'redisRateLimitStore',
    downMs: expect.any(Number),
  });
  expect((await ctx.limiter.take(key)).allowed).toBe(true);
  expect(await redisCli(ctx.server.port, 'exists', `${prefix}{${key}}`)).toBe('1');
}

describe.each(clientSettings)('rate limits while Redis is away (%s)', (_name, clientOptions) => {
  it.each<OnStoreError>(['local', 'allow', 'deny'])(
    "'%s': decides within timeoutMs + 50 ms when Redis is killed or frozen, once per outage, and returns to Redis",
    async (mode) => {
      const ctx = await setup(mode, 3, clientOptions);
      const { server, store, count, limiter } = ctx;
      expect((await limiter.take('before')).allowed).toBe(true);

      await server.kill();
      const killed = await takesWhileAway(limiter, 'away', 'killed');
      expectWithinBound(killed.all);
      expectMode(mode, killed.sequential);
      expect(store.available).toBe(false);
      expect(count('store-error')).toBe(1);
      expect(ctx.events[0]).toMatchObject({
        type: 'store-error',
        store: 'redisRateLimitStore',
        operation: 'take',
        onStoreError: mode,
        key: 'away',
      });

      await server.start(); // same port, empty, no scripts loaded: NOSCRIPT, then EVAL
      await expectBackOnRedis(ctx, 'after-kill', 1);

      server.freeze();
      // The same key: the stand-in's bucket of the first outage ended with it.
      const frozen = await takesWhileAway(limiter, 'away', 'frozen');
      server.thaw();
      expectWithinBound(frozen.all);
      expectMode(mode, frozen.sequential);
      expect(count('store-error')).toBe(2);
      // The first take timed out; the late reply to it must not count as Redis answering now.
      await expectBackOnRedis(ctx, 'after-freeze', 2);
      expect(count('store-error')).toBe(2);
    },
    60_000,
  );

  it('decides every take of 20 loops within timeoutMs + 50 ms while Redis dies and comes back, and none fails', async () => {
    const { server, store, limiter } = await setup('local', 1_000_000, clientOptions);
    const slow: number[] = [];
    let decided = 0;
    let failed = 0;
    let running = true;
    const loop = async () => {
      while (running) {
        const take = await timed(() => limiter.take(`k${decided % 7}`));
        if (take.ms >= bound) slow.push(take.ms);
        if (take.error) failed++;
        else decided++;
        await sleep(5);
      }
    };
    const loops = Array.from({ length: 20 }, loop);
    await sleep(300);
    await server.kill();
    await sleep(700);
    await server.start();
    await until('the store to use Redis again', () => store.available);
    await sleep(300);
    running = false;
    await Promise.all(loops);
    expect(failed).toBe(0);
    expect(decided).toBeGreaterThan(100);
    expect(slow).toEqual([]);
  }, 60_000);

  it('decides within timeoutMs + 50 ms before Redis has ever answered, and uses Redis once it starts', async () => {
    const server = await RedisServer.start();
    await server.kill();
    const ctx = await setup('local', 3, clientOptions, server);
    const early = await takesWhileAway(ctx.limiter, 'early', 'early');
    expectWithinBound(early.all);
    expectMode('local', early.sequential);
    expect(ctx.count('store-error')).toBe(1);
    await server.start();
    await expectBackOnRedis(ctx, 'started', 1);
  }, 60_000);
});

describe('rate limits while Redis is away, through the policy', () => {
  it('relays the store events through rateLimit', async () => {
    const { server, store, limiter } = await setup('local', 3, {});
    const policy = rateLimit({ limiter });
    const events: PolicyEvent[] = [];
    policy.on((e) => events.push(e));
    expect(await policy.execute(() => 'ran', { key: 'k' })).toBe('ran');
    await server.kill();
    expect(await policy.execute(() => 'ran', { key: 'k' })).toBe('ran');
    expect(events).toMatchObject([
      { policy: 'rate-limit', type: 'store-error', store: 'redisRateLimitStore', key: 'k' },
    ]);
    await server.start();
    await until('the store to use Redis again', () => store.available);
    expect(events.at(-1)).toMatchObject({ policy: 'rate-limit', type: 'store-recovered' });
  }, 60_000);
});
