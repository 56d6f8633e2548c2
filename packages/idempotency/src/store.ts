/** A value or a promise of it: the memory store answers synchronously, remote stores do not. */
export type Awaitable<T> = T | PromiseLike<T>;

/** What a claim found, decided in one atomic step of the store. */
export type ClaimResult =
  /** The key is now ours: run fn, then complete or release with this token. */
  | { status: 'claimed'; token: number; takeover: boolean }
  /** Another owner holds a live lease on the key (same fingerprint). */
  | { status: 'in-progress'; retryAfterMs: number }
  /** The key finished with the same fingerprint: `result` is what the policy stored. */
  | { status: 'completed'; result: string }
  /** The key is held or finished with another fingerprint. */
  | { status: 'mismatch' };

/** A stored record, as `get` shows it. */
export interface IdempotencyRecord {
  state: 'in-progress' | 'completed';
  fingerprint: string;
  /** The fencing token of the latest claim. */
  token: number;
  /** In progress: time left on the lease; 0 or less once it expired (the key can be taken over). */
  leaseRemainingMs: number | undefined;
  /** Completed: the stored result, as the policy encoded it. */
  result: string | undefined;
  /** Time until the record is forgotten. */
  expiresInMs: number;
}

/**
 * Where idempotency records live. Every method is one atomic step of the store; time (leases,
 * expiry) is the store's own clock, so processes with skewed clocks agree.
 *
 * - `claim` takes the key when it is free, expired, or in progress with an expired lease and the
 *   same fingerprint (a takeover), recording it in progress under a new fencing token that is
 *   higher than any earlier token of the key; otherwise it reports what holds the key.
 * - `renew`, `complete` and `release` act only if the key is in progress under `token`
 *   (fencing): they return false when another claim took the key over, or it is gone.
 * - An in-progress record is kept `ttlMs` from its claim or last renewal, a completed one `ttlMs`
 *   from completion; a released one is deleted.
 */
export interface IdempotencyStore {
  claim(key: string, fingerprint: string, leaseMs: number, ttlMs: number): Awaitable<ClaimResult>;
  renew(key: string, token: number, leaseMs: number, ttlMs: number): Awaitable<boolean>;
  complete(key: string, token: number, result: string, ttlMs: number): Awaitable<boolean>;
  release(key: string, token: number): Awaitable<boolean>;
  /** The live record of `key`, or undefined. */
  get(key: string): Awaitable<IdempotencyRecord | undefined>;
  /** Forgets `key`, whatever its state (an operator's tool: the next call runs fn again). */
  delete(key: string): Awaitable<void>;
}

const methods = ['claim', 'renew', 'complete', 'release', 'get', 'delete'] as const;

export function isIdempotencyStore(value: unknown): value is IdempotencyStore {
  if (typeof value !== 'object' || value === null) return false;
  const store = value as Record<string, unknown>;
  return methods.every((m) => typeof store[m] === 'function');
}
