export type { PoolLike, PostgresIdempotencyStoreOptions } from './options.js';
export { type PostgresIdempotencyStore, postgresIdempotencyStore } from './postgres-store.js';
export { idempotencyTableSql } from './table.js';
