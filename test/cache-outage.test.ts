import { createServer, type Server, type Socket } from 'node:net';
import { cacheAside, memoryCacheStore } from '@bulwark/cache';
import { StoreUnavailableError } from '@bulwark/core';
import {
  type RedisStoreEvent,
  redisCacheStore,
  redisInvalidationBus,
  tiered,
} from '@bulwark/redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, RedisServer } from './support/redis-server.js';

// cacheAside over a Redis that is not there, never answers, or stops answering: every miss
// is the loader's value within timeoutMs (+50 ms of slack for a loaded machine).

const TIMEOUT_MS = 100;
const BOUND_MS = TIMEOUT_MS + 50;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await run();
  return { value, ms: performance.now() - start };
}

/** Five misses of five keys through cacheAside; each one's value and duration. */
async function misses(client: Redis) {
  const store = redisCacheStore({ client, prefix: 'test:cache:outage:', timeoutMs: TIMEOUT_MS });
  const events: RedisStoreEvent[] = [];
  store.on((event) => events.push(event));
  const cache = cacheAside({ ttlMs: 60_000, store });
  const results: Array<{ value: unknown; ms: number }> = [];
  for (let i = 0; i < 5; i++) {
    results.push(await timed(() => cache.execute(async () => `loaded ${i}`, { key: `k${i}` })));
  }
  store.close();
  return { results, events };
}

/** A TCP server that accepts connections and never says a word. */
async function silentServer(): Promise<{ server: Server; port: number; close: () => void }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    server,
    port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

describe('cacheAside over redisCacheStore when Redis is away', () => {
  it('answers each miss with the loader’s value within timeoutMs at a closed port (ioredis defaults)', async () => {
    const client = new Redis({ port: await freePort() });
    client.on('error', () => {});
    const { results, events } = await misses(client);
    console.log(`closed port: misses took ${results.map((r) => r.ms.toFixed(0)).join(', ')} ms`);
    results.forEach((r, i) => {
      expect(r.value).toBe(`loaded ${i}`);
      expect(r.ms).toBeLessThanOrEqual(BOUND_MS);
    });
    expect(events[0]).toMatchObject({ type: 'store-error', onStoreError: 'miss' });
    client.disconnect();
  });

  it('answers each miss with the loader’s value within timeoutMs when Redis never answers', async () => {
    const silent = await silentServer();
    const client = new Redis({ port: silent.port });
    client.on('error', () => {});
    const { results } = await misses(client);
    console.log(`silent server: misses took ${results.map((r) => r.ms.toFixed(0)).join(', ')} ms`);
    results.forEach((r, i) => {
      expect(r.value).toBe(`loaded ${i}`);
      expect(r.ms).toBeLessThanOrEqual(BOUND_MS);
    });
    client.disconnect();
    silent.close();
  });

  describe('a private Redis that is frozen (SIGSTOP) and thawed', () => {
    let server: RedisServer;
    beforeAll(async () => {
      server = await RedisServer.start();
    });
    afterAll(async () => {
      await server.stop();
    });

    it('releases a fill lock whose acquire timed out once Redis answers again', async () => {
      const client = new Redis({ port: server.port });
      client.on('error', () => {});
      const store = redisCacheStore({ client, prefix: 'test:cache:late:', timeoutMs: TIMEOUT_MS });
      await client.ping();
      server.freeze();
      try {
        // Sent, then given up on: Redis takes it when thawed, for a lease of a minute.
        await expect(store.acquireLock('x', 60_000)).rejects.toThrow(StoreUnavailableError);
      } finally {
        server.thaw();
      }
      const deadline = Date.now() + 5_000;
      while (!store.available && Date.now() < deadline) await sleep(20);
      await sleep(200);
      expect(await client.exists(store.lockKey('x'))).toBe(0);
      store.close();
      await client.quit();
    });

    it('answers misses within timeoutMs while frozen, and caches in Redis again once thawed', async () => {
      const client = new Redis({ port: server.port });
      client.on('error', () => {});
      const store = redisCacheStore({ client, timeoutMs: TIMEOUT_MS });
      const events: RedisStoreEvent[] = [];
      store.on((event) => events.push(event));
      const cache = cacheAside({ ttlMs: 60_000, store });
      expect(await cache.execute(async () => 'before', { key: 'warm' })).toBe('before');
      server.freeze();
      try {
        for (let i = 0; i < 5; i++) {
          const r = await timed(() => cache.execute(async () => `frozen ${i}`, { key: `f${i}` }));
          expect(r.value).toBe(`frozen ${i}`);
          expect(r.ms).toBeLessThanOrEqual(BOUND_MS);
        }
        expect(store.available).toBe(false);
      } finally {
        server.thaw();
      }
      const deadline = Date.now() + 5_000;
      while (!store.available && Date.now() < deadline) await sleep(20);
      expect(store.available).toBe(true);
      expect(events.map((e) => e.type)).toEqual(['store-error', 'store-recovered']);
      let loads = 0;
      for (let i = 0; i < 3; i++) await cache.execute(async () => ++loads, { key: 'after' });
      expect(loads).toBe(1);
      // Locks whose acquire timed out while frozen are released once Redis is back.
      await sleep(200);
      let cursor = '0';
      const locks: string[] = [];
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', 'bulwark:cache:l*');
        cursor = next;
        locks.push(...keys);
      } while (cursor !== '0');
      expect(locks).toEqual([]);
      store.close();
      await client.quit();
    });
  });
});

describe('redisInvalidationBus when Redis is away', () => {
  it('rejects ready within timeoutMs and reports store-error, never an unhandled rejection', async () => {
    const client = new Redis({ port: await freePort(), lazyConnect: true });
    client.on('error', () => {});
    const bus = redisInvalidationBus({ client, timeoutMs: TIMEOUT_MS });
    const events: RedisStoreEvent[] = [];
    bus.on((event) => events.push(event));
    const start = performance.now();
    const error = await bus.ready.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toMatch(
      /could not subscribe .* within 100 ms; it keeps trying/,
    );
    expect(performance.now() - start).toBeLessThanOrEqual(BOUND_MS);
    expect(events).toMatchObject([
      { type: 'store-error', store: 'redisInvalidationBus', operation: 'subscribe' },
    ]);
    // A second bus nobody awaits: its rejection must not surface as unhandled (vitest fails on it).
    const unawaited = redisInvalidationBus({ client, timeoutMs: TIMEOUT_MS });
    await sleep(TIMEOUT_MS * 2);
    await Promise.all([bus.close(), unawaited.close()]);
    client.disconnect();
  });

  it('subscribes once connected with enableOfflineQueue: false, and resets memory tiers after a restart', async () => {
    const server = await RedisServer.start();
    try {
      const options = { port: server.port, enableOfflineQueue: false };
      const publisher = new Redis(options);
      const client = new Redis(options);
      for (const c of [publisher, client]) c.on('error', () => {});
      const bus = redisInvalidationBus({ client, timeoutMs: 2_000 });
      const other = redisInvalidationBus({ client: publisher, timeoutMs: 2_000 });
      const events: RedisStoreEvent[] = [];
      bus.on((event) => events.push(event));
      await Promise.all([bus.ready, other.ready]);
      const l1 = memoryCacheStore();
      const store = tiered(l1, redisCacheStore({ client }), { bus });
      const heard: unknown[] = [];
      bus.subscribe((m) => heard.push(m));
      await other.subscribe(() => {}).publish({ keys: ['k'] });
      let deadline = Date.now() + 5_000;
      while (heard.length === 0 && Date.now() < deadline) await sleep(10);
      expect(heard).toEqual([{ keys: ['k'] }]);
      const t = Date.now();
      await store.set('k', { value: 1, expiresAt: t + 60_000, staleUntil: t + 60_000 }, t);
      expect(l1.size).toBe(1);
      await server.kill();
      await sleep(300);
      await server.start();
      deadline = Date.now() + 10_000;
      while ((l1.size > 0 || !bus.available) && Date.now() < deadline) await sleep(20);
      expect(l1.size).toBe(0);
      expect(heard).toContainEqual({ reset: true });
      expect(events.map((e) => e.type)).toEqual(['store-error', 'store-recovered']);
      store.close();
      await Promise.all([bus.close(), other.close()]);
      publisher.disconnect();
      client.disconnect();
    } finally {
      await server.stop();
    }
  });
});
