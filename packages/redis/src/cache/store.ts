import { randomUUID } from 'node:crypto';
import { type CacheEntry, type CacheStore, checkKey, checkTag, checkTags } from '@bulwark/cache';
import { Cleanups } from '../shared/cleanups.js';
import type { RedisClient } from '../shared/client.js';
import { RedisHealth, type RedisStoreListener } from '../shared/health.js';
import { storeKey } from '../shared/keys.js';
import { type RedisStoreOptions, resolveRedisOptions } from '../shared/options.js';
import {
  ACQUIRE_LOCK,
  ADD_TO_TAG,
  DELETE_IF_TAGGED,
  type EntryReply,
  GET_ENTRY,
  RELEASE_LOCK,
  RELEASE_LOST_LOCK,
  SET_ENTRY,
} from './scripts.js';
import { type CacheSerializer, jsonSerializer } from './serializer.js';
import { tombstonesOf } from './tombstones.js';

export interface RedisCacheStoreOptions extends RedisStoreOptions {
  /** Default: JSON that refuses functions, symbols and BigInt. */
  serializer?: CacheSerializer;
}

const WHERE = 'redisCacheStore';
const DEFAULTS = { prefix: 'bulwark:cache:', timeoutMs: 100 };

/** Milliseconds from `now` to `time`, as a script argument: 'inf' for no expiry. */
function remaining(time: number, now: number): string {
  return time === Number.POSITIVE_INFINITY ? 'inf' : String(Math.ceil(time - now));
}

/** The script's flag for an undefined value (kept: negative caching). */
function u(value: unknown): string {
  return value === undefined ? '1' : '0';
}

/** A time the reader's clock can compare: its `now` plus what Redis says is left. */
function after(now: number, left: Buffer): number {
  const text = left.toString();
  return text === 'inf' ? Number.POSITIVE_INFINITY : now + Number(text);
}

/**
 * Cache entries in Redis, one hash per key that Redis expires at the end of the stale window;
 * freshness is kept on Redis' clock (TIME), so hosts whose clocks differ agree. Every command
 * is bounded by `timeoutMs`; while Redis is away every call fails fast with
 * `StoreUnavailableError`, which `cacheAside` reads as a miss (the loader runs).
 */
export class RedisCacheStore implements CacheStore {
  readonly prefix: string;
  readonly timeoutMs: number;
  private readonly client: RedisClient;
  private readonly serializer: CacheSerializer;
  private readonly health: RedisHealth;
  /** Fill locks this process may hold without knowing it, released when Redis answers. */
  private readonly lostLocks: Cleanups;

  constructor(options: RedisCacheStoreOptions) {
    const o = resolveRedisOptions(WHERE, options, DEFAULTS, ['serializer']);
    const serializer = options.serializer ?? jsonSerializer;
    if (
      typeof serializer?.serialize !== 'function' ||
      typeof serializer?.deserialize !== 'function'
    ) {
      throw new TypeError(
        `${WHERE}: serializer must have serialize(value) and deserialize(buffer), got ${typeof serializer}`,
      );
    }
    this.client = o.client;
    this.prefix = o.prefix;
    this.timeoutMs = o.timeoutMs;
    this.serializer = serializer;
    this.health = new RedisHealth(o.client, {
      store: WHERE,
      timeoutMs: o.timeoutMs,
      clock: o.clock,
      onStoreError: 'miss',
    });
    this.lostLocks = new Cleanups(o.client, this.health);
  }

  /** False while Redis is away: every call then fails fast with `StoreUnavailableError`. */
  get available(): boolean {
    return this.health.available;
  }

  /** `store-error` (once per outage, `onStoreError: 'miss'`) and `store-recovered`. */
  on(listener: RedisStoreListener): () => void {
    return this.health.on(listener);
  }

  /** Stops watching the connection; the client stays open (it is the caller's). */
  close(): void {
    this.lostLocks.close();
    this.health.close();
  }

  /** The Redis key of an entry: `prefix` + `v{key}`. */
  entryKey(key: string): string {
    return storeKey(this.prefix, 'v', key);
  }

  /** The Redis set of the entries tagged `tag`: `prefix` + `t{tag}`, a slot of its own. */
  tagKey(tag: string): string {
    return storeKey(this.prefix, 't', tag);
  }

  /** The fill lock of a key: `prefix` + `l{key}`, in its entry's slot. */
  lockKey(key: string): string {
    return storeKey(this.prefix, 'l', key);
  }

  async get(key: string, now: number): Promise<CacheEntry | undefined> {
    checkKey('redisCacheStore.get', key);
    const entryKey = this.entryKey(key);
    const reply = await this.health.send(
      'get',
      () => GET_ENTRY.run(this.client, [entryKey], []),
      undefined,
      key,
    );
    return reply === null ? undefined : this.decode(key, reply, now);
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
    const entryKey = this.entryKey(key);
    if (!(staleUntil - now > 0)) {
      await this.health.send('set', () => this.client.del(entryKey), undefined, key);
      return;
    }
    const stale = remaining(staleUntil, now);
    // Fresh time may be past already (an entry served stale); clamped so Lua reads a number.
    const floor = stale === 'inf' ? -Number.MAX_SAFE_INTEGER : -Number(stale);
    const fresh =
      expiresAt === Number.POSITIVE_INFINITY
        ? 'inf'
        : String(Math.max(Math.ceil(expiresAt - now), floor));
    const tagged = tags !== undefined && tags.length > 0;
    const px = stale === 'inf' ? 0 : Number(stale);
    // Memberships first: one without its tagged entry is harmless, an entry without its
    // membership would survive invalidateTag. Each tag set is its own slot, its own command.
    if (tagged) await this.addToTags(key, entryKey, tags, px);
    const args = [payload, fresh, stale, tagged ? JSON.stringify(tags) : '', u(entry.value)];
    await this.health.send(
      'set',
      () => SET_ENTRY.run(this.client, [entryKey], args),
      undefined,
      key,
    );
    // Again after the write: an invalidateTag that read the first membership and removed it
    // while this write was on its way deletes the entry or leaves this membership.
    if (tagged) await this.addToTags(key, entryKey, tags, px);
  }

  private addToTags(key: string, entryKey: string, tags: readonly string[], px: number) {
    return Promise.all(
      tags.map((tag) => {
        const tagKey = this.tagKey(tag);
        return this.health.send(
          'set',
          () => ADD_TO_TAG.run(this.client, [tagKey], [entryKey, px]),
          undefined,
          key,
        );
      }),
    );
  }

  async delete(key: string): Promise<void> {
    checkKey('redisCacheStore.delete', key);
    const entryKey = this.entryKey(key);
    await this.health.send('delete', () => this.client.del(entryKey), undefined, key);
  }

  /**
   * Reads the tag set, deletes each member that still carries the tag (one single-slot script
   * per member), removes exactly the members it read (one added meanwhile stays), then deletes
   * them once more: an entry written while the membership was being removed goes too.
   */
  async deleteByTag(tag: string): Promise<void> {
    checkTag('redisCacheStore.deleteByTag', tag);
    const tagKey = this.tagKey(tag);
    const members = await this.health.send('deleteByTag', () => this.client.smembers(tagKey));
    if (members.length === 0) return;
    await this.deleteTagged(members, tag);
    await this.health.send('deleteByTag', () => this.client.srem(tagKey, ...members));
    await this.deleteTagged(members, tag);
  }

  private deleteTagged(members: readonly string[], tag: string) {
    return Promise.all(
      members.map((member) =>
        this.health.send('deleteByTag', () => DELETE_IF_TAGGED.run(this.client, [member], [tag])),
      ),
    );
  }

  /**
   * `SET lock token NX PX leaseMs`: the token when taken, undefined when another holds it. A
   * lock taken by a reply that came too late, or by a command ioredis replays after a
   * reconnect, is released by its token: it never outlives the call that gave up on it.
   */
  async acquireLock(key: string, leaseMs: number): Promise<string | undefined> {
    checkKey('redisCacheStore.acquireLock', key);
    if (typeof leaseMs !== 'number' || !(leaseMs > 0) || !Number.isFinite(leaseMs)) {
      throw new RangeError(
        `redisCacheStore.acquireLock: leaseMs must be a finite number > 0, got ${String(leaseMs)}`,
      );
    }
    const token = randomUUID();
    const lockKey = this.lockKey(key);
    const lease = Math.ceil(leaseMs);
    let sent = false;
    try {
      const taken = await this.health.send(
        'acquireLock',
        () => {
          sent = true;
          return ACQUIRE_LOCK.run(this.client, [lockKey, tombstonesOf(lockKey)], [token, lease]);
        },
        (late) => {
          if (late) this.releaseLost(lockKey, token, lease);
        },
        key,
      );
      return taken ? token : undefined;
    } catch (error) {
      if (sent) this.releaseLost(lockKey, token, lease);
      throw error;
    }
  }

  async releaseLock(key: string, token: string): Promise<void> {
    const lockKey = this.lockKey(key);
    try {
      await this.health.send(
        'releaseLock',
        () => RELEASE_LOCK.run(this.client, [lockKey], [token]),
        undefined,
        key,
      );
    } catch (error) {
      // Not released now: released when Redis is back, rather than held for its lease (its
      // acquire landed, so no tombstone is needed: lease 0).
      this.releaseLost(lockKey, token, 0);
      throw error;
    }
  }

  /**
   * Releases a lock this process may hold without knowing it; with a `leaseMs`, a token whose
   * acquire has not reached Redis yet is left as a tombstone that the acquire obeys.
   */
  private releaseLost(lockKey: string, token: string, leaseMs: number): void {
    this.lostLocks.add(token, () =>
      RELEASE_LOST_LOCK.run(this.client, [lockKey, tombstonesOf(lockKey)], [token, leaseMs]),
    );
  }

  private decode(key: string, reply: EntryReply, now: number): CacheEntry {
    const [v, fresh, stale, t, u] = reply;
    let value: unknown;
    if (u.length === 0) {
      try {
        value = this.serializer.deserialize(v);
      } catch (error) {
        throw new TypeError(
          `redisCacheStore.get: cannot deserialize the value of key ${JSON.stringify(key)}: ${(error as Error)?.message}`,
          { cause: error },
        );
      }
    }
    const tags = t.length === 0 ? undefined : (JSON.parse(t.toString()) as string[]);
    return { value, expiresAt: after(now, fresh), staleUntil: after(now, stale), tags };
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

/** A `CacheStore` over Redis: `cacheAside({ store: redisCacheStore({ client }) })`. */
export function redisCacheStore(options: RedisCacheStoreOptions): RedisCacheStore {
  return new RedisCacheStore(options);
}
