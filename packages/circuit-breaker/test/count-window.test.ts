import { failureRateBreaker } from '@bulwark/circuit-breaker';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const outcome = fc.record({ failed: fc.boolean(), slow: fc.boolean() });

describe('failure-rate breaker over a count window', () => {
  it('counts exactly the last N calls, and opens exactly when their rates reach a threshold', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 15 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 10 }),
        fc.array(outcome, { maxLength: 60 }),
        (size, minimumCalls, tenthsFailed, tenthsSlow, outcomes) => {
          const threshold = tenthsFailed / 10;
          const slowCallRateThreshold = tenthsSlow / 10;
          const breaker = failureRateBreaker({
            window: { calls: size },
            minimumCalls,
            threshold,
            slowCallMs: 100,
            slowCallRateThreshold,
          });
          const seen: Array<{ failed: boolean; slow: boolean }> = [];
          for (const o of outcomes) {
            const duration = o.slow ? 101 : 100;
            const trips = o.failed ? breaker.failure(0, duration) : breaker.success(0, duration);
            seen.push(o);
            const last = seen.slice(-size);
            const calls = last.length;
            const failures = last.filter((x) => x.failed).length;
            const slowCalls = last.filter((x) => x.slow).length;
            expect(breaker.counts(0)).toEqual({ calls, failures, slowCalls });
            const expected =
              calls >= Math.min(minimumCalls, size) &&
              (failures / calls >= threshold || slowCalls / calls >= slowCallRateThreshold);
            expect(trips).toBe(expected);
          }
        },
      ),
    );
  });

  it('starts empty again after reset', () => {
    const breaker = failureRateBreaker({ window: { calls: 3 } });
    breaker.failure(0, 0);
    breaker.failure(0, 0);
    breaker.reset();
    breaker.success(0, 0);
    expect(breaker.counts(0)).toEqual({ calls: 1, failures: 0, slowCalls: 0 });
    for (let i = 0; i < 3; i++) breaker.failure(0, 0);
    expect(breaker.counts(0)).toEqual({ calls: 3, failures: 3, slowCalls: 0 });
  });
});
