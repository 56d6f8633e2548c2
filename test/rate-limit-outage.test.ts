import { type PolicyEvent, StoreUnavailableError } from '@bulwark/core';
import { type Decision, rateLimit, type StoreEvent, tokenBucket } from '@bulwark/rate-limit';
import { type OnStoreError, redisRateLimitStore } from '@bulwark/redis';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisServer, redisCli } from './support/redis-server.js';

// A Redis of this test's own on a free port, killed, frozen and restarted mid-run; the shared
// one on 6379 is never touched.
const timeoutMs = 200;
// What "within timeoutMs" may stretch to on a loaded machine; Redis stays away far longer.
const bound = timeoutMs + 1_500;
const prefix = 'rl:';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let cleanup: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

async function setup(onStoreError: OnStoreError, capacity: number) {
  const server = await RedisServer.start();
  cleanup.push(() => server.stop());
  const client = new Redis({ host: '127.0.0.1', port: server.port });
  client.on('error', () => {}); // refused reconnects are expected here
  cleanup.push(() => client.disconnect());
  const store = redisRateLimitStore({ client, prefix, timeoutMs, onStoreError });
  const storeEvents: StoreEvent[] = [];
  store.on((e) => storeEvents.push(e));
  const limiter = tokenBucket({ capacity, refillPerSecond: 0.001, store });
  return { server, client, store, storeEvents, limiter };
}

async function timed<T>(promise: Promise<T>) {
  const started = performance.now();
  const outcome = await promise.then(
    (value) => ({ value, error: undefined }),
    (error: unknown) => ({ value: undefined, error }),
  );
  return { ...outcome, ms: performance.now() - started };
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('rate limits while Redis is away', () => {
  it("'local': a local limiter takes over within timeoutMs, then Redis again once it is back", async () => {
    const { server, store, storeEvents, limiter } = await setup('local', 3);
    const policy = rateLimit({ limiter });
    const policyEvents: PolicyEvent[] = [];
    policy.on((e) => policyEvents.push(e));
    await policy.execute(() => 1, { key: 'k' });
    expect(await redisCli(server.port, 'exists', `${prefix}{k}`)).toBe('1');

    await server.kill();
    const during: Decision[] = [];
    for (let i = 0; i < 5; i++) {
      const take = await timed(limiter.take('k'));
      expect(take.ms).toBeLessThan(bound);
      during.push(take.value!);
    }
    // The local bucket starts full and limits on its own: 3 of 5.
    expect(during.map((d) => d.allowed)).toEqual([true, true, true, false, false]);
    expect(store.available).toBe(false);
    expect(storeEvents[0]).toMatchObject({ type: 'store-error', key: 'k', onStoreError: 'local' });
    expect(policyEvents).toContainEqual(
      expect.objectContaining({ policy: 'rate-limit', type: 'store-error', key: 'k' }),
    );

    await server.start(); // same port, empty, no scripts loaded: NOSCRIPT, then EVAL
    await until('the store to use Redis again', async () => {
      await limiter.take('probe');
      return store.available;
    });
    expect(storeEvents.at(-1)).toMatchObject({ type: 'store-recovered' });
    expect(policyEvents.at(-1)).toMatchObject({ policy: 'rate-limit', type: 'store-recovered' });
    // Redis came back empty: its bucket for k is full, and the take lands there.
    expect((await limiter.take('k')).allowed).toBe(true);
    expect(await redisCli(server.port, 'exists', `${prefix}{k}`)).toBe('1');
  }, 60_000);

  it("'allow': admits every call while Redis is down, each within timeoutMs", async () => {
    const { server, limiter, storeEvents } = await setup('allow', 1);
    expect((await limiter.take('k')).allowed).toBe(true);
    await server.kill();
    for (let i = 0; i < 5; i++) {
      const take = await timed(limiter.take('k'));
      expect(take.ms).toBeLessThan(bound);
      expect(take.value?.allowed).toBe(true);
    }
    expect(storeEvents[0]).toMatchObject({ type: 'store-error', onStoreError: 'allow' });
  }, 60_000);

  it("'deny': rejects every call with StoreUnavailableError while Redis is down, each within timeoutMs", async () => {
    const { server, limiter } = await setup('deny', 10);
    const policy = rateLimit({ limiter });
    expect(await policy.execute(() => 'ran', { key: 'k' })).toBe('ran');
    await server.kill();
    for (let i = 0; i < 3; i++) {
      const call = await timed(policy.execute(() => 'ran', { key: 'k' }));
      expect(call.ms).toBeLessThan(bound);
      expect(call.error).toBeInstanceOf(StoreUnavailableError);
      expect(call.error).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    }
  }, 60_000);

  it('decides every take in flight when Redis dies mid-run within timeoutMs, and none fails', async () => {
    const { server, store, limiter } = await setup('local', 1_000_000);
    let slowest = 0;
    let decided = 0;
    let failed = 0;
    let running = true;
    const loop = async () => {
      while (running) {
        const take = await timed(limiter.take(`k${decided % 7}`));
        slowest = Math.max(slowest, take.ms);
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
    expect(slowest).toBeLessThan(bound);
  }, 60_000);

  it('gives up on a Redis that stops answering but keeps the connection open, after timeoutMs', async () => {
    const { server, store, limiter } = await setup('local', 3);
    expect((await limiter.take('k')).allowed).toBe(true);
    server.freeze();
    const take = await timed(limiter.take('k'));
    expect(take.ms).toBeGreaterThanOrEqual(timeoutMs - 5);
    expect(take.ms).toBeLessThan(bound);
    expect(take.value?.allowed).toBe(true); // decided by the local limiter
    expect(store.available).toBe(false);
    server.thaw();
    await until('the store to use Redis again', async () => {
      await limiter.take('probe');
      return store.available;
    });
    // Back on Redis' bucket: 1 taken before the freeze, maybe 1 by the late command, 3 in all.
    const after: boolean[] = [];
    for (let i = 0; i < 3; i++) after.push((await limiter.take('k')).allowed);
    expect(after.filter(Boolean).length).toBeLessThanOrEqual(2);
    expect(after[2]).toBe(false);
  }, 60_000);
});
