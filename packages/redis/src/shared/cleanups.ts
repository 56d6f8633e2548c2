import type { RedisClient } from './client.js';
import type { RedisHealth } from './health.js';

// Past this many, the oldest are forgotten: what they undo still expires on its own.
const MAX_PENDING = 10_000;

/**
 * Commands that undo what this process may have left in Redis without knowing it: a claim or a
 * fill lock whose answer never reached the caller, which Redis may still run (on a thaw, or
 * replayed by ioredis after a reconnect). Each is sent at once if the client is connected (so it
 * runs behind the command it undoes on the same connection) and again after every recovery,
 * until Redis confirms it; never into ioredis' offline queue. Each undo must be idempotent.
 */
export class Cleanups {
  private readonly pending = new Map<string, () => Promise<unknown>>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly client: RedisClient,
    health: RedisHealth,
  ) {
    this.unsubscribe = health.on((event) => {
      if (event.type === 'store-recovered') {
        for (const [id, undo] of this.pending) this.send(id, undo);
      }
    });
  }

  get size(): number {
    return this.pending.size;
  }

  /** Undoes `id` (a nonce, a lock token) with `undo`, now if connected and after each recovery. */
  add(id: string, undo: () => Promise<unknown>): void {
    if (this.pending.size >= MAX_PENDING) {
      const oldest = this.pending.keys().next().value;
      if (oldest !== undefined) this.pending.delete(oldest);
    }
    this.pending.set(id, undo);
    this.send(id, undo);
  }

  close(): void {
    this.unsubscribe();
    this.pending.clear();
  }

  private send(id: string, undo: () => Promise<unknown>): void {
    if (this.client.status !== 'ready') return;
    undo().then(
      () => {
        if (this.pending.get(id) === undo) this.pending.delete(id);
      },
      () => {}, // still pending: the next recovery sends it again
    );
  }
}
