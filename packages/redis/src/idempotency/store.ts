import { integerOption, knownOptions, objectOption } from '@bulwark/core';
import {
  type ClaimResult,
  type IdempotencyRecord,
  type IdempotencyStore,
  withStoreTimeout,
} from '@bulwark/idempotency';
import type { Cluster, Redis } from 'ioredis';
import { hashTagKey } from '../shared/keys.js';
import {
  claimScript,
  completeScript,
  getScript,
  type IdempotencyScript,
  releaseScript,
  renewScript,
} from './scripts.js';

export interface RedisIdempotencyStoreOptions {
  /** An ioredis client: `new Redis(...)` or `new Cluster(...)`. */
  client: Redis | Cluster;
  /** Put before every key. Default `bulwark:idempotency:`. */
  prefix?: string;
  /** Past this, an operation fails with `StoreUnavailableError` (and fn does not run). Default 1000. */
  timeoutMs?: number;
}

export interface RedisIdempotencyStore extends IdempotencyStore {
  claim(key: string, fingerprint: string, leaseMs: number, ttlMs: number): Promise<ClaimResult>;
  renew(key: string, token: number, leaseMs: number, ttlMs: number): Promise<boolean>;
  complete(key: string, token: number, result: string, ttlMs: number): Promise<boolean>;
  release(key: string, token: number): Promise<boolean>;
  get(key: string): Promise<IdempotencyRecord | undefined>;
  delete(key: string): Promise<void>;
  /** The Redis key of an idempotency key: `prefix{key}`. */
  redisKey(key: string): string;
}

/** The commands the store sends; both ioredis `Redis` and `Cluster` have them. */
interface ScriptClient {
  evalsha(sha: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(script: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
  del(...keys: string[]): Promise<number>;
}

const WHERE = 'redisIdempotencyStore';
const known = ['client', 'prefix', 'timeoutMs'];

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

class RedisStore implements RedisIdempotencyStore {
  private readonly client: ScriptClient;
  private readonly prefix: string;
  private readonly timeoutMs: number;

  constructor(options: RedisIdempotencyStoreOptions) {
    const o = objectOption(WHERE, 'options', options);
    knownOptions(WHERE, o, known);
    const client = o.client as unknown as Partial<ScriptClient> | undefined;
    if (
      typeof client?.evalsha !== 'function' ||
      typeof client.eval !== 'function' ||
      typeof client.del !== 'function'
    ) {
      throw new TypeError(`${WHERE}: client must be an ioredis Redis or Cluster client`);
    }
    const prefix = o.prefix ?? 'bulwark:idempotency:';
    if (typeof prefix !== 'string') {
      throw new TypeError(`${WHERE}: prefix must be a string, got ${typeof prefix}`);
    }
    this.client = client as ScriptClient;
    this.prefix = prefix;
    this.timeoutMs = integerOption(WHERE, 'timeoutMs', o.timeoutMs ?? 1000);
  }

  // The key is a hash tag: a record is one Redis key, and anything added per key later lands in
  // the same Cluster slot.
  redisKey(key: string): string {
    return hashTagKey(this.prefix, key);
  }

  claim(key: string, fingerprint: string, leaseMs: number, ttlMs: number): Promise<ClaimResult> {
    const reply = this.eval(claimScript, key, [fingerprint, leaseMs, ttlMs]).then(toClaim);
    return withStoreTimeout(reply, this.timeoutMs, `${WHERE}: claim`, (late) => {
      // A claim that lands after the caller gave up would hold the key for a lease: free it.
      if (late.status === 'claimed') this.release(key, late.token).catch(() => {});
    });
  }

  renew(key: string, token: number, leaseMs: number, ttlMs: number): Promise<boolean> {
    return this.timed('renew', this.eval(renewScript, key, [String(token), leaseMs, ttlMs]));
  }

  complete(key: string, token: number, result: string, ttlMs: number): Promise<boolean> {
    return this.timed('complete', this.eval(completeScript, key, [String(token), result, ttlMs]));
  }

  release(key: string, token: number): Promise<boolean> {
    return this.timed('release', this.eval(releaseScript, key, [String(token)]));
  }

  get(key: string): Promise<IdempotencyRecord | undefined> {
    const reply = this.eval(getScript, key, []).then(toRecord);
    return withStoreTimeout(reply, this.timeoutMs, `${WHERE}: get`);
  }

  delete(key: string): Promise<void> {
    const reply = this.client.del(this.redisKey(key)).then(() => undefined);
    return withStoreTimeout(reply, this.timeoutMs, `${WHERE}: delete`);
  }

  private timed(what: string, reply: Promise<unknown>): Promise<boolean> {
    return withStoreTimeout(
      reply.then((n) => n === 1),
      this.timeoutMs,
      `${WHERE}: ${what}`,
    );
  }

  /** One round trip: EVALSHA, and EVAL only when the server has not seen the script yet. */
  private async eval(
    script: IdempotencyScript,
    key: string,
    args: (string | number)[],
  ): Promise<unknown> {
    const redisKey = this.redisKey(key);
    try {
      return await this.client.evalsha(script.sha, 1, redisKey, ...args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return this.client.eval(script.lua, 1, redisKey, ...args);
    }
  }
}

function toClaim(reply: unknown): ClaimResult {
  const [status, a, b] = reply as [string, unknown, unknown];
  switch (status) {
    case 'claimed':
      return { status: 'claimed', token: Number(a), takeover: b === 1 };
    case 'in-progress':
      return { status: 'in-progress', retryAfterMs: Number(a) };
    case 'completed':
      return { status: 'completed', result: typeof a === 'string' ? a : '' };
    case 'mismatch':
      return { status: 'mismatch' };
  }
  throw new Error(`${WHERE}: unexpected reply to claim: ${JSON.stringify(reply)}`);
}

function toRecord(reply: unknown): IdempotencyRecord | undefined {
  if (reply === null) return undefined;
  const [state, fingerprint, token, left, result, pttl] = reply as [
    string,
    string,
    string,
    number | null,
    string | null,
    number,
  ];
  return {
    state: state === 'c' ? 'completed' : 'in-progress',
    fingerprint,
    token: Number(token),
    leaseRemainingMs: state === 'c' ? undefined : Number(left),
    result: result ?? undefined,
    expiresInMs: pttl,
  };
}

/**
 * Idempotency records in Redis, shared by every process that uses it: each operation is one Lua
 * script (EVALSHA, one round trip), atomic on the server, on Redis time.
 */
export function redisIdempotencyStore(
  options: RedisIdempotencyStoreOptions,
): RedisIdempotencyStore {
  return new RedisStore(options);
}
