import { createServer, type Server, type Socket } from 'node:net';
import { isResilienceError, StoreUnavailableError } from '@bulwark/core';
import { idempotency } from '@bulwark/idempotency';
import { redisIdempotencyStore } from '@bulwark/redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeStoreContract } from '../packages/idempotency/test/store-contract.js';
import {
  deleteKeys,
  REDIS,
  redisHarness,
  sleep,
  uniqueName,
} from './fixtures/idempotency-helpers.js';

describeStoreContract('redisIdempotencyStore', redisHarness);

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

  it('passes other Redis errors on as StoreUnavailableError', async () => {
    const broken = new Proxy(client, {
      get(target, name, receiver) {
        if (name === 'evalsha') return () => Promise.reject(new Error('READONLY replica'));
        return Reflect.get(target, name, receiver);
      },
    });
    const policy = idempotency({ store: redisIdempotencyStore({ client: broken, prefix }) });
    let calls = 0;
    const error = await policy.run('readonly', 'fp', () => ++calls).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toMatch(/READONLY replica/);
    expect(calls).toBe(0);
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
    expect((error as Error).message).toMatch(/did not answer within 200 ms/);
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
