import { createServer, type Server, type Socket } from 'node:net';
import { isResilienceError, StoreUnavailableError } from '@bulwark/core';
import { idempotency } from '@bulwark/idempotency';
import { redisIdempotencyStore } from '@bulwark/redis';
import { Cluster, Redis, ReplyError } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeys, REDIS, sleep, uniqueName } from './fixtures/idempotency-helpers.js';
import { RedisCluster, redisCli } from './support/redis-server.js';

const DAY = 86_400_000;

describe('redisIdempotencyStore on a real Redis', () => {
  let client: Redis;
  let prefix: string;
  beforeAll(() => {
    client = new Redis(REDIS);
    prefix = `${uniqueName('idem')}:`;
  });
  afterAll(async () => {
    await deleteKeys(client, prefix);
    await client.quit();
  });

  it('keeps a record as one hash under prefix{key}, expiring with PEXPIRE', async () => {
    const store = redisIdempotencyStore({ client, prefix });
    const claim = await store.claim('order-1', 'fp', 5000, 60_000);
    expect(store.redisKey('order-1')).toBe(`${prefix}{order-1}`);
    expect(await client.type(`${prefix}{order-1}`)).toBe('hash');
    const pttl = await client.pttl(`${prefix}{order-1}`);
    expect(pttl).toBeGreaterThan(50_000);
    expect(pttl).toBeLessThanOrEqual(60_000);
    if (claim.status !== 'claimed') throw new Error('not claimed');
    await store.complete('order-1', claim.token, 'v1', DAY);
    expect(await client.pttl(`${prefix}{order-1}`)).toBeGreaterThan(DAY - 60_000);
  });

  it('falls back to EVAL when Redis answers NOSCRIPT', async () => {
    let evals = 0;
    const forgetful = new Proxy(client, {
      get(target, name, receiver) {
        if (name === 'evalsha') {
          return () => Promise.reject(new Error('NOSCRIPT No matching script. Please use EVAL.'));
        }
        if (name === 'eval') {
          return (...args: unknown[]) => {
            evals++;
            return (target.eval as (...a: unknown[]) => Promise<unknown>)(...args);
          };
        }
        return Reflect.get(target, name, receiver);
      },
    });
    const store = redisIdempotencyStore({ client: forgetful, prefix });
    const policy = idempotency({ store });
    expect(await policy.run('noscript', 'fp', () => 'ok')).toBe('ok');
    expect(await policy.run('noscript', 'fp', () => 'again')).toBe('ok');
    expect(evals).toBeGreaterThanOrEqual(3);
  });

  it('refuses with StoreUnavailableError when Redis cannot serve (READONLY)', async () => {
    const readonly: Error = new ReplyError('READONLY You cannot write against a replica');
    const broken = new Proxy(client, {
      get(target, name, receiver) {
        if (name === 'evalsha') return () => Promise.reject(readonly);
        return Reflect.get(target, name, receiver);
      },
    });
    const store = redisIdempotencyStore({ client: broken, prefix });
    const policy = idempotency({ store });
    let calls = 0;
    const error = await policy.run('readonly', 'fp', () => ++calls).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toMatch(
      /redisIdempotencyStore: Redis is unavailable \(claim\)/,
    );
    expect((error as Error).cause).toBe(readonly);
    expect(calls).toBe(0);
    expect(store.available).toBe(false);
    store.close();
  });

  it("passes Redis' own reply errors through, and stays available", async () => {
    const store = redisIdempotencyStore({ client, prefix });
    await client.set(store.redisKey('not-a-hash'), 'a string');
    const error = await store.claim('not-a-hash', 'fp', 5000, DAY).catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'ReplyError',
      message: expect.stringMatching(/WRONGTYPE/),
    });
    expect(store.available).toBe(true);
    expect((await store.claim('a-hash', 'fp', 5000, DAY)).status).toBe('claimed');
    store.close();
  });

  it('releases a claim that lands after the call timed out', async () => {
    const slow = new Proxy(client, {
      get(target, name, receiver) {
        if (name === 'evalsha') {
          return async (...args: unknown[]) => {
            await sleep(300);
            return (target.evalsha as (...a: unknown[]) => Promise<unknown>)(...args);
          };
        }
        return Reflect.get(target, name, receiver);
      },
    });
    const store = redisIdempotencyStore({ client: slow, prefix, timeoutMs: 50 });
    let calls = 0;
    const error = await idempotency({ store })
      .run('late', 'fp', () => ++calls)
      .catch((e: unknown) => e);
    expect(isResilienceError(error, 'STORE_UNAVAILABLE')).toBe(true);
    expect(calls).toBe(0);
    const direct = redisIdempotencyStore({ client, prefix });
    await expect.poll(() => client.exists(direct.redisKey('late')), { timeout: 5000 }).toBe(0);
  });

  it('validates its options', () => {
    expect(() => redisIdempotencyStore({ client: {} as never })).toThrow(
      'redisIdempotencyStore: client must be an ioredis Redis or Cluster client',
    );
    expect(() => redisIdempotencyStore({ client, timeoutMs: 0 })).toThrow(RangeError);
    expect(() => redisIdempotencyStore({ client, prefix: 3 as never })).toThrow(TypeError);
    expect(() => redisIdempotencyStore({ client, ttl: 1 } as never)).toThrow(
      /unknown option "ttl"/,
    );
    expect(() => redisIdempotencyStore({ client, timeout: 100 } as never)).toThrow(
      /unknown option "timeout" \(did you mean timeoutMs\?\)/,
    );
    expect(() => redisIdempotencyStore({ client, prefix: 'a{b}:' })).toThrow(RangeError);
    expect(() => redisIdempotencyStore({ client, clock: {} as never })).toThrow(/clock/);
  });
});

describe('redisIdempotencyStore when Redis does not answer', () => {
  let server: Server;
  let port: number;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    // Accepts connections and never answers: a Redis that hangs.
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('fails with StoreUnavailableError after timeoutMs and does not run fn', async () => {
    const silent = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: null });
    const policy = idempotency({
      store: redisIdempotencyStore({ client: silent, prefix: 'never:', timeoutMs: 200 }),
    });
    let calls = 0;
    const error = await policy.run('k', 'fp', () => ++calls).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(((error as Error).cause as Error).message).toBe(
      'redisIdempotencyStore: connect did not answer within 200 ms',
    );
    expect(calls).toBe(0);
    silent.disconnect();
  });

  it('fails with StoreUnavailableError when nothing listens', async () => {
    const nowhere = new Redis({
      host: '127.0.0.1',
      port: 1,
      maxRetriesPerRequest: null,
      retryStrategy: () => 50,
    });
    nowhere.on('error', () => {});
    const policy = idempotency({
      store: redisIdempotencyStore({ client: nowhere, timeoutMs: 200 }),
    });
    let calls = 0;
    await expect(policy.run('k', 'fp', () => ++calls)).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
    expect(calls).toBe(0);
    nowhere.disconnect();
  });
});

describe('redisIdempotencyStore on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let client: Cluster;
  beforeAll(async () => {
    cluster = await RedisCluster.start(3);
    client = new Cluster(cluster.startupNodes);
  });
  afterAll(async () => {
    await client?.quit();
    await cluster?.stop();
  });

  it('spreads records over the masters, and keeps keys with braces apart', async () => {
    const store = redisIdempotencyStore({ client, prefix: 'spread:' });
    const policy = idempotency({ store });
    const keys = Array.from({ length: 30 }, (_, i) => `order-${i}`).concat(['a{b}c', '{}', '%7B']);
    for (const key of keys) await policy.run(key, 'fp', () => key);
    const holders = new Set<number>();
    for (const node of cluster.nodes) {
      const count = Number(await redisCli(node.port, 'dbsize'));
      if (count > 0) holders.add(node.port);
    }
    expect(holders.size).toBe(3);
    for (const key of keys) {
      expect(await client.type(store.redisKey(key))).toBe('hash');
      await expect(policy.run(key, 'fp', () => 'again')).resolves.toBe(key);
    }
    store.close();
  });
});
