import type { CacheEntry } from './store.js';

/** An entry fresh for `ttlMs` and kept `keepMs` longer for stale reads; `ttlMs` undefined: forever. */
export function makeEntry(
  value: unknown,
  now: number,
  ttlMs: number | undefined,
  keepMs: number,
  tags: readonly string[] | undefined,
): CacheEntry {
  const expiresAt = ttlMs === undefined ? Number.POSITIVE_INFINITY : now + ttlMs;
  return { value, expiresAt, staleUntil: expiresAt + keepMs, tags };
}

/** Serializer and validation bugs surface to the caller; anything else is the store being down. */
export function isProgrammingError(error: unknown): boolean {
  return error instanceof TypeError || error instanceof RangeError;
}
