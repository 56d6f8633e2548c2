import type { RedisClient } from '../shared/client.js';
import type { RedisHealth } from '../shared/health.js';
import { abandonScript } from './scripts.js';

/** Where the nonces of claims abandoned before they reached Redis wait: the record's hash tag. */
export function abandonedKey(redisKey: string): string {
  return `${redisKey}:abandoned`;
}

interface Abandoned {
  readonly redisKey: string;
  readonly ttlMs: number;
}

// Claims whose fate is unknown, remembered until freed; past this many the oldest are left to
// their lease (an outage with more claims in flight than this is rare, and memory is bounded).
const MAX_PENDING = 10_000;

/**
 * Claims that were sent but whose answer never reached the caller (the caller was refused, so
 * fn never ran). Redis may still run them — on a thaw, or replayed by ioredis after a reconnect —
 * and such a claim would hold its key for a whole lease. Each is freed by its nonce, at once if
 * the client is connected and again after every recovery until Redis confirms it: the abandon
 * deletes the claim if it landed, and otherwise leaves a tombstone that the claim, should it
 * arrive later, obeys.
 */
export class AbandonedClaims {
  private readonly pending = new Map<string, Abandoned>();
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

  add(redisKey: string, nonce: string, ttlMs: number): void {
    if (this.pending.size >= MAX_PENDING) {
      const oldest = this.pending.keys().next().value as string;
      this.pending.delete(oldest);
    }
    const claim = { redisKey, ttlMs };
    this.pending.set(nonce, claim);
    this.free(nonce, claim);
  }

  close(): void {
    this.unsubscribe();
    this.pending.clear();
  }

  private flush(): void {
    for (const [nonce, claim] of this.pending) this.free(nonce, claim);
  }

  private free(nonce: string, { redisKey, ttlMs }: Abandoned): void {
    // Never into ioredis' offline queue: the next recovery sends it.
    if (this.client.status !== 'ready') return;
    abandonScript.run(this.client, [redisKey, abandonedKey(redisKey)], [nonce, ttlMs]).then(
      () => this.pending.delete(nonce),
      () => {}, // still pending: the next recovery sends it again
    );
  }
}
