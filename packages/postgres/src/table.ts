/** A table name made safe to put in SQL: validated, then quoted part by part. */
export interface TableName {
  /** As given: `bulwark_idempotency` or `billing.idempotency_keys`. */
  readonly name: string;
  /** Quoted for SQL: `"billing"."idempotency_keys"`. */
  readonly sql: string;
  /** The expiry index, in the table's schema. */
  readonly indexSql: string;
}

const PART = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const INDEX_SUFFIX = '_expires_at_idx';

/**
 * Accepts `table` or `schema.table`, each part a plain identifier (letters, digits, `_`, not
 * starting with a digit, at most 63 characters); anything else is a TypeError, never SQL.
 */
export function tableName(where: string, table: unknown): TableName {
  const parts = typeof table === 'string' ? table.split('.') : [];
  if (parts.length < 1 || parts.length > 2 || !parts.every((p) => PART.test(p))) {
    throw new TypeError(
      `${where}: table must be an identifier or schema.identifier of letters, digits and _ (at most 63 each, not starting with a digit), got ${JSON.stringify(table)}`,
    );
  }
  const last = parts[parts.length - 1]!;
  return {
    name: table as string,
    sql: parts.map((p) => `"${p}"`).join('.'),
    indexSql: `"${last.slice(0, 63 - INDEX_SUFFIX.length)}${INDEX_SUFFIX}"`,
  };
}

/**
 * The DDL of the idempotency table, to run in a migration when `createTable: false`.
 * `createTable: true` runs the same under an advisory lock.
 */
export function idempotencyTableSql(table = 'bulwark_idempotency'): string {
  const t = tableName('idempotencyTableSql', table);
  return `CREATE TABLE IF NOT EXISTS ${t.sql} (
  key         text        PRIMARY KEY,
  fingerprint text        NOT NULL,
  state       text        NOT NULL CHECK (state IN ('in-progress', 'completed')),
  token       bigint      NOT NULL,
  lease_until timestamptz,
  expires_at  timestamptz NOT NULL,
  result      text
);
CREATE INDEX IF NOT EXISTS ${t.indexSql} ON ${t.sql} (expires_at);
`;
}
