import { failureRateBreaker } from '@bulwark/circuit-breaker';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const step = fc.record({
  dt: fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 3_000 })),
  kind: fc.constantFrom('success', 'failure', 'read'),
  slow: fc.boolean(),
});

describe('failure-rate breaker over a time window', () => {
  it('counts exactly the calls of the last `buckets` slices of ms / buckets', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2_000 }),
        fc.integer({ min: 1, max: 12 }),
        fc.array(step, { maxLength: 80 }),
        (ms, buckets, steps) => {
          const breaker = failureRateBreaker({
            window: { ms, buckets },
            threshold: 1,
            minimumCalls: 1_000,
            slowCallMs: 10,
          });
          const width = ms / buckets;
          const slice = (t: number) => Math.floor(t / width);
          const calls: Array<{ at: number; failed: boolean; slow: boolean }> = [];
          let now = 0;
          for (const s of steps) {
            now += s.dt;
            if (s.kind !== 'read') {
              const duration = s.slow ? 11 : 10;
              if (s.kind === 'failure') breaker.failure(now, duration);
              else breaker.success(now, duration);
              calls.push({ at: now, failed: s.kind === 'failure', slow: s.slow });
            }
            const inWindow = calls.filter((c) => slice(c.at) > slice(now) - buckets);
            expect(breaker.counts(now)).toEqual({
              calls: inWindow.length,
              failures: inWindow.filter((c) => c.failed).length,
              slowCalls: inWindow.filter((c) => c.slow).length,
            });
          }
        },
      ),
    );
  });

  it('opens on the failure rate of the calls still in the window', () => {
    const breaker = failureRateBreaker({
      window: { ms: 10_000, buckets: 10 },
      minimumCalls: 4,
      threshold: 0.5,
    });
    breaker.failure(0, 0);
    breaker.failure(500, 0);
    breaker.success(9_000, 0);
    // The two failures of slice 0 are still in: 3 failures out of 4.
    expect(breaker.failure(9_999, 0)).toBe(true);
    // At 10 000 slice 0 has left: 1 failure and 1 success remain, under minimumCalls.
    expect(breaker.counts(10_000)).toEqual({ calls: 2, failures: 1, slowCalls: 0 });
    expect(breaker.success(10_000, 0)).toBe(false);
  });

  it('forgets everything once a whole window has passed', () => {
    const breaker = failureRateBreaker({ window: { ms: 1_000 } });
    for (let i = 0; i < 50; i++) breaker.failure(i * 20, 0); // slices 0 to 9, 5 calls each
    expect(breaker.counts(1_099).calls).toBe(45);
    expect(breaker.counts(5_000)).toEqual({ calls: 0, failures: 0, slowCalls: 0 });
  });

  it('keeps counting into the current slice if the clock steps back', () => {
    const breaker = failureRateBreaker({ window: { ms: 1_000 } });
    breaker.failure(5_000, 0);
    breaker.failure(4_000, 0);
    expect(breaker.counts(5_000).calls).toBe(2);
  });
});
