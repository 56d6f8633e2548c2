import type { RedisClient } from '../shared/client.js';
import type { RedisHealth } from '../shared/health.js';
import { abandonScript } from './scripts.js';

// Claims whose fate is unknown, remembered until freed; past this many the oldest are left to
// their lease (an outage with more claims in flight than this is rare, and memory is bounded).
const MAX_PENDING = 10_000;

/**
 * Claims that were sent but whose answer never reached the caller (the caller was refused, so
 * fn never ran). Redis may still run them — on a thaw, or replayed by ioredis after a reconnect —
 * and such a claim would hold its key for a whole lease. Each is freed by its nonce: sent at
 * once on the same connection, it runs right after the claim; and again after every recovery.
 */
export class AbandonedClaims {
  /** nonce -> Redis key */
  private readonly pending = new Map<string, string>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly client: RedisClient,
    health: RedisHealth,
  ) {
    this.unsubscribe = health.on((event) => {
      if (event.type === 'store-recovered') this.flush();
    });
  }

  get size(): number {
    return this.pending.size;
  }

  add(redisKey: string, nonce: string): void {
    if (this.pending.size >= MAX_PENDING) {
      const oldest = this.pending.keys().next().value as string;
      this.pending.delete(oldest);
    }
    this.pending.set(nonce, redisKey);
    this.free(nonce, redisKey);
  }

  close(): void {
    this.unsubscribe();
    this.pending.clear();
  }

  private flush(): void {
    for (const [nonce, redisKey] of this.pending) this.free(nonce, redisKey);
  }

  private free(nonce: string, redisKey: string): void {
    // Never into ioredis' offline queue: a connected client sends it behind the claim itself.
    if (this.client.status !== 'ready') return;
    abandonScript.run(this.client, [redisKey], [nonce]).then(
      () => this.pending.delete(nonce),
      () => {}, // still pending: the next recovery sends it again
    );
  }
}
