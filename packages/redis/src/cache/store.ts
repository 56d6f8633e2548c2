import { randomUUID } from 'node:crypto';
import { type CacheEntry, type CacheStore, checkKey, checkTag, checkTags } from '@bulwark/cache';
import { StoreUnavailableError } from '@bulwark/core';
import { DELETE_TAG, RELEASE_LOCK, type RedisClient, SET_ENTRY } from './scripts.js';
import { type CacheSerializer, jsonSerializer } from './serializer.js';

export interface RedisCacheStoreOptions {
  /** An ioredis client (or Cluster: give the prefix a hash tag, `{cache}`, so keys share a slot). */
  client: RedisClient;
  /** Prepended to every key; default 'bulwark:cache'. */
  prefix?: string;
  /** Default: JSON that refuses functions, symbols and BigInt. */
  serializer?: CacheSerializer;
}

const FIELDS = ['v', 'e', 's', 't', 'u'] as const;

function unavailable(operation: string, error: unknown): StoreUnavailableError {
  return new StoreUnavailableError(`redisCacheStore: Redis did not answer ${operation}`, {
    cause: error,
  });
}

/**
 * Cache entries in Redis, one hash per key that Redis expires at the end of the stale window
 * (PEXPIRE); tags are sets of keys. Values are serialized, so a reader never shares an object
 * with the writer.
 */
export class RedisCacheStore implements CacheStore {
  readonly prefix: string;
  private readonly client: RedisClient;
  private readonly serializer: CacheSerializer;

  constructor(options: RedisCacheStoreOptions) {
    const where = 'redisCacheStore';
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`${where}: options must be an object, got ${typeof options}`);
    }
    const { client, prefix = 'bulwark:cache', serializer = jsonSerializer } = options;
    if (typeof client?.hmgetBuffer !== 'function' || typeof client?.evalsha !== 'function') {
      throw new TypeError(`${where}: client must be an ioredis client, got ${typeof client}`);
    }
    if (typeof prefix !== 'string' || prefix.length === 0) {
      throw new TypeError(
        `${where}: prefix must be a non-empty string, got ${JSON.stringify(prefix)}`,
      );
    }
    if (
      typeof serializer?.serialize !== 'function' ||
      typeof serializer?.deserialize !== 'function'
    ) {
      throw new TypeError(`${where}: serializer must have serialize() and deserialize()`);
    }
    this.client = client;
    this.prefix = prefix;
    this.serializer = serializer;
  }

  /** The Redis key of an entry. */
  entryKey(key: string): string {
    return `${this.prefix}:v:${key}`;
  }

  tagKey(tag: string): string {
    return `${this.prefix}:t:${tag}`;
  }

  lockKey(key: string): string {
    return `${this.prefix}:l:${key}`;
  }

  async get(key: string, now: number): Promise<CacheEntry | undefined> {
    checkKey('redisCacheStore.get', key);
    let fields: (Buffer | null)[];
    try {
      fields = await this.client.hmgetBuffer(this.entryKey(key), ...FIELDS);
    } catch (error) {
      throw unavailable(`get(${JSON.stringify(key)})`, error);
    }
    const [v, e, s, t, u] = fields;
    if (v == null || e == null || s == null) return undefined;
    const staleUntil = Number(s.toString());
    if (!(now < staleUntil)) return undefined;
    let value: unknown;
    if (u == null) {
      try {
        value = this.serializer.deserialize(v);
      } catch (error) {
        throw new TypeError(
          `redisCacheStore.get: cannot deserialize the value of key ${JSON.stringify(key)}: ${(error as Error)?.message}`,
          { cause: error },
        );
      }
    }
    const tags = t == null ? undefined : (JSON.parse(t.toString()) as string[]);
    return { value, expiresAt: Number(e.toString()), staleUntil, tags };
  }

  async set(key: string, entry: CacheEntry, now: number): Promise<void> {
    checkKey('redisCacheStore.set', key);
    const tags = checkTags('redisCacheStore.set', entry?.tags);
    const { expiresAt, staleUntil } = entry;
    if (
      typeof expiresAt !== 'number' ||
      typeof staleUntil !== 'number' ||
      !(staleUntil >= expiresAt)
    ) {
      throw new TypeError(
        `redisCacheStore.set: entry needs numbers expiresAt <= staleUntil, got ${String(expiresAt)} and ${String(staleUntil)}`,
      );
    }
    // Encoded before anything is sent: a value that cannot be encoded leaves Redis untouched.
    const payload = entry.value === undefined ? '' : this.encode(key, entry.value);
    const ttlMs = staleUntil - now;
    try {
      if (!(ttlMs > 0)) {
        await this.client.del(this.entryKey(key));
        return;
      }
      const px = staleUntil === Number.POSITIVE_INFINITY ? 0 : Math.max(1, Math.ceil(ttlMs));
      const keys = [this.entryKey(key)];
      if (tags !== undefined) for (const tag of tags) keys.push(this.tagKey(tag));
      await SET_ENTRY.run(this.client, keys, [
        payload,
        String(expiresAt),
        String(staleUntil),
        tags === undefined ? '' : JSON.stringify(tags),
        entry.value === undefined ? '1' : '0',
        px,
      ]);
    } catch (error) {
      throw unavailable(`set(${JSON.stringify(key)})`, error);
    }
  }

  async delete(key: string): Promise<void> {
    checkKey('redisCacheStore.delete', key);
    try {
      await this.client.del(this.entryKey(key));
    } catch (error) {
      throw unavailable(`delete(${JSON.stringify(key)})`, error);
    }
  }

  async deleteByTag(tag: string): Promise<void> {
    checkTag('redisCacheStore.deleteByTag', tag);
    try {
      await DELETE_TAG.run(this.client, [this.tagKey(tag)], [tag]);
    } catch (error) {
      throw unavailable(`deleteByTag(${JSON.stringify(tag)})`, error);
    }
  }

  /** `SET lock token NX PX leaseMs`: the token when taken, undefined when another holds it. */
  async acquireLock(key: string, leaseMs: number): Promise<string | undefined> {
    checkKey('redisCacheStore.acquireLock', key);
    if (typeof leaseMs !== 'number' || !(leaseMs > 0) || !Number.isFinite(leaseMs)) {
      throw new RangeError(
        `redisCacheStore.acquireLock: leaseMs must be a finite number > 0, got ${String(leaseMs)}`,
      );
    }
    const token = randomUUID();
    let reply: string | null;
    try {
      reply = await this.client.set(this.lockKey(key), token, 'PX', Math.ceil(leaseMs), 'NX');
    } catch (error) {
      throw unavailable(`acquireLock(${JSON.stringify(key)})`, error);
    }
    return reply === 'OK' ? token : undefined;
  }

  async releaseLock(key: string, token: string): Promise<void> {
    try {
      await RELEASE_LOCK.run(this.client, [this.lockKey(key)], [token]);
    } catch (error) {
      throw unavailable(`releaseLock(${JSON.stringify(key)})`, error);
    }
  }

  private encode(key: string, value: unknown): string | Buffer {
    let data: unknown;
    try {
      data = this.serializer.serialize(value);
    } catch (error) {
      throw new TypeError(
        `redisCacheStore.set: cannot serialize the value of key ${JSON.stringify(key)}: ${(error as Error)?.message}`,
        { cause: error },
      );
    }
    if (typeof data !== 'string' && !Buffer.isBuffer(data)) {
      throw new TypeError(
        `redisCacheStore.set: the serializer must return a string or a Buffer for key ${JSON.stringify(key)}, got ${typeof data}`,
      );
    }
    return data;
  }
}

/** A `CacheStore` over Redis: `cacheAside({ store: redisCacheStore({ client, prefix }) })`. */
export function redisCacheStore(options: RedisCacheStoreOptions): RedisCacheStore {
  return new RedisCacheStore(options);
}
