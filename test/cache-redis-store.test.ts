import * as v8 from 'node:v8';
import { cacheAside, memoryCacheStore } from '@bulwark/cache';
import { redisCacheStore, redisInvalidationBus, tiered } from '@bulwark/redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deletePrefix, REDIS_URL, redisIsUp, uniquePrefix } from './fixtures/cache-redis.js';

const up = await redisIsUp();
if (!up)
  console.warn('Redis is not reachable at', REDIS_URL, ': the cache Redis tests are skipped');

describe.skipIf(!up)('redisCacheStore on a real Redis', () => {
  let client: Redis;
  let prefix: string;
  const prefixes: string[] = [];

  beforeAll(() => {
    client = new Redis(REDIS_URL);
  });
  beforeEach(() => {
    prefix = uniquePrefix('store');
    prefixes.push(prefix);
  });
  afterAll(async () => {
    for (const p of prefixes) await deletePrefix(client, p);
    await client.quit();
  });

  const now = () => Date.now();

  it('stores and reads back an entry, its times on the reader’s clock', async () => {
    const store = redisCacheStore({ client, prefix });
    const t = now();
    await store.set(
      'a',
      { value: { n: 1, s: 'x' }, expiresAt: t + 1_000, staleUntil: t + 2_000 },
      t,
    );
    const readAt = t + 500_000;
    const got = await store.get('a', readAt);
    expect(got?.value).toEqual({ n: 1, s: 'x' });
    expect(got?.tags).toBeUndefined();
    // What is left on Redis' clock, added to the reader's now: a little less than the TTL.
    expect(got!.expiresAt - readAt).toBeGreaterThan(500);
    expect(got!.expiresAt - readAt).toBeLessThanOrEqual(1_000);
    expect(got!.staleUntil - got!.expiresAt).toBeGreaterThanOrEqual(999);
    expect(got!.staleUntil - got!.expiresAt).toBeLessThanOrEqual(1_001);
  });

  it('keeps freshness on Redis’ clock: a writer a minute behind still writes a TTL of 1 s', async () => {
    const store = redisCacheStore({ client, prefix });
    const writer = now() - 60_000;
    await store.set(
      'a',
      { value: 1, expiresAt: writer + 1_000, staleUntil: writer + 1_000 },
      writer,
    );
    const t = now();
    const got = await store.get('a', t);
    expect(got?.value).toBe(1);
    expect(got!.expiresAt - t).toBeGreaterThan(500);
    await new Promise((r) => setTimeout(r, 1_100));
    expect(await store.get('a', now())).toBeUndefined();
  });

  it('names its keys prefix + v/l/t + {id}: an entry and its lock share a hash tag', () => {
    const store = redisCacheStore({ client, prefix });
    expect(store.entryKey('user:1')).toBe(`${prefix}v{user:1}`);
    expect(store.lockKey('user:1')).toBe(`${prefix}l{user:1}`);
    expect(store.tagKey('team')).toBe(`${prefix}t{team}`);
    expect(redisCacheStore({ client }).entryKey('k')).toBe('bulwark:cache:v{k}');
  });

  it('lets Redis expire the entry at the end of its stale window (PX)', async () => {
    const store = redisCacheStore({ client, prefix });
    const t = now();
    await store.set('a', { value: 1, expiresAt: t + 1_000, staleUntil: t + 5_000 }, t);
    const pttl = await client.pttl(store.entryKey('a'));
    expect(pttl).toBeGreaterThan(4_000);
    expect(pttl).toBeLessThanOrEqual(5_000);
  });

  it('keeps an entry without expiry when staleUntil is Infinity', async () => {
    const store = redisCacheStore({ client, prefix });
    const inf = Number.POSITIVE_INFINITY;
    await store.set('a', { value: 1, expiresAt: inf, staleUntil: inf }, now());
    expect(await client.pttl(store.entryKey('a'))).toBe(-1);
    expect((await store.get('a', now()))?.expiresAt).toBe(inf);
  });

  it('never returns an entry past its staleUntil (on Redis’ clock)', async () => {
    const store = redisCacheStore({ client, prefix });
    const t = now();
    await store.set('a', { value: 1, expiresAt: t + 50, staleUntil: t + 100 }, t);
    await new Promise((r) => setTimeout(r, 150));
    expect(await store.get('a', t)).toBeUndefined();
  });

  it('round-trips undefined (negative caching)', async () => {
    const store = redisCacheStore({ client, prefix });
    const t = now();
    await store.set('a', { value: undefined, expiresAt: t + 1_000, staleUntil: t + 1_000 }, t);
    const got = await store.get('a', t);
    expect(got).toBeDefined();
    expect(got?.value).toBeUndefined();
  });

  it('deletes every entry of a tag, keeping keys set again without it', async () => {
    const store = redisCacheStore({ client, prefix });
    const t = now();
    const e = (value: unknown, tags?: string[]) => ({
      value,
      expiresAt: t + 60_000,
      staleUntil: t + 60_000,
      tags,
    });
    await store.set('a', e(1, ['team:red']), t);
    await store.set('b', e(2, ['team:red', 'x']), t);
    await store.set('c', e(3, ['team:blue']), t);
    await store.set('d', e(4, ['team:red']), t);
    await store.set('d', e(5), t);
    await store.deleteByTag('team:red');
    expect(await store.get('a', t)).toBeUndefined();
    expect(await store.get('b', t)).toBeUndefined();
    expect((await store.get('c', t))?.value).toBe(3);
    expect((await store.get('d', t))?.value).toBe(5);
    expect(await client.exists(store.tagKey('team:red'))).toBe(0);
  });

  it('lets a tag set live as long as its longest-lived member', async () => {
    const store = redisCacheStore({ client, prefix });
    const t = now();
    await store.set(
      'a',
      { value: 1, expiresAt: t + 50_000, staleUntil: t + 50_000, tags: ['t'] },
      t,
    );
    await store.set('b', { value: 1, expiresAt: t + 5_000, staleUntil: t + 5_000, tags: ['t'] }, t);
    expect(await client.pttl(store.tagKey('t'))).toBeGreaterThan(40_000);
  });

  it.each([
    [
      'a cycle',
      (() => {
        const o: Record<string, unknown> = {};
        o.self = o;
        return o;
      })(),
      /circular/i,
    ],
    ['a BigInt', { n: 1n }, /bigint cannot be encoded as JSON/],
    ['a function', { f: () => 1 }, /function cannot be encoded as JSON/],
    ['a symbol', [Symbol('s')], /symbol cannot be encoded as JSON/],
  ])(
    'refuses %s with a TypeError and leaves the older value untouched',
    async (_, value, reason) => {
      const store = redisCacheStore({ client, prefix });
      const t = now();
      await store.set(
        'a',
        { value: 'old', expiresAt: t + 10_000, staleUntil: t + 10_000, tags: ['t'] },
        t,
      );
      const error = await store
        .set('a', { value, expiresAt: t + 10_000, staleUntil: t + 10_000, tags: ['u'] }, t)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(
        /redisCacheStore.set: cannot serialize the value of key "a"/,
      );
      expect((error as Error).message).toMatch(reason);
      expect((await store.get('a', t))?.value).toBe('old');
      expect(await client.exists(store.tagKey('u'))).toBe(0);
    },
  );

  it('takes a pluggable serializer (v8: Maps, Dates, BigInt)', async () => {
    const store = redisCacheStore({
      client,
      prefix,
      serializer: { serialize: v8.serialize, deserialize: v8.deserialize },
    });
    const t = now();
    const value = { when: new Date(0), map: new Map([['k', 1n]]) };
    await store.set('a', { value, expiresAt: t + 1_000, staleUntil: t + 1_000 }, t);
    expect((await store.get('a', t))?.value).toEqual(value);
  });

  it('gives the fill lock to one holder at a time, for its lease', async () => {
    const store = redisCacheStore({ client, prefix });
    const token = await store.acquireLock('k', 5_000);
    expect(token).toBeTypeOf('string');
    expect(await store.acquireLock('k', 5_000)).toBeUndefined();
    const pttl = await client.pttl(store.lockKey('k'));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(5_000);
    await store.releaseLock('k', 'not the token');
    expect(await store.acquireLock('k', 5_000)).toBeUndefined();
    await store.releaseLock('k', token!);
    expect(await store.acquireLock('k', 5_000)).toBeTypeOf('string');
  });

  it('rejects bad keys and options with clear errors', async () => {
    expect(() => redisCacheStore({ client, prefix: '' })).toThrow(
      'redisCacheStore: prefix must be a non-empty string, got ""',
    );
    expect(() => redisCacheStore({ client: {} as never })).toThrow(
      /client must be an ioredis Redis or Cluster client/,
    );
    expect(redisCacheStore({ client, prefix, timeoutMs: 50 }).timeoutMs).toBe(50);
    expect(() => redisCacheStore({ client, timeout: 50 } as never)).toThrow(
      /redisCacheStore: unknown option "timeout" \(did you mean timeoutMs\?\)/,
    );
    const store = redisCacheStore({ client, prefix });
    await expect(store.get('', 0)).rejects.toThrow(
      'redisCacheStore.get: key must be a non-empty string, got ""',
    );
    await expect(
      store.set(7 as never, { value: 1, expiresAt: 1, staleUntil: 1 }, 0),
    ).rejects.toThrow(TypeError);
    await expect(store.acquireLock('k', 0)).rejects.toThrow(RangeError);
  });

  it('runs one loader for 10 000 concurrent misses of one key in one process', async () => {
    const store = redisCacheStore({ client, prefix, timeoutMs: 2_000 });
    const cache = cacheAside({ ttlMs: 60_000, store });
    let calls = 0;
    const loader = async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 50));
      return 'v';
    };
    const values = await Promise.all(
      Array.from({ length: 10_000 }, () => cache.execute(loader, { key: 'hot' })),
    );
    expect(calls).toBe(1);
    expect(new Set(values)).toEqual(new Set(['v']));
  });

  it('serves cacheAside from Redis with tags and invalidation', async () => {
    const store = redisCacheStore({ client, prefix });
    const cache = cacheAside({ ttlMs: 60_000, store, tags: ['users'] });
    let calls = 0;
    const loader = async () => ({ n: ++calls });
    expect(await cache.execute(loader, { key: 'u1' })).toEqual({ n: 1 });
    expect(await cache.execute(loader, { key: 'u1' })).toEqual({ n: 1 });
    await cache.invalidateTag('users');
    expect(await cache.execute(loader, { key: 'u1' })).toEqual({ n: 2 });
    await cache.invalidate('u1');
    expect(await cache.execute(loader, { key: 'u1' })).toEqual({ n: 3 });
  });

  it('rejects a loaded value Redis cannot encode, and stores nothing', async () => {
    const store = redisCacheStore({ client, prefix });
    const cache = cacheAside({ ttlMs: 60_000, store });
    await expect(cache.execute(async () => ({ id: 1n }), { key: 'big' })).rejects.toThrow(
      TypeError,
    );
    expect(await client.exists(store.entryKey('big'))).toBe(0);
  });
});

describe.skipIf(!up)('redisInvalidationBus on a real Redis', () => {
  it('takes timeoutMs and refuses option names it does not know', () => {
    const client = new Redis(REDIS_URL, { lazyConnect: true });
    expect(() => redisInvalidationBus({ client, timeout: 10 } as never)).toThrow(
      /redisInvalidationBus: unknown option "timeout" \(did you mean timeoutMs\?\)/,
    );
    expect(() => redisInvalidationBus({ client, timeoutMs: 0 })).toThrow(/timeoutMs/);
    client.disconnect();
  });

  it('subscribes on a duplicate connection: the given client still runs commands', async () => {
    const client = new Redis(REDIS_URL);
    const prefix = uniquePrefix('bus');
    const bus = redisInvalidationBus({ client, prefix });
    await bus.ready;
    expect(await client.set(`${prefix}probe`, '1')).toBe('OK');
    await client.del(`${prefix}probe`);
    await bus.close();
    await client.quit();
  });

  it('delivers to the other processes and not back to the publisher', async () => {
    const clientA = new Redis(REDIS_URL);
    const clientB = new Redis(REDIS_URL);
    const prefix = uniquePrefix('bus');
    const busA = redisInvalidationBus({ client: clientA, prefix });
    const busB = redisInvalidationBus({ client: clientB, prefix });
    await Promise.all([busA.ready, busB.ready]);
    const heardA: unknown[] = [];
    const heardB: unknown[] = [];
    const channelA = busA.subscribe((m) => heardA.push(m));
    let resolve!: () => void;
    const arrived = new Promise<void>((r) => {
      resolve = r;
    });
    busB.subscribe((m) => {
      heardB.push(m);
      resolve();
    });
    await channelA.publish({ keys: ['k1', 'k2'] });
    await arrived;
    // A round trip through Redis for A's own message is over well before this one.
    await clientA.ping();
    await new Promise((r) => setTimeout(r, 50));
    expect(heardB).toEqual([{ keys: ['k1', 'k2'] }]);
    expect(heardA).toEqual([]);
    await Promise.all([busA.close(), busB.close()]);
    await Promise.all([clientA.quit(), clientB.quit()]);
  });

  it('clears the memory tier when the bus reconnects, since messages may have been missed', async () => {
    const client = new Redis(REDIS_URL);
    const prefix = uniquePrefix('reset');
    const bus = redisInvalidationBus({ client, prefix });
    await bus.ready;
    const l1 = memoryCacheStore();
    const store = tiered(l1, redisCacheStore({ client, prefix }), { bus });
    const t = Date.now();
    await store.set('k', { value: 1, expiresAt: t + 60_000, staleUntil: t + 60_000 }, t);
    expect(l1.size).toBe(1);
    // Drops the subscribing connection; ioredis reconnects and resubscribes on its own.
    (bus as unknown as { subscriber: Redis }).subscriber.disconnect(true);
    const deadline = Date.now() + 10_000;
    while (l1.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(l1.size).toBe(0);
    store.close();
    await bus.close();
    await deletePrefix(client, prefix);
    await client.quit();
  });

  it('keeps a tiered l1 in step across two buses in one test process', async () => {
    const client = new Redis(REDIS_URL);
    const prefix = uniquePrefix('tiered');
    const remote = redisCacheStore({ client, prefix });
    const busA = redisInvalidationBus({ client, prefix });
    const busB = redisInvalidationBus({ client, prefix });
    await Promise.all([busA.ready, busB.ready]);
    const l1b = memoryCacheStore();
    const a = cacheAside({
      ttlMs: 60_000,
      store: tiered(memoryCacheStore(), remote, { bus: busA }),
    });
    const storeB = tiered(l1b, remote, { bus: busB });
    const b = cacheAside({ ttlMs: 60_000, store: storeB });
    expect(await b.execute(async () => 'v1', { key: 'k' })).toBe('v1');
    expect(l1b.size).toBe(1);
    await a.invalidate('k');
    const deadline = Date.now() + 5_000;
    while (l1b.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(l1b.size).toBe(0);
    expect(await b.execute(async () => 'v2', { key: 'k' })).toBe('v2');
    storeB.close();
    await Promise.all([busA.close(), busB.close()]);
    await deletePrefix(client, prefix);
    await client.quit();
  });
});
