/**
 * The state the example services keep: in Redis when REDIS_URL is set, so several processes
 * share one rate limit and one set of idempotency records; in memory otherwise.
 */
import type { IdempotencyStore } from '@bulwark/idempotency';
import { type RateLimitStore, tokenBucket } from '@bulwark/rate-limit';
import { redisIdempotencyStore, redisRateLimitStore } from '@bulwark/redis';
import { Redis } from 'ioredis';

export interface Stores {
  describe: string;
  rateLimit?: RateLimitStore;
  idempotency?: IdempotencyStore;
  close(): Promise<void>;
}

export function stores(service: string): Stores {
  const url = process.env.REDIS_URL;
  if (!url)
    return {
      describe: 'memory (set REDIS_URL to share state through Redis)',
      close: async () => {},
    };
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  const prefix = process.env.REDIS_PREFIX ?? `example:${service}:`;
  return {
    describe: `Redis at ${url}, keys under ${prefix}`,
    rateLimit: redisRateLimitStore({ client, prefix: `${prefix}rl:` }),
    idempotency: redisIdempotencyStore({ client, prefix: `${prefix}idem:` }),
    close: async () => {
      await client.quit();
    },
  };
}

/** 20 requests at once per client, then 5 a second. */
export function perClientLimiter(store: RateLimitStore | undefined) {
  return tokenBucket({ capacity: 20, refillPerSecond: 5, ...(store ? { store } : {}) });
}

/** A report that takes `ms` to build, and stops when the signal says so. */
export function buildReport(
  ms: number,
  signal: AbortSignal | undefined,
): Promise<{ rows: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve({ rows: Math.round(ms) }), ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

let nextPayment = 1;
/** Charges once per call: the idempotency key is what keeps a retried POST from charging twice. */
export function charge(body: unknown): { id: string; amount: unknown; charged: number } {
  const amount = (body as { amount?: unknown } | undefined)?.amount ?? null;
  return { id: `pay_${nextPayment}`, amount, charged: nextPayment++ };
}

export function usage(url: string, storesDescribe: string): string {
  return [
    `listening on ${url} (state in ${storesDescribe})`,
    `  curl -i ${url}/users/42                                   # RateLimit fields; 429 past 20 quick calls`,
    `  curl -i -X POST ${url}/payments -H 'Idempotency-Key: k1' -H 'Content-Type: application/json' -d '{"amount":100}'`,
    '                                                            # again: the same payment, Idempotent-Replayed: true',
    `  curl -i '${url}/reports?ms=2000'                          # 504 after 1 s; 503 past 2 running + 2 queued`,
  ].join('\n');
}
