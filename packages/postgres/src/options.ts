import {
  type Clock,
  clockOption,
  integerOption,
  knownOptions,
  objectOption,
  realClock,
} from '@bulwark/core';
import type { Pool } from 'pg';
import { type TableName, tableName } from './table.js';

/** What the store needs of a `pg.Pool`. */
export type PoolLike = Pick<Pool, 'query' | 'connect'>;

export interface PostgresIdempotencyStoreOptions {
  /** A `pg.Pool` (or anything with its `query` and `connect`). */
  pool: PoolLike;
  /** `table` or `schema.table`. Default `bulwark_idempotency`. */
  table?: string;
  /** Past this, an operation fails with `StoreUnavailableError` (and fn does not run). Default 1000. */
  timeoutMs?: number;
  /**
   * Creates the table (and its index) on first use if missing, under an advisory lock so that
   * processes starting together do not collide. Default true; false: run `idempotencyTableSql()`
   * in a migration.
   */
  createTable?: boolean;
  /** The clock of the `timeoutMs` deadline (one timer for all the store's queries); default real time. */
  clock?: Clock;
}

export interface ResolvedPostgresOptions {
  pool: PoolLike;
  table: TableName;
  timeoutMs: number;
  createTable: boolean;
  clock: Clock;
}

const WHERE = 'postgresIdempotencyStore';
const known = ['pool', 'table', 'timeoutMs', 'createTable', 'clock'];

export function resolvePostgresOptions(
  options: PostgresIdempotencyStoreOptions,
): ResolvedPostgresOptions {
  const o = objectOption(WHERE, 'options', options);
  knownOptions(WHERE, o, known);
  const pool = o.pool as Partial<PoolLike> | undefined;
  if (typeof pool?.query !== 'function' || typeof pool?.connect !== 'function') {
    throw new TypeError(`${WHERE}: pool must be a pg.Pool (with query and connect)`);
  }
  const createTable = o.createTable ?? true;
  if (typeof createTable !== 'boolean') {
    throw new TypeError(`${WHERE}: createTable must be a boolean, got ${typeof createTable}`);
  }
  return {
    pool: o.pool,
    table: tableName(WHERE, o.table ?? 'bulwark_idempotency'),
    timeoutMs: integerOption(WHERE, 'timeoutMs', o.timeoutMs ?? 1000),
    createTable,
    clock: o.clock === undefined ? realClock : clockOption(WHERE, o.clock),
  };
}
