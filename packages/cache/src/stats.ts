export interface CacheStats {
  /** Lookups answered with a fresh value. */
  hits: number;
  /** Lookups that had to load (or, for `get`, found nothing fresh). */
  misses: number;
  /** Lookups answered with a stale value: while revalidating, or because the loader failed. */
  staleHits: number;
  /** (hits + staleHits) / all lookups; 0 before the first. */
  hitRate: number;
  /** Loader calls made by this process. */
  loads: number;
  /** Failures nobody awaited: background refreshes and store errors read as misses. */
  errors: number;
}

export function statsOf(
  hits: number,
  misses: number,
  staleHits: number,
  loads: number,
  errors: number,
): CacheStats {
  const lookups = hits + misses + staleHits;
  return {
    hits,
    misses,
    staleHits,
    hitRate: lookups === 0 ? 0 : (hits + staleHits) / lookups,
    loads,
    errors,
  };
}
