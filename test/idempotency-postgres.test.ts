import { isResilienceError, StoreUnavailableError } from '@bulwark/core';
import { idempotency } from '@bulwark/idempotency';
import { idempotencyTableSql, postgresIdempotencyStore } from '@bulwark/postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG, sleep, uniqueName } from './fixtures/idempotency-helpers.js';

const DAY = 86_400_000;

describe('postgresIdempotencyStore on a real PostgreSQL', () => {
  let pool: pg.Pool;
  const tables: string[] = [];
  const schemas: string[] = [];
  const newTable = () => {
    const table = uniqueName('idem');
    tables.push(table);
    return table;
  };
  beforeAll(() => {
    pool = new pg.Pool({ ...PG, max: 4 });
  });
  afterAll(async () => {
    for (const table of tables) await pool.query(`DROP TABLE IF EXISTS "${table}"`);
    for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });

  it('creates its table once when several connections start at the same moment', async () => {
    const table = newTable();
    const pools = Array.from({ length: 4 }, () => new pg.Pool({ ...PG, max: 1 }));
    try {
      const stores = pools.map((p) => postgresIdempotencyStore({ pool: p, table }));
      await Promise.all(stores.map((s) => s.ensureTable()));
      const results = await Promise.all(
        stores.map((s, i) => s.claim('k', 'fp', 5000, DAY).then((r) => [i, r.status])),
      );
      expect(results.filter(([, status]) => status === 'claimed')).toHaveLength(1);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('leaves the table to a migration when createTable is false', async () => {
    const table = newTable();
    const store = postgresIdempotencyStore({ pool, table, createTable: false });
    const error = await store.claim('k', 'fp', 5000, DAY).catch((e: unknown) => e);
    expect(isResilienceError(error, 'STORE_UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toMatch(/does not exist/);
    await pool.query(idempotencyTableSql(table));
    expect((await store.claim('k', 'fp', 5000, DAY)).status).toBe('claimed');
  });

  it('works in a schema-qualified table', async () => {
    const schema = uniqueName('schema');
    schemas.push(schema);
    await pool.query(`CREATE SCHEMA "${schema}"`);
    const store = postgresIdempotencyStore({ pool, table: `${schema}.keys` });
    const policy = idempotency({ store });
    expect(await policy.run('k', 'fp', () => 'ok')).toBe('ok');
    const { rows } = await pool.query(`SELECT state FROM "${schema}"."keys"`);
    expect(rows).toEqual([{ state: 'completed' }]);
  });

  it('deletes expired records in batches of at most limit', async () => {
    const table = newTable();
    const store = postgresIdempotencyStore({ pool, table });
    for (const key of ['a', 'b', 'c']) {
      const claim = await store.claim(key, 'fp', 100, 100);
      if (claim.status === 'claimed') await store.complete(key, claim.token, 'v1', 100);
    }
    await store.claim('live', 'fp', 5000, DAY);
    await sleep(150);
    expect(await store.deleteExpired(2)).toBe(2);
    expect(await store.deleteExpired()).toBe(1);
    expect(await store.deleteExpired()).toBe(0);
    const { rows } = await pool.query(`SELECT key FROM "${table}"`);
    expect(rows).toEqual([{ key: 'live' }]);
    await expect(store.deleteExpired(0)).rejects.toThrow(RangeError);
  });

  it('overwrites an expired row on claim, under a higher token', async () => {
    const table = newTable();
    const store = postgresIdempotencyStore({ pool, table });
    const first = await store.claim('k', 'fp', 100, 100);
    if (first.status !== 'claimed') throw new Error('not claimed');
    await store.complete('k', first.token, 'v1', 100);
    await sleep(150);
    const second = await store.claim('k', 'other', 5000, DAY);
    expect(second).toMatchObject({ status: 'claimed', takeover: false });
    if (second.status === 'claimed') expect(second.token).toBeGreaterThan(first.token);
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM "${table}"`);
    expect(rows[0].n).toBe(1);
  });

  it('times out with StoreUnavailableError while the row is locked, and frees a late claim', async () => {
    const table = newTable();
    const store = postgresIdempotencyStore({ pool, table, timeoutMs: 200 });
    const first = await store.claim('locked', 'fp', 100, DAY);
    if (first.status !== 'claimed') throw new Error('not claimed');
    await sleep(150); // the lease expired: the next claim will want to take over, and must wait
    const blocker = await pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`SELECT * FROM "${table}" WHERE key = 'locked' FOR UPDATE`);
      let calls = 0;
      const error = await idempotency({ store })
        .run('locked', 'fp', () => ++calls)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as Error).message).toMatch(/did not answer within 200 ms/);
      expect(calls).toBe(0);
      await blocker.query('COMMIT');
    } finally {
      blocker.release();
    }
    // The claim went through once the lock was gone, and was released right away.
    await expect.poll(() => store.get('locked'), { timeout: 5000 }).toBeUndefined();
  });

  it('times out when the pool has no free connection', async () => {
    const small = new pg.Pool({ ...PG, max: 1 });
    const table = newTable();
    const store = postgresIdempotencyStore({ pool: small, table, timeoutMs: 200 });
    await store.ensureTable();
    const held = await small.connect();
    try {
      await expect(store.claim('k', 'fp', 1000, DAY)).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      held.release();
      await small.end();
    }
  });

  it('fails with StoreUnavailableError when the database cannot be reached', async () => {
    const nowhere = new pg.Pool({ ...PG, port: 1 });
    const policy = idempotency({ store: postgresIdempotencyStore({ pool: nowhere }) });
    let calls = 0;
    const error = await policy.run('k', 'fp', () => ++calls).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
    expect(calls).toBe(0);
    await nowhere.end();
  });

  it('refuses a key with a NUL character clearly', async () => {
    const store = postgresIdempotencyStore({ pool, table: newTable() });
    await expect(store.claim('a\u0000b', 'fp', 1000, DAY)).rejects.toThrow(
      /keys cannot contain NUL/,
    );
  });
});
