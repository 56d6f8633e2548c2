import { StoreTimeout } from '@bulwark/core';
import type { ClaimResult, IdempotencyRecord, IdempotencyStore } from '@bulwark/idempotency';
import type { QueryResultRow } from 'pg';
import {
  type PoolLike,
  type PostgresIdempotencyStoreOptions,
  resolvePostgresOptions,
} from './options.js';
import { type Statement, type Statements, statements } from './queries.js';
import { idempotencyTableSql, type TableName } from './table.js';

export interface PostgresIdempotencyStore extends IdempotencyStore {
  claim(key: string, fingerprint: string, leaseMs: number, ttlMs: number): Promise<ClaimResult>;
  renew(key: string, token: number, leaseMs: number, ttlMs: number): Promise<boolean>;
  complete(key: string, token: number, result: string, ttlMs: number): Promise<boolean>;
  release(key: string, token: number): Promise<boolean>;
  get(key: string): Promise<IdempotencyRecord | undefined>;
  delete(key: string): Promise<void>;
  /** Creates the table if missing (what the first operation does when `createTable` is true). */
  ensureTable(): Promise<void>;
  /** Deletes up to `limit` expired records; returns how many. Run it from a timer or a cron. */
  deleteExpired(limit?: number): Promise<number>;
  readonly table: string;
}

// pg_advisory_xact_lock(namespace, hashtext(table)): 'bulw' in ASCII.
const LOCK_NAMESPACE = 0x62756c77;
// A claim that loses a race to a row committed after its snapshot looks again; this often.
const CLAIM_ATTEMPTS = 5;

interface ClaimRow extends QueryResultRow {
  status: 'claimed' | 'in-progress' | 'completed' | 'mismatch';
  token: string | null;
  takeover: boolean | null;
  result: string | null;
  lease_left_ms: number | null;
}

interface RecordRow extends QueryResultRow {
  state: 'in-progress' | 'completed';
  fingerprint: string;
  token: string;
  result: string | null;
  lease_left_ms: number | null;
  expires_in_ms: number;
}

function checkText(key: string): void {
  // PostgreSQL text cannot hold NUL; say so rather than fail with an encoding error.
  if (key.includes('\u0000')) {
    throw new TypeError('postgresIdempotencyStore: keys cannot contain NUL (\\u0000) characters');
  }
}

class PostgresStore implements PostgresIdempotencyStore {
  readonly table: string;
  private readonly pool: PoolLike;
  private readonly name: TableName;
  private readonly timeout: StoreTimeout;
  private readonly sql: Statements;
  private tableReady: Promise<void> | undefined;

  constructor(options: PostgresIdempotencyStoreOptions) {
    const o = resolvePostgresOptions(options);
    this.pool = o.pool;
    this.name = o.table;
    this.table = o.table.name;
    this.timeout = new StoreTimeout(o.clock, o.timeoutMs);
    this.sql = statements(o.table);
    if (!o.createTable) this.tableReady = Promise.resolve();
  }

  claim(key: string, fingerprint: string, leaseMs: number, ttlMs: number): Promise<ClaimResult> {
    return this.timed(
      'claim',
      () => this.claimNow(key, fingerprint, leaseMs, ttlMs),
      // A claim that lands after the caller gave up would hold the key for a lease: free it.
      (late) => {
        if (late.status === 'claimed') this.release(key, late.token).catch(() => {});
      },
    );
  }

  renew(key: string, token: number, leaseMs: number, ttlMs: number): Promise<boolean> {
    return this.timed('renew', async () => {
      const res = await this.run(this.sql.renew, [key, String(token), leaseMs, ttlMs]);
      return res.rowCount === 1;
    });
  }

  complete(key: string, token: number, result: string, ttlMs: number): Promise<boolean> {
    return this.timed('complete', async () => {
      const res = await this.run(this.sql.complete, [key, String(token), result, ttlMs]);
      return res.rowCount === 1;
    });
  }

  release(key: string, token: number): Promise<boolean> {
    return this.timed('release', async () => {
      const res = await this.run(this.sql.release, [key, String(token)]);
      return res.rowCount === 1;
    });
  }

  get(key: string): Promise<IdempotencyRecord | undefined> {
    return this.timed('get', async () => {
      const res = await this.run<RecordRow>(this.sql.get, [key]);
      const row = res.rows[0];
      if (row === undefined) return undefined;
      return {
        state: row.state,
        fingerprint: row.fingerprint,
        token: Number(row.token),
        leaseRemainingMs: row.state === 'in-progress' ? Number(row.lease_left_ms) : undefined,
        result: row.result ?? undefined,
        expiresInMs: row.expires_in_ms,
      };
    });
  }

  delete(key: string): Promise<void> {
    return this.timed('delete', async () => {
      await this.run(this.sql.delete, [key]);
    });
  }

  deleteExpired(limit = 1000): Promise<number> {
    if (!Number.isInteger(limit) || limit < 1) {
      return Promise.reject(
        new RangeError(
          `postgresIdempotencyStore.deleteExpired: limit must be an integer >= 1, got ${limit}`,
        ),
      );
    }
    return this.timed('deleteExpired', async () => {
      const res = await this.run(this.sql.deleteExpired, [limit]);
      return res.rowCount ?? 0;
    });
  }

  ensureTable(): Promise<void> {
    this.tableReady ??= this.createTable().catch((error: unknown) => {
      this.tableReady = undefined; // try again on the next call
      throw error;
    });
    return this.tableReady;
  }

  private async claimNow(
    key: string,
    fingerprint: string,
    leaseMs: number,
    ttlMs: number,
  ): Promise<ClaimResult> {
    checkText(key);
    const values = [key, fingerprint, leaseMs, ttlMs];
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      let row = (await this.run<ClaimRow>(this.sql.claim, values)).rows[0];
      if (row?.status === 'claimed') {
        return { status: 'claimed', token: Number(row.token), takeover: row.takeover === true };
      }
      // Nothing, or a lease that looked expired yet was not ours: another claim committed since
      // this statement's snapshot. Look again.
      if (row === undefined || (row.status === 'in-progress' && !(Number(row.lease_left_ms) > 0))) {
        row = (await this.run<ClaimRow>(this.sql.inspect, [key, fingerprint])).rows[0];
      }
      if (row === undefined) continue;
      if (row.status === 'mismatch') return { status: 'mismatch' };
      if (row.status === 'completed') return { status: 'completed', result: row.result ?? '' };
      const left = Number(row.lease_left_ms);
      if (left > 0) return { status: 'in-progress', retryAfterMs: Math.ceil(left) };
    }
    throw new Error(`the claim of key ${JSON.stringify(key)} kept racing other claims`);
  }

  private async createTable(): Promise<void> {
    // Already there (the usual case after the first start): no lock, no DDL, and no CREATE
    // privilege needed.
    const found = await this.pool.query<{ exists: boolean }>(
      'SELECT to_regclass($1) IS NOT NULL AS exists',
      [this.name.sql],
    );
    if (found.rows[0]?.exists === true) return;
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // A bare CREATE TABLE IF NOT EXISTS from processes starting together can fail on the
      // catalogue's unique index; the advisory lock makes them take turns.
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [
        LOCK_NAMESPACE,
        this.name.name,
      ]);
      await client.query(idempotencyTableSql(this.name.name));
      await client.query('COMMIT');
      client.release();
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      client.release(true);
      throw error;
    }
  }

  private async run<R extends QueryResultRow>(statement: Statement, values: unknown[]) {
    await (this.tableReady ?? this.ensureTable());
    return this.pool.query<R>({ name: statement.name, text: statement.text, values });
  }

  private timed<T>(what: string, op: () => Promise<T>, onLate?: (value: T) => void): Promise<T> {
    let started: Promise<T>;
    try {
      started = op();
    } catch (error) {
      started = Promise.reject(error);
    }
    return this.timeout.guard(started, `postgresIdempotencyStore: ${what}`, onLate);
  }
}

/**
 * Idempotency records in a PostgreSQL table, shared by every process that uses it. Claims are one
 * `INSERT ... ON CONFLICT DO UPDATE ... WHERE` (an abandoned lease is taken over by the same
 * statement); leases and expiry use the database clock.
 */
export function postgresIdempotencyStore(
  options: PostgresIdempotencyStoreOptions,
): PostgresIdempotencyStore {
  return new PostgresStore(options);
}
