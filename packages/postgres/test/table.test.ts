import { idempotencyTableSql, postgresIdempotencyStore } from '@bulwark/postgres';
import { describe, expect, it } from 'vitest';

const pool = { query: async () => ({ rows: [] }), connect: async () => ({}) } as never;

describe('idempotencyTableSql', () => {
  it('creates the table and its expiry index, if missing', () => {
    const sql = idempotencyTableSql();
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS "bulwark_idempotency" (');
    expect(sql).toContain(
      'CREATE INDEX IF NOT EXISTS "bulwark_idempotency_expires_at_idx" ON "bulwark_idempotency" (expires_at);',
    );
    for (const column of [
      'key',
      'fingerprint',
      'state',
      'token',
      'lease_until',
      'expires_at',
      'result',
    ]) {
      expect(sql).toMatch(new RegExp(`\\n  ${column} +\\w`));
    }
  });

  it('quotes each part of a schema-qualified name', () => {
    expect(idempotencyTableSql('billing.Keys')).toContain(
      'CREATE TABLE IF NOT EXISTS "billing"."Keys" (',
    );
    expect(idempotencyTableSql('billing.Keys')).toContain(
      '"Keys_expires_at_idx" ON "billing"."Keys"',
    );
  });

  it('keeps the index name within 63 characters', () => {
    const long = 'x'.repeat(63);
    const index = /INDEX IF NOT EXISTS "([^"]+)"/.exec(idempotencyTableSql(long))?.[1];
    expect(index?.length).toBeLessThanOrEqual(63);
  });

  it.each([
    ['', 'empty'],
    ['1table', 'a leading digit'],
    ['a.b.c', 'three parts'],
    ['keys"; DROP TABLE users; --', 'an injection'],
    ['my-table', 'a dash'],
    ['x'.repeat(64), '64 characters'],
    ['.keys', 'an empty schema'],
  ])('refuses %j (%s)', (table) => {
    expect(() => idempotencyTableSql(table)).toThrow(TypeError);
    expect(() => postgresIdempotencyStore({ pool, table })).toThrow(
      /postgresIdempotencyStore: table must be an identifier or schema\.identifier/,
    );
  });
});

describe('postgresIdempotencyStore options', () => {
  it('names the table it uses', () => {
    expect(postgresIdempotencyStore({ pool }).table).toBe('bulwark_idempotency');
    expect(postgresIdempotencyStore({ pool, table: 'app.keys' }).table).toBe('app.keys');
  });

  it('rejects bad options naming them', () => {
    expect(() => postgresIdempotencyStore({} as never)).toThrow(
      'postgresIdempotencyStore: pool must be a pg.Pool (with query and connect)',
    );
    expect(() => postgresIdempotencyStore({ pool, timeoutMs: -1 })).toThrow(
      'postgresIdempotencyStore: timeoutMs must be an integer >= 1, got -1',
    );
    expect(() => postgresIdempotencyStore({ pool, createTable: 'yes' as never })).toThrow(
      'postgresIdempotencyStore: createTable must be a boolean, got string',
    );
    expect(() => postgresIdempotencyStore({ pool, tableName: 'x' } as never)).toThrow(
      /unknown option "tableName"/,
    );
  });
});
