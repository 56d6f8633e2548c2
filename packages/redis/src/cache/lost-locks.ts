import type { RedisClient } from '../shared/client.js';
import { RELEASE_LOST_LOCK } from './scripts.js';

// Past this many, the oldest are forgotten: their own PX lease still frees them.
const MAX_REMEMBERED = 10_000;

/** Where the tokens of locks given up before their acquire arrived wait: the lock's hash tag. */
export function tombstonesOf(lockKey: string): string {
  return `${lockKey}:abandoned`;
}

interface Lost {
  readonly token: string;
  readonly leaseMs: number;
}

/**
 * Fill locks this process may hold without knowing it: an acquire sent but not answered in
 * time, or a release that did not get through. ioredis may still deliver (or replay after a
 * reconnect) such a command, so each is released by its token as soon as Redis is back, and a
 * token whose acquire has not arrived yet is left as a tombstone the acquire obeys: a lock whose
 * holder gave up never keeps the other processes waiting for its lease, whichever comes first.
 */
export class LostLocks {
  private readonly locks = new Map<string, Lost>();

  constructor(private readonly client: RedisClient) {}

  /** `lockKey` may be held with `token`: release it when Redis answers again. */
  remember(lockKey: string, token: string, leaseMs: number): void {
    if (this.locks.size >= MAX_REMEMBERED) {
      const oldest = this.locks.keys().next().value;
      if (oldest !== undefined) this.locks.delete(oldest);
    }
    this.locks.set(lockKey, { token, leaseMs });
  }

  /** Releases `lockKey` now if it holds `token`; sent directly, not through the store's gate. */
  release(lockKey: string, token: string, leaseMs: number): void {
    if (this.locks.get(lockKey)?.token === token) this.locks.delete(lockKey);
    RELEASE_LOST_LOCK.run(this.client, [lockKey, tombstonesOf(lockKey)], [token, leaseMs]).catch(
      () => this.remember(lockKey, token, leaseMs),
    );
  }

  /** Redis is back: releases every lock remembered (a tombstone for the ones never taken). */
  releaseAll(): void {
    const all = [...this.locks];
    this.locks.clear();
    for (const [lockKey, { token, leaseMs }] of all) this.release(lockKey, token, leaseMs);
  }

  get size(): number {
    return this.locks.size;
  }
}
