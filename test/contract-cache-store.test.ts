import { type CacheEntry, type CacheStore, cacheAside, memoryCacheStore } from '@bulwark/cache';
import { redisCacheStore } from '@bulwark/redis';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deletePrefix, REDIS_URL, redisIsUp, uniquePrefix } from './fixtures/cache-redis.js';
import { RedisCluster } from './support/redis-server.js';

// The CacheStore contract, the same for every store: memory, a single Redis, a Redis Cluster.
// Times are real (Redis keeps freshness on its own clock), so windows are short and slack.

const up = await redisIsUp();
if (!up) console.warn('Redis is not reachable at', REDIS_URL, ': the Redis stores are skipped');

// The contract is not about timeouts: room for a loaded 2-core machine (the fault suites test them).
const LOADED_MS = 2_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const now = () => Date.now();

interface Backend {
  readonly name: string;
  readonly redis: boolean;
  /** A store of its own (a fresh prefix on Redis). */
  make(): CacheStore;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function memoryBackend(): Backend {
  return {
    name: 'memoryCacheStore',
    redis: false,
    make: () => memoryCacheStore(),
    start: async () => {},
    stop: async () => {},
  };
}

function redisBackend(): Backend {
  let client: Redis;
  const prefixes: string[] = [];
  return {
    name: 'redisCacheStore on one Redis',
    redis: true,
    make() {
      const prefix = uniquePrefix('contract');
      prefixes.push(prefix);
      return redisCacheStore({ client, prefix, timeoutMs: LOADED_MS });
    },
    async start() {
      client = new Redis(REDIS_URL);
    },
    async stop() {
      for (const prefix of prefixes) await deletePrefix(client, prefix);
      await client.quit();
    },
  };
}

function clusterBackend(): Backend {
  let cluster: RedisCluster;
  let client: Cluster;
  return {
    name: 'redisCacheStore on a Redis Cluster',
    redis: true,
    make: () => redisCacheStore({ client, prefix: uniquePrefix('contract'), timeoutMs: LOADED_MS }),
    async start() {
      cluster = await RedisCluster.start(3);
      client = new Cluster(cluster.startupNodes);
    },
    async stop() {
      await client?.quit();
      await cluster?.stop();
    },
  };
}

const backends = [memoryBackend(), ...(up ? [redisBackend(), clusterBackend()] : [])];

const entry = (value: unknown, ttlMs: number, keepMs = 0, tags?: string[]): CacheEntry => {
  const t = now();
  return { value, expiresAt: t + ttlMs, staleUntil: t + ttlMs + keepMs, tags };
};

describe.each(backends)('CacheStore contract: $name', (backend) => {
  beforeAll(() => backend.start(), 60_000);
  afterAll(() => backend.stop(), 30_000);

  it('reads nothing for a key never set', async () => {
    expect(await backend.make().get('absent', now())).toBeUndefined();
  });

  it('reads back what was set, with its tags', async () => {
    const store = backend.make();
    await store.set('a', entry({ n: 1, s: ['x'] }, 60_000, 0, ['t1', 't2']), now());
    const got = await store.get('a', now());
    expect(got?.value).toEqual({ n: 1, s: ['x'] });
    expect(got?.tags).toEqual(['t1', 't2']);
    expect(got!.expiresAt).toBeGreaterThan(now());
  });

  it('replaces an entry on set, tags included', async () => {
    const store = backend.make();
    await store.set('a', entry(1, 60_000, 0, ['old']), now());
    await store.set('a', entry(2, 60_000), now());
    const got = await store.get('a', now());
    expect(got?.value).toBe(2);
    expect(got?.tags ?? []).toEqual([]);
  });

  it('deletes an entry', async () => {
    const store = backend.make();
    await store.set('a', entry(1, 60_000), now());
    await store.delete('a');
    expect(await store.get('a', now())).toBeUndefined();
  });

  it('keeps undefined as a value (negative caching)', async () => {
    const store = backend.make();
    await store.set('a', entry(undefined, 60_000), now());
    const got = await store.get('a', now());
    expect(got).toBeDefined();
    expect(got?.value).toBeUndefined();
  });

  it('keeps an entry without expiry when its times are Infinity', async () => {
    const store = backend.make();
    const inf = Number.POSITIVE_INFINITY;
    await store.set('a', { value: 1, expiresAt: inf, staleUntil: inf }, now());
    const got = await store.get('a', now());
    expect(got?.expiresAt).toBe(inf);
    expect(got?.staleUntil).toBe(inf);
  });

  it('keeps an entry that expires but stays for stale reads forever', async () => {
    const store = backend.make();
    const t = now();
    await store.set('a', { value: 1, expiresAt: t - 5, staleUntil: Number.POSITIVE_INFINITY }, t);
    const got = await store.get('a', now());
    expect(got?.value).toBe(1);
    expect(got!.expiresAt).toBeLessThanOrEqual(now());
    expect(got?.staleUntil).toBe(Number.POSITIVE_INFINITY);
  });

  it('serves an entry past expiresAt until staleUntil, then drops it', async () => {
    const store = backend.make();
    await store.set('a', entry('v', 200, 800), now());
    const fresh = await store.get('a', now());
    expect(fresh?.value).toBe('v');
    expect(now()).toBeLessThan(fresh!.expiresAt);
    await sleep(400);
    const t = now();
    const stale = await store.get('a', t);
    expect(stale?.value).toBe('v');
    expect(t).toBeGreaterThanOrEqual(stale!.expiresAt);
    expect(t).toBeLessThan(stale!.staleUntil);
    await sleep(800);
    expect(await store.get('a', now())).toBeUndefined();
  });

  it('drops an entry set with a staleUntil already past', async () => {
    const store = backend.make();
    await store.set('a', entry(1, 60_000), now());
    const t = now();
    await store.set('a', { value: 2, expiresAt: t - 10, staleUntil: t - 1 }, t);
    expect(await store.get('a', now())).toBeUndefined();
  });

  it('deletes every entry of a tag, on every slot, and keeps the rest', async () => {
    const store = backend.make();
    const keys = Array.from({ length: 20 }, (_, i) => `user:${i}`);
    for (const key of keys) await store.set(key, entry(key, 60_000, 0, ['users']), now());
    await store.set('other', entry('o', 60_000, 0, ['teams']), now());
    await store.set('plain', entry('p', 60_000), now());
    await store.set('retagged', entry('r1', 60_000, 0, ['users']), now());
    await store.set('retagged', entry('r2', 60_000, 0, ['teams']), now());
    await store.deleteByTag('users');
    for (const key of keys) expect(await store.get(key, now())).toBeUndefined();
    expect((await store.get('other', now()))?.value).toBe('o');
    expect((await store.get('plain', now()))?.value).toBe('p');
    expect((await store.get('retagged', now()))?.value).toBe('r2');
  });

  it('drops an entry tagged again after an invalidation on the next one', async () => {
    const store = backend.make();
    await store.set('a', entry(1, 60_000, 0, ['t']), now());
    await store.deleteByTag('t');
    await store.set('a', entry(2, 60_000, 0, ['t']), now());
    expect((await store.get('a', now()))?.value).toBe(2);
    await store.deleteByTag('t');
    expect(await store.get('a', now())).toBeUndefined();
  });

  it('leaves no tagged entry out of its tag when writes race invalidations', async () => {
    const store = backend.make();
    const keys = Array.from({ length: 20 }, (_, i) => `race:${i}`);
    for (let round = 0; round < 30; round++) {
      await Promise.all([
        ...keys.map((key) => store.set(key, entry(round, 60_000, 0, ['t']), now())),
        store.deleteByTag('t'),
        store.deleteByTag('t'),
      ]);
    }
    // Whatever survived the races is still known to its tag: one more invalidation drops all.
    await store.deleteByTag('t');
    for (const key of keys) expect(await store.get(key, now())).toBeUndefined();
  });

  it('runs the loader once for three executes and drops every tagged key on invalidateTag', async () => {
    const cache = cacheAside({ ttlMs: 60_000, store: backend.make(), tags: ['users'] });
    const calls = new Map<string, number>();
    const loader = (key: string) => async () => {
      calls.set(key, (calls.get(key) ?? 0) + 1);
      return { key, n: calls.get(key) };
    };
    for (let i = 0; i < 3; i++) {
      expect(await cache.execute(loader('u1'), { key: 'u1' })).toEqual({ key: 'u1', n: 1 });
    }
    expect(calls.get('u1')).toBe(1);
    const keys = Array.from({ length: 12 }, (_, i) => `u${i}`);
    for (const key of keys) await cache.execute(loader(key), { key });
    await cache.invalidateTag('users');
    for (const key of keys) expect(await cache.get(key)).toBeUndefined();
    expect(await cache.execute(loader('u1'), { key: 'u1' })).toEqual({ key: 'u1', n: 2 });
  });

  // The fill lock is optional in the seam: memoryCacheStore has none, so it has no such tests.
  if (backend.redis)
    describe('fill lock', () => {
      const lockOf = (store: CacheStore) => store as Required<CacheStore>;

      it('gives the lock to one holder at a time until released', async () => {
        const store = lockOf(backend.make());
        const token = await store.acquireLock('k', 5_000);
        expect(token).toBeTypeOf('string');
        expect(await store.acquireLock('k', 5_000)).toBeUndefined();
        await store.releaseLock('k', 'not the token');
        expect(await store.acquireLock('k', 5_000)).toBeUndefined();
        await store.releaseLock('k', token!);
        expect(await store.acquireLock('k', 5_000)).toBeTypeOf('string');
      });

      it('frees the lock at the end of its lease', async () => {
        const store = lockOf(backend.make());
        expect(await store.acquireLock('k', 150)).toBeTypeOf('string');
        expect(await store.acquireLock('k', 150)).toBeUndefined();
        await sleep(400);
        expect(await store.acquireLock('k', 150)).toBeTypeOf('string');
      });

      it('keeps the locks of two keys apart', async () => {
        const store = lockOf(backend.make());
        expect(await store.acquireLock('a', 5_000)).toBeTypeOf('string');
        expect(await store.acquireLock('b', 5_000)).toBeTypeOf('string');
      });
    });
});
