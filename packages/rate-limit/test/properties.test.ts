import { manualClock } from '@bulwark/core/testing';
import { leakyBucket, tokenBucket } from '@bulwark/rate-limit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

// Takes at arbitrary times (fractions of a ms too), from a clock that may start anywhere,
// Unix-epoch-sized starts included.
const start = fc.oneof(fc.constant(0), fc.double({ min: 0, max: 2e12, noNaN: true }));
const delay = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 0, max: 2000 }),
  fc.double({ min: 0, max: 500, noNaN: true }),
);

describe('properties', () => {
  it('a token bucket admits at most capacity + refillPerSecond x elapsed cost over any span', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 50 }),
        fc.double({ min: 0.1, max: 1000, noNaN: true }),
        start,
        fc.array(fc.record({ delay, cost: fc.integer({ min: 1, max: 50 }), key: fc.nat(2) }), {
          maxLength: 120,
        }),
        async (capacity, refillPerSecond, from, takes) => {
          const clock = manualClock(from);
          const limiter = tokenBucket({ capacity, refillPerSecond, clock });
          const admitted: Array<{ at: number; cost: number; key: number }> = [];
          for (const { delay, cost, key } of takes) {
            await clock.advance(delay);
            if (cost > capacity) continue;
            const d = await limiter.take(`k${key}`, cost);
            if (d.allowed) admitted.push({ at: clock.now(), cost, key });
          }
          for (let i = 0; i < admitted.length; i++) {
            const sums = [0, 0, 0];
            for (let j = i; j < admitted.length; j++) {
              const a = admitted[j]!;
              sums[a.key]! += a.cost;
              const bound = capacity + (refillPerSecond * (a.at - admitted[i]!.at)) / 1000;
              expect(sums[a.key]!).toBeLessThanOrEqual(bound * (1 + 1e-9) + 1e-6);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a token bucket decides exactly like a bucket of tokens refilled continuously', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20 }),
        // Rates whose token interval is exact in binary, so both models round alike.
        fc.constantFrom(1, 2, 4, 5, 8, 10, 20, 25, 40, 50, 100, 125, 250, 500, 1000),
        fc.array(
          fc.record({
            delay: fc.integer({ min: 0, max: 1500 }),
            cost: fc.integer({ min: 1, max: 20 }),
          }),
          {
            maxLength: 80,
          },
        ),
        async (capacity, refillPerSecond, takes) => {
          const clock = manualClock();
          const limiter = tokenBucket({ capacity, refillPerSecond, clock });
          let tokens = capacity;
          let updatedAt = 0;
          for (const { delay, cost } of takes) {
            await clock.advance(delay);
            if (cost > capacity) continue;
            const now = clock.now();
            tokens = Math.min(capacity, tokens + ((now - updatedAt) * refillPerSecond) / 1000);
            updatedAt = now;
            const d = await limiter.take('k', cost);
            // The model's own sums round too: compare through a nanotoken of slack.
            expect(d.allowed).toBe(tokens + 1e-9 >= cost);
            if (d.allowed) tokens -= cost;
            expect(d.remaining).toBe(Math.floor(tokens + 1e-9));
            if (!d.allowed) {
              expect(d.retryAfterMs).toBe(
                Math.ceil(((cost - tokens) * 1000) / refillPerSecond - 1e-9),
              );
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a refused take succeeds when tried again retryAfterMs later', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 50 }),
        fc.double({ min: 0.1, max: 1000, noNaN: true }),
        start,
        fc.array(fc.record({ delay, cost: fc.integer({ min: 1, max: 50 }) }), { maxLength: 60 }),
        async (capacity, refillPerSecond, from, takes) => {
          const clock = manualClock(from);
          const limiter = tokenBucket({ capacity, refillPerSecond, clock });
          for (const { delay, cost } of takes) {
            await clock.advance(delay);
            if (cost > capacity) continue;
            const d = await limiter.take('k', cost);
            if (!d.allowed) {
              await clock.advance(d.retryAfterMs);
              expect((await limiter.take('k', cost)).allowed).toBe(true);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a leaky bucket never schedules two slots closer than cost / rate, nor queues more than maxQueue', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.double({ min: 0.1, max: 1000, noNaN: true }),
        fc.integer({ min: 0, max: 10 }),
        start,
        fc.array(fc.record({ delay, cost: fc.integer({ min: 1, max: 3 }) }), { maxLength: 120 }),
        async (ratePerSecond, maxQueue, from, takes) => {
          const clock = manualClock(from);
          const limiter = leakyBucket({ ratePerSecond, maxQueue, clock });
          const interval = 1000 / ratePerSecond;
          const slots: Array<{ at: number; cost: number }> = [];
          for (const { delay, cost } of takes) {
            await clock.advance(delay);
            if (cost > maxQueue + 1) continue;
            const now = clock.now();
            const d = await limiter.take('k', cost);
            if (!d.allowed) continue;
            const at = now + d.waitMs;
            const previous = slots.at(-1);
            if (previous) {
              expect(at - previous.at).toBeGreaterThanOrEqual(
                previous.cost * interval * (1 - 1e-9) - 1e-6 * Math.max(1, Math.abs(at) * 1e-9),
              );
            }
            slots.push({ at, cost });
            // Units waiting for their slot: those of calls whose slot is still ahead, plus the
            // later units of this call (a call of cost n holds n slots in a row).
            const waiting = slots.filter((s) => s.at > now + 1e-6).reduce((n, s) => n + s.cost, 0);
            expect(waiting + (d.waitMs > 1e-6 ? 0 : cost) - 1).toBeLessThanOrEqual(maxQueue);
            expect(d.waitMs).toBeLessThanOrEqual(
              (maxQueue + 1 - cost) * interval * (1 + 1e-9) + 1e-6,
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
