/**
 * A process claims a key and is killed with SIGKILL in the middle of fn. Until its lease ends a
 * new caller gets IdempotencyInProgressError; then fn runs again under a higher token, and the
 * dead owner's token can no longer complete.
 */
import { once } from 'node:events';
import { IdempotencyInProgressError } from '@bulwark/core';
import { type IdempotencyStore, idempotency } from '@bulwark/idempotency';
import { postgresIdempotencyStore } from '@bulwark/postgres';
import { redisIdempotencyStore } from '@bulwark/redis';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  deleteKeys,
  PG,
  REDIS,
  sleep,
  startWorker,
  uniqueName,
} from './fixtures/idempotency-helpers.js';

// Long enough that no stall of a loaded machine ends it between the kill and the next call.
const LEASE_MS = 3000;

async function crashThenRecover(store: IdempotencyStore, config: Record<string, unknown>) {
  const key = 'order-7';
  const fingerprint = 'fp-7';
  const { child, first } = await startWorker<{ claimed: number }>({
    ...config,
    mode: 'crash',
    key,
    fingerprint,
    leaseMs: LEASE_MS,
    timeoutMs: 5000,
  });
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;

  const policy = idempotency({ store, leaseMs: LEASE_MS });
  let calls = 0;
  const fn = (_ctx: unknown, token: number) => {
    calls++;
    return { token };
  };
  const blocked = await policy.run(key, fingerprint, fn).catch((e: unknown) => e);
  expect(blocked).toBeInstanceOf(IdempotencyInProgressError);
  const { retryAfterMs } = blocked as IdempotencyInProgressError;
  expect(retryAfterMs).toBeGreaterThan(0);
  expect(retryAfterMs).toBeLessThanOrEqual(LEASE_MS);
  expect(calls).toBe(0);

  await sleep(retryAfterMs! + 100);
  const result = await policy.run(key, fingerprint, fn);
  expect(calls).toBe(1);
  expect(result.token).toBeGreaterThan(first.claimed);

  // Fenced: the dead owner's token cannot complete, renew or release any more.
  expect(await store.complete(key, first.claimed, 'v"zombie"', 60_000)).toBe(false);
  expect(await store.renew(key, first.claimed, LEASE_MS, 60_000)).toBe(false);
  expect(await store.release(key, first.claimed)).toBe(false);
  expect(await policy.run(key, fingerprint, fn)).toEqual(result);
  expect(calls).toBe(1);
}

describe('idempotency after a crash: Redis', () => {
  const client = new Redis(REDIS);
  const prefix = `${uniqueName('crash')}:`;
  afterAll(async () => {
    await deleteKeys(client, prefix);
    await client.quit();
  });

  it('blocks the key until the dead owner’s lease ends, then runs fn under a higher token', async () => {
    await crashThenRecover(redisIdempotencyStore({ client, prefix }), { store: 'redis', prefix });
  }, 30_000);
});

describe('idempotency after a crash: PostgreSQL', () => {
  const pool = new pg.Pool(PG);
  const table = uniqueName('crash');
  afterAll(async () => {
    await pool.query(`DROP TABLE IF EXISTS "${table}"`);
    await pool.end();
  });

  it('blocks the key until the dead owner’s lease ends, then runs fn under a higher token', async () => {
    await crashThenRecover(postgresIdempotencyStore({ pool, table }), {
      store: 'postgres',
      table,
    });
  }, 30_000);
});
