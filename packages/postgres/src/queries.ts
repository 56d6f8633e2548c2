import { createHash } from 'node:crypto';
import type { TableName } from './table.js';

/** One statement, prepared once per connection under a name unique to its text. */
export interface Statement {
  readonly name: string;
  readonly text: string;
}

const MS = "interval '1 millisecond'";

function statement(op: string, text: string): Statement {
  const hash = createHash('sha1').update(text).digest('hex').slice(0, 12);
  return { name: `bulwark_idempotency_${op}_${hash}`, text };
}

/**
 * Every statement of the store. Time is the database's `now()`; tokens are the database clock in
 * microseconds, raised above the key's previous token.
 */
export function statements(t: TableName) {
  const T = t.sql;
  const leftMs = (column: string) => `(extract(epoch FROM (${column} - now())) * 1000)::float8`;
  return {
    // One round trip: the upsert claims a free, expired, or abandoned (same fingerprint) key;
    // when it does not, the row as this statement's snapshot saw it tells the caller why.
    claim: statement(
      'claim',
      `WITH old AS (
  SELECT state, fingerprint, result, lease_until, expires_at > now() AS live
  FROM ${T} WHERE key = $1
), claimed AS (
  INSERT INTO ${T} AS r (key, fingerprint, state, token, lease_until, expires_at)
  VALUES ($1, $2, 'in-progress', (extract(epoch FROM now()) * 1000000)::bigint,
          now() + ${MS} * $3, now() + ${MS} * $4)
  ON CONFLICT (key) DO UPDATE
    SET fingerprint = excluded.fingerprint, state = 'in-progress',
        token = greatest(r.token + 1, excluded.token),
        lease_until = excluded.lease_until, expires_at = excluded.expires_at, result = NULL
    WHERE r.expires_at <= now()
       OR (r.state = 'in-progress' AND r.lease_until <= now()
           AND r.fingerprint = excluded.fingerprint)
  RETURNING r.token
)
SELECT 'claimed' AS status, c.token::text AS token,
       coalesce((SELECT o.live AND o.state = 'in-progress' FROM old o), false) AS takeover,
       NULL::text AS result, NULL::float8 AS lease_left_ms
FROM claimed c
UNION ALL
SELECT CASE WHEN o.fingerprint <> $2 THEN 'mismatch' ELSE o.state END, NULL, NULL,
       CASE WHEN o.fingerprint = $2 AND o.state = 'completed' THEN o.result END,
       ${leftMs('o.lease_until')}
FROM old o
WHERE o.live AND NOT EXISTS (SELECT 1 FROM claimed)`,
    ),
    // After a claim lost a race to a row committed since its snapshot: a fresh look.
    inspect: statement(
      'inspect',
      `SELECT CASE WHEN fingerprint <> $2 THEN 'mismatch' ELSE state END AS status,
       CASE WHEN fingerprint = $2 AND state = 'completed' THEN result END AS result,
       ${leftMs('lease_until')} AS lease_left_ms
FROM ${T} WHERE key = $1 AND expires_at > now()`,
    ),
    renew: statement(
      'renew',
      `UPDATE ${T}
SET lease_until = now() + ${MS} * $3, expires_at = greatest(expires_at, now() + ${MS} * $4)
WHERE key = $1 AND token = $2 AND state = 'in-progress'`,
    ),
    complete: statement(
      'complete',
      `UPDATE ${T}
SET state = 'completed', result = $3, lease_until = NULL, expires_at = now() + ${MS} * $4
WHERE key = $1 AND token = $2 AND state = 'in-progress'`,
    ),
    release: statement(
      'release',
      `DELETE FROM ${T} WHERE key = $1 AND token = $2 AND state = 'in-progress'`,
    ),
    get: statement(
      'get',
      `SELECT state, fingerprint, token::text AS token, result,
       ${leftMs('lease_until')} AS lease_left_ms, ${leftMs('expires_at')} AS expires_in_ms
FROM ${T} WHERE key = $1 AND expires_at > now()`,
    ),
    delete: statement('delete', `DELETE FROM ${T} WHERE key = $1`),
    deleteExpired: statement(
      'delete_expired',
      `DELETE FROM ${T} WHERE key IN (
  SELECT key FROM ${T} WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED
)`,
    ),
  };
}

export type Statements = ReturnType<typeof statements>;
