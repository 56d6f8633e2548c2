import { manualClock } from '@bulwark/core/testing';
import { tokenBucket } from '@bulwark/rate-limit';
import { redisRateLimitStore } from '@bulwark/redis';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FakeRedis } from './rate-limit-fake-redis.js';

// Any UTF-16 string, lone surrogates and braces included.
const anyKey = fc
  .array(
    fc.oneof(
      fc.constantFrom(0x7b, 0x7d, 0x25, 0x20, 0xd83d, 0xde00),
      fc.integer({ min: 0, max: 0xffff }),
    ),
    {
      maxLength: 12,
    },
  )
  .map((codes) => String.fromCharCode(...codes));

describe('redisRateLimitStore keys', () => {
  it('maps distinct user keys to distinct Redis keys, each with exactly one hash tag', async () => {
    const redis = new FakeRedis();
    const store = redisRateLimitStore({ client: redis.asClient(), prefix: 'p:' });
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 1, store, clock: manualClock() });
    await fc.assert(
      fc.asyncProperty(anyKey, anyKey, async (a, b) => {
        redis.calls.length = 0;
        await limiter.take(a);
        await limiter.take(b);
        const [ka, kb] = redis.calls.map((c) => c.keys[0]);
        for (const k of [ka!, kb!]) {
          expect(k.startsWith('p:{') && k.endsWith('}')).toBe(true);
          expect(k.slice(3, -1)).not.toMatch(/[{}]/);
          // What Redis sees: the UTF-8 bytes. Distinct keys stay distinct there too.
          expect(Buffer.from(k).toString()).toBe(k);
        }
        expect(ka === kb).toBe(a === b);
      }),
      { numRuns: 2000 },
    );
  });
});
