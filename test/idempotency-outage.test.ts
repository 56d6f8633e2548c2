/**
 * redisIdempotencyStore against a private Redis that is killed, frozen (SIGSTOP) and brought
 * back: every operation answers within timeoutMs + 50 ms with StoreUnavailableError, fn does
 * not run, the outage is reported once, and the same client works again afterwards — with
 * ioredis defaults and with each client setting a user might reach for.
 */
import { StoreUnavailableError } from '@bulwark/core';
import { idempotency } from '@bulwark/idempotency';
import {
  type RedisIdempotencyStore,
  type RedisStoreEvent,
  redisIdempotencyStore,
} from '@bulwark/redis';
import express from 'express';
import { Redis, type RedisOptions } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expressHarness } from '../packages/express/test/harness.js';
import { fastifyHarness } from '../packages/fastify/test/harness.js';
import { call } from '../packages/http/test/conformance/harness.js';
import { sleep } from './fixtures/idempotency-helpers.js';
import { RedisServer } from './support/redis-server.js';

const TIMEOUT_MS = 200;
// What the issue promises; measured from the call to its settling, on the wall clock.
const BOUND_MS = TIMEOUT_MS + 50;
// Long enough that a claim left behind would still hold its key when the test looks.
const LEASE_MS = 30_000;
const DAY = 86_400_000;

const settings: Array<[string, RedisOptions]> = [
  ['ioredis defaults', {}],
  ['enableOfflineQueue: false', { enableOfflineQueue: false }],
  ['commandTimeout: 50', { commandTimeout: 50 }],
  ['maxRetriesPerRequest: 0', { maxRetriesPerRequest: 0 }],
];

interface Outcome {
  name: string;
  error: unknown;
  ms: number;
}

async function timed(name: string, operation: () => PromiseLike<unknown>): Promise<Outcome> {
  const start = performance.now();
  const error = await operation().then(
    () => undefined,
    (e: unknown) => e,
  );
  return { name, error, ms: performance.now() - start };
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe.each(settings)('redisIdempotencyStore under faults, %s', (_name, clientOptions) => {
  let server: RedisServer;
  let client: Redis;
  let store: RedisIdempotencyStore;
  let events: RedisStoreEvent[];
  let calls: number;
  const fn = () => ++calls;

  beforeEach(async () => {
    server = await RedisServer.start();
    client = new Redis({ host: '127.0.0.1', port: server.port, ...clientOptions });
    client.on('error', () => {}); // refused reconnects are expected here
    store = redisIdempotencyStore({ client, prefix: 'outage:', timeoutMs: TIMEOUT_MS });
    events = [];
    store.on((event) => events.push(event));
    calls = 0;
  });
  afterEach(async () => {
    store.close();
    client.disconnect();
    server.thaw();
    await server.stop();
  });

  /** Every operation of the store, and the policy's run, each timed. */
  async function everyOperation(token: number): Promise<Outcome[]> {
    const policy = idempotency({ store, leaseMs: LEASE_MS });
    return Promise.all([
      timed('claim', () => store.claim('fresh', 'fp', LEASE_MS, DAY)),
      timed('renew', () => store.renew('held', token, LEASE_MS, DAY)),
      timed('complete', () => store.complete('held', token, 'v1', DAY)),
      timed('release', () => store.release('held', token)),
      timed('get', () => store.get('held')),
      timed('delete', () => store.delete('other')),
      timed('run', () => policy.run('run', 'fp', fn)),
    ]);
  }

  function expectRefusedInTime(outcomes: Outcome[]): void {
    for (const { name, error, ms } of outcomes) {
      expect(error, name).toBeInstanceOf(StoreUnavailableError);
      expect(ms, name).toBeLessThanOrEqual(BOUND_MS);
    }
    expect(calls).toBe(0);
  }

  async function holdKey(): Promise<number> {
    const claim = await store.claim('held', 'fp', LEASE_MS, DAY);
    if (claim.status !== 'claimed') throw new Error(`not claimed: ${claim.status}`);
    return claim.token;
  }

  function expectOneOutageReported(): void {
    expect(events.filter((e) => e.type === 'store-error')).toEqual([
      expect.objectContaining({
        type: 'store-error',
        store: 'redisIdempotencyStore',
        onStoreError: 'refuse',
        operation: expect.any(String),
      }),
    ]);
  }

  async function expectBackOnTheSameClient(): Promise<void> {
    await until('the store to find Redis again', () => store.available);
    expect(events.filter((e) => e.type === 'store-recovered')).toEqual([
      { type: 'store-recovered', store: 'redisIdempotencyStore', downMs: expect.any(Number) },
    ]);
    // No claim sent during the outage holds its key, whether Redis ran it late or never.
    for (const key of ['fresh', 'run']) {
      expect((await store.claim(key, 'fp', LEASE_MS, DAY)).status, key).toBe('claimed');
    }
    const policy = idempotency({ store, leaseMs: LEASE_MS });
    await expect(policy.run('after', 'fp', fn)).resolves.toBe(1);
    await expect(policy.run('after', 'fp', fn)).resolves.toBe(1);
    expect(calls).toBe(1);
  }

  it('refuses every operation within timeoutMs + 50 ms while Redis is killed, then works again', async () => {
    const token = await holdKey();
    await server.kill();
    expectRefusedInTime(await everyOperation(token));
    // Down now: the same again fails fast.
    expectRefusedInTime(await everyOperation(token));
    expectOneOutageReported();
    await server.start();
    await expectBackOnTheSameClient();
    expectOneOutageReported();
  });

  it('refuses every operation within timeoutMs + 50 ms while Redis is frozen, then works again', async () => {
    const token = await holdKey();
    server.freeze();
    expectRefusedInTime(await everyOperation(token));
    expectRefusedInTime(await everyOperation(token));
    expectOneOutageReported();
    server.thaw();
    await expectBackOnTheSameClient();
  });

  it('frees a claim that timed out while Redis was frozen and ran after the thaw', async () => {
    await holdKey(); // connected, and Redis has answered once
    server.freeze();
    const late = await timed('claim', () => store.claim('late', 'fp', LEASE_MS, DAY));
    expect(late.error).toBeInstanceOf(StoreUnavailableError);
    server.thaw();
    await until('the store to find Redis again', () => store.available);
    // Redis did run the claim after the thaw; had it stayed, this would be 'in-progress'.
    expect(await store.claim('late', 'fp', LEASE_MS, DAY)).toEqual({
      status: 'claimed',
      token: expect.any(Number),
      takeover: false,
    });
  });
});

describe('redisIdempotencyStore over several outages', () => {
  it('reports each outage once, and each recovery', async () => {
    const server = await RedisServer.start();
    const client = new Redis({ host: '127.0.0.1', port: server.port });
    client.on('error', () => {});
    const store = redisIdempotencyStore({ client, prefix: 'outages:', timeoutMs: TIMEOUT_MS });
    const types: string[] = [];
    store.on((event) => types.push(event.type));
    try {
      await store.get('k');
      for (let outage = 0; outage < 2; outage++) {
        server.freeze();
        for (let i = 0; i < 3; i++) {
          await expect(store.get('k')).rejects.toBeInstanceOf(StoreUnavailableError);
        }
        server.thaw();
        await until('the store to find Redis again', () => store.available);
        await expect(store.get('k')).resolves.toBeUndefined();
      }
      expect(types).toEqual(['store-error', 'store-recovered', 'store-error', 'store-recovered']);
    } finally {
      store.close();
      client.disconnect();
      server.thaw();
      await server.stop();
    }
  });
});

describe.each([expressHarness('Express 5', express), fastifyHarness()])(
  'the idempotency middleware of $name while Redis is away',
  (harness) => {
    it('answers 503 STORE_UNAVAILABLE without running the route, and 201 once Redis is back', async () => {
      const server = await RedisServer.start();
      const client = new Redis({ host: '127.0.0.1', port: server.port });
      client.on('error', () => {});
      const store = redisIdempotencyStore({ client, prefix: 'http:', timeoutMs: TIMEOUT_MS });
      let runs = 0;
      const app = await harness.start({
        routes: [
          {
            method: 'POST',
            path: '/orders',
            idempotency: { store },
            handler: () => ({ status: 201, body: { id: ++runs } }),
          },
        ],
      });
      const post = (key: string) =>
        call(`${app.url}/orders`, {
          method: 'POST',
          headers: { 'idempotency-key': key },
          body: { amount: 10 },
        });
      try {
        expect((await post('before')).status).toBe(201);
        await server.kill();
        const refused = await post('during');
        expect(refused.status).toBe(503);
        expect(refused.json).toMatchObject({ code: 'STORE_UNAVAILABLE' });
        expect(runs).toBe(1);
        await server.start();
        await until('the store to find Redis again', () => store.available);
        expect((await post('during')).status).toBe(201);
        expect(runs).toBe(2);
      } finally {
        await app.close();
        store.close();
        client.disconnect();
        await server.stop();
      }
    });
  },
);
