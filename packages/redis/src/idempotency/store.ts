import { randomBytes } from 'node:crypto';
import { isResilienceError } from '@bulwark/core';
import type { ClaimResult, IdempotencyRecord, IdempotencyStore } from '@bulwark/idempotency';
import { Cleanups } from '../shared/cleanups.js';
import type { RedisClient } from '../shared/client.js';
import { RedisHealth, type RedisStoreListener } from '../shared/health.js';
import { storeKey } from '../shared/keys.js';
import { type RedisStoreOptions, resolveRedisOptions } from '../shared/options.js';
import { abandonedKey } from './abandoned.js';
import {
  abandonScript,
  claimScript,
  completeScript,
  getScript,
  releaseScript,
  renewScript,
} from './scripts.js';

/** `client`, `prefix` (default `bulwark:idempotency:`), `timeoutMs` (default 1000), `clock`. */
export type RedisIdempotencyStoreOptions = RedisStoreOptions;

export interface RedisIdempotencyStore extends IdempotencyStore {
  claim(key: string, fingerprint: string, leaseMs: number, ttlMs: number): Promise<ClaimResult>;
  renew(key: string, token: number, leaseMs: number, ttlMs: number): Promise<boolean>;
  complete(key: string, token: number, result: string, ttlMs: number): Promise<boolean>;
  release(key: string, token: number): Promise<boolean>;
  get(key: string): Promise<IdempotencyRecord | undefined>;
  delete(key: string): Promise<void>;
  /** The Redis key of an idempotency key: `prefix{key}` (the key is the hash tag). */
  redisKey(key: string): string;
  /** False while Redis is away: every operation then fails fast with `StoreUnavailableError`. */
  readonly available: boolean;
  /** `store-error` (once per outage, `onStoreError: 'refuse'`) and `store-recovered`. */
  on(listener: RedisStoreListener): () => void;
  /** Stops probing and listening to the client; the client stays yours to `quit()`. */
  close(): void;
}

const WHERE = 'redisIdempotencyStore';
const DEFAULTS = { prefix: 'bulwark:idempotency:', timeoutMs: 1000 };

class RedisStore implements RedisIdempotencyStore {
  private readonly client: RedisClient;
  private readonly prefix: string;
  private readonly health: RedisHealth;
  /** Claims sent but unanswered, abandoned by their nonce when Redis answers. */
  private readonly abandoned: Cleanups;
  // Claim nonces: unique across processes by the random part, within this store by the count.
  private readonly nonceBase = `${randomBytes(8).toString('hex')}:`;
  private nonces = 0;

  constructor(options: RedisIdempotencyStoreOptions) {
    const o = resolveRedisOptions(WHERE, options, DEFAULTS);
    this.client = o.client;
    this.prefix = o.prefix;
    // Refuse: running a side effect twice is worse than answering 503.
    this.health = new RedisHealth(o.client, {
      store: WHERE,
      timeoutMs: o.timeoutMs,
      clock: o.clock,
      onStoreError: 'refuse',
    });
    this.abandoned = new Cleanups(o.client, this.health);
  }

  get available(): boolean {
    return this.health.available;
  }

  on(listener: RedisStoreListener): () => void {
    return this.health.on(listener);
  }

  close(): void {
    this.abandoned.close();
    this.health.close();
  }

  // One key per record, the key its own hash tag: on Cluster a record never spans slots.
  redisKey(key: string): string {
    return storeKey(this.prefix, '', key);
  }

  claim(key: string, fingerprint: string, leaseMs: number, ttlMs: number): Promise<ClaimResult> {
    const redisKey = this.redisKey(key);
    const nonce = this.nonceBase + ++this.nonces;
    let sent = false;
    return this.health
      .send(
        'claim',
        () => {
          sent = true;
          return claimScript.run(
            this.client,
            [redisKey, abandonedKey(redisKey)],
            [fingerprint, leaseMs, ttlMs, nonce],
          );
        },
        (late) => {
          // Landed after the caller was refused: it would hold the key for a lease.
          if (late.status === 'claimed') {
            releaseScript.run(this.client, [redisKey], [String(late.token)]).catch(() => {});
          }
        },
        key,
      )
      .catch((error: unknown) => {
        if (sent && isResilienceError(error, 'STORE_UNAVAILABLE')) {
          // Sent but unanswered: Redis may still run it, so it is abandoned by its nonce.
          this.abandoned.add(nonce, () =>
            abandonScript.run(this.client, [redisKey, abandonedKey(redisKey)], [nonce, ttlMs]),
          );
        }
        throw error;
      });
  }

  renew(key: string, token: number, leaseMs: number, ttlMs: number): Promise<boolean> {
    const redisKey = this.redisKey(key);
    return this.health.send(
      'renew',
      () => renewScript.run(this.client, [redisKey], [String(token), leaseMs, ttlMs]),
      undefined,
      key,
    );
  }

  complete(key: string, token: number, result: string, ttlMs: number): Promise<boolean> {
    const redisKey = this.redisKey(key);
    return this.health.send(
      'complete',
      () => completeScript.run(this.client, [redisKey], [String(token), result, ttlMs]),
      undefined,
      key,
    );
  }

  release(key: string, token: number): Promise<boolean> {
    const redisKey = this.redisKey(key);
    return this.health.send(
      'release',
      () => releaseScript.run(this.client, [redisKey], [String(token)]),
      undefined,
      key,
    );
  }

  get(key: string): Promise<IdempotencyRecord | undefined> {
    const redisKey = this.redisKey(key);
    return this.health.send(
      'get',
      () => getScript.run(this.client, [redisKey], []),
      undefined,
      key,
    );
  }

  delete(key: string): Promise<void> {
    const redisKey = this.redisKey(key);
    return this.health.send(
      'delete',
      () => this.client.del(redisKey).then(() => undefined),
      undefined,
      key,
    );
  }
}

/**
 * Idempotency records in Redis (or Redis Cluster), shared by every process that uses it: each
 * operation is one Lua script, atomic on the server, on Redis time. While Redis is away it
 * refuses (`StoreUnavailableError`, and `idempotency` does not run fn).
 */
export function redisIdempotencyStore(
  options: RedisIdempotencyStoreOptions,
): RedisIdempotencyStore {
  return new RedisStore(options);
}
