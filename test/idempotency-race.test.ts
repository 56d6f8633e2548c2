/**
 * 4 Node processes x 50 concurrent calls of one key, on the built packages: the side effect
 * happens exactly once, and every caller gets the result or IdempotencyInProgressError.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeys, PG, REDIS, runWorker, uniqueName } from './fixtures/idempotency-helpers.js';

interface Report {
  values: Array<{ pid: number; token: number }>;
  inProgress: number;
  other: string[];
}

const PROCESSES = 4;
const CALLS = 50;

function race(config: Record<string, unknown>): Promise<Report[]> {
  // Every process starts its calls at the same moment, once all have loaded.
  const startAt = Date.now() + 3000;
  return Promise.all(
    Array.from({ length: PROCESSES }, () =>
      runWorker<Report>({
        ...config,
        mode: 'race',
        key: 'payment-42',
        fingerprint: 'fp-42',
        calls: CALLS,
        workMs: 300,
        leaseMs: 30_000,
        timeoutMs: 15_000,
        startAt,
      }),
    ),
  );
}

function expectExactlyOnce(reports: Report[]): void {
  const values = reports.flatMap((r) => r.values);
  const inProgress = reports.reduce((n, r) => n + r.inProgress, 0);
  expect(reports.flatMap((r) => r.other)).toEqual([]);
  expect(values.length + inProgress).toBe(PROCESSES * CALLS);
  expect(values.length).toBeGreaterThanOrEqual(1);
  // Whoever ran it, every caller that got a result got the same one.
  for (const value of values) expect(value).toEqual(values[0]);
}

describe('idempotency race across processes: Redis', () => {
  let client: Redis;
  const prefix = `${uniqueName('race')}:`;
  beforeAll(() => {
    client = new Redis(REDIS);
  });
  afterAll(async () => {
    await deleteKeys(client, prefix);
    await client.quit();
  });

  it('charges once for 4 processes x 50 concurrent calls of one key', async () => {
    const counter = `${prefix}counter`;
    const reports = await race({ store: 'redis', prefix, counter });
    expect(Number(await client.get(counter))).toBe(1);
    expectExactlyOnce(reports);
  }, 60_000);
});

describe('idempotency race across processes: PostgreSQL', () => {
  let pool: pg.Pool;
  const table = uniqueName('race');
  const counter = `${table}_counter`;
  beforeAll(async () => {
    pool = new pg.Pool(PG);
    await pool.query(`CREATE TABLE "${counter}" (n int NOT NULL)`);
    await pool.query(`INSERT INTO "${counter}" VALUES (0)`);
  });
  afterAll(async () => {
    await pool.query(`DROP TABLE IF EXISTS "${table}"`);
    await pool.query(`DROP TABLE IF EXISTS "${counter}"`);
    await pool.end();
  });

  // The idempotency table does not exist yet: the 4 processes also race to create it.
  it('charges once for 4 processes x 50 concurrent calls of one key', async () => {
    const reports = await race({ store: 'postgres', table, counter });
    const { rows } = await pool.query(`SELECT n FROM "${counter}"`);
    expect(rows[0].n).toBe(1);
    expectExactlyOnce(reports);
  }, 60_000);
});
