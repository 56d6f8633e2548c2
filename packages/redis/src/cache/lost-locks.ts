import type { RedisClient } from '../shared/client.js';
import { RELEASE_LOCK } from './scripts.js';

// Past this many, the oldest are forgotten: their own PX lease still frees them.
const MAX_REMEMBERED = 10_000;

/**
 * Fill locks this process may hold without knowing it: an acquire sent but not answered in
 * time, or a release that did not get through. ioredis may still deliver (or replay after a
 * reconnect) such a command, so each is released by its token as soon as Redis is back: a
 * lock whose holder gave up never keeps the other processes waiting for its lease.
 */
export class LostLocks {
  private readonly tokens = new Map<string, string>();

  constructor(private readonly client: RedisClient) {}

  /** `lockKey` may be held with `token`: release it when Redis answers again. */
  remember(lockKey: string, token: string): void {
    if (this.tokens.size >= MAX_REMEMBERED) {
      const oldest = this.tokens.keys().next().value;
      if (oldest !== undefined) this.tokens.delete(oldest);
    }
    this.tokens.set(lockKey, token);
  }

  /** Releases `lockKey` now if it holds `token`; sent directly, not through the store's gate. */
  release(lockKey: string, token: string): void {
    if (this.tokens.get(lockKey) === token) this.tokens.delete(lockKey);
    RELEASE_LOCK.run(this.client, [lockKey], [token]).catch(() => this.remember(lockKey, token));
  }

  /** Redis is back: releases every lock remembered (a no-op for the ones never taken). */
  releaseAll(): void {
    const all = [...this.tokens];
    this.tokens.clear();
    for (const [lockKey, token] of all) this.release(lockKey, token);
  }

  get size(): number {
    return this.tokens.size;
  }
}
