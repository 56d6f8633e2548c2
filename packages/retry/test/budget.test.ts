import { type PolicyEvent, pipeline } from '@bulwark/core';
import { manualClock } from '@bulwark/core/testing';
import { constant, retry, retryBudget } from '@bulwark/retry';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('retryBudget', () => {
  it('grants minPerSecond x window retries with no traffic at all', () => {
    const budget = retryBudget({ minPerSecond: 2, windowMs: 5_000, clock: manualClock() });
    const granted = Array.from({ length: 12 }, () => budget.tryWithdraw());
    expect(granted.filter(Boolean)).toHaveLength(10);
    expect(granted.slice(10)).toEqual([false, false]);
  });

  it('grants ratio x calls on top of the reserve', () => {
    const budget = retryBudget({ ratio: 0.2, minPerSecond: 0, clock: manualClock() });
    for (let i = 0; i < 50; i++) budget.deposit();
    const granted = Array.from({ length: 11 }, () => budget.tryWithdraw());
    expect(granted.filter(Boolean)).toHaveLength(10);
    expect(granted[10]).toBe(false);
  });

  it('forgets calls older than the window', async () => {
    const clock = manualClock();
    const budget = retryBudget({ ratio: 0.5, minPerSecond: 0, windowMs: 1_000, clock });
    for (let i = 0; i < 10; i++) budget.deposit();
    expect(budget.available).toBe(5);
    await clock.advance(999);
    expect(budget.available).toBe(5);
    await clock.advance(1);
    expect(budget.available).toBe(0);
  });

  it('slides in steps of a tenth of the window', async () => {
    const clock = manualClock();
    const budget = retryBudget({ ratio: 1, minPerSecond: 0, windowMs: 1_000, clock });
    budget.deposit();
    await clock.advance(500);
    budget.deposit();
    await clock.advance(500);
    expect(budget.available).toBe(1);
    await clock.advance(500);
    expect(budget.available).toBe(0);
  });

  it('gives retries back once they leave the window', async () => {
    const clock = manualClock();
    const budget = retryBudget({ minPerSecond: 1, windowMs: 2_000, clock });
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(false);
    // A retry is remembered while its bucket (a tenth of the window) overlaps the window.
    await clock.advance(2_199);
    expect(budget.tryWithdraw()).toBe(false);
    await clock.advance(1);
    expect(budget.tryWithdraw()).toBe(true);
  });

  it('reports calls, retries and what is available', () => {
    const budget = retryBudget({
      ratio: 0.5,
      minPerSecond: 1,
      windowMs: 1_000,
      clock: manualClock(),
    });
    for (let i = 0; i < 4; i++) budget.deposit();
    budget.tryWithdraw();
    expect(budget.stats()).toEqual({ calls: 4, retries: 1, available: 2 });
    expect(budget.available).toBe(2);
  });

  it('sets no timer', () => {
    const clock = manualClock();
    const budget = retryBudget({ clock });
    budget.deposit();
    budget.tryWithdraw();
    expect(clock.pendingTimers).toBe(0);
  });

  it('never lets retries exceed ratio x calls + minPerSecond x window, over any traffic', async () => {
    const step = fc.record({
      waitMs: fc.oneof(
        fc.constant(0),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 3_000 }),
      ),
      op: fc.constantFrom('call', 'call', 'retry'),
    });
    const config = fc.record({
      ratio: fc.double({ min: 0.01, max: 1, noNaN: true }),
      minPerSecond: fc.double({ min: 0, max: 5, noNaN: true }),
      windowMs: fc.integer({ min: 10, max: 20_000 }),
    });
    await fc.assert(
      fc.asyncProperty(
        config,
        fc.array(step, { maxLength: 400, size: 'large' }),
        async (o, steps) => {
          const clock = manualClock();
          const budget = retryBudget({ ...o, clock });
          const reserve = (o.minPerSecond * o.windowMs) / 1000;
          const bucketMs = o.windowMs / 10;
          const calls: number[] = [];
          const retries: number[] = [];
          const count = (times: number[], after: number) => times.filter((t) => t > after).length;
          for (const { waitMs, op } of steps) {
            await clock.advance(waitMs);
            const now = clock.now();
            if (op === 'call') {
              budget.deposit();
              calls.push(now);
            } else if (budget.tryWithdraw()) {
              retries.push(now);
              // The bound, over the windowMs that ends with this retry.
              const since = now - o.windowMs;
              expect(count(retries, since)).toBeLessThanOrEqual(
                o.ratio * count(calls, since) + reserve,
              );
            } else {
              // A refusal is never more than a bucket's worth too strict.
              expect(count(retries, now - o.windowMs - bucketMs - 1) + 1).toBeGreaterThan(
                o.ratio * count(calls, now - o.windowMs + bucketMs) + reserve,
              );
            }
          }
        },
      ),
      { numRuns: 300, interruptAfterTimeLimit: 10_000 },
    );
  });
});

describe('retry with a budget', () => {
  it('gives up with the last error and emits budget-exhausted when the budget is empty', async () => {
    const clock = manualClock();
    const budget = retryBudget({ ratio: 0.1, minPerSecond: 0, clock });
    const events: PolicyEvent[] = [];
    const policy = retry({ maxAttempts: 5, backoff: constant(0), budget, clock });
    policy.on((e) => events.push(e));
    const error = new Error('down');
    let calls = 0;
    await expect(
      policy.execute(() => {
        calls++;
        return Promise.reject(error);
      }),
    ).rejects.toBe(error);
    expect(calls).toBe(1);
    expect(events).toEqual([
      { policy: 'retry', type: 'budget-exhausted', attempt: 1, error },
      { policy: 'retry', type: 'give-up', attempts: 1, error },
    ]);
  });

  it('deposits once per call, not per attempt', async () => {
    const clock = manualClock();
    const budget = retryBudget({ ratio: 1, minPerSecond: 1, windowMs: 1_000, clock });
    const policy = retry({ maxAttempts: 3, backoff: constant(0), budget, clock });
    await policy.execute(() => Promise.reject(new Error('x'))).catch(() => undefined);
    expect(budget.stats()).toEqual({ calls: 1, retries: 2, available: 0 });
  });

  it('is shared by every policy that holds it', async () => {
    const clock = manualClock();
    const budget = retryBudget({ ratio: 0.1, minPerSecond: 0.1, windowMs: 10_000, clock });
    const a = retry({ maxAttempts: 10, backoff: constant(0), budget, clock });
    const b = retry({ maxAttempts: 10, backoff: constant(0), budget, clock });
    let calls = 0;
    const failing = () => {
      calls++;
      return Promise.reject(new Error('outage'));
    };
    // Two layers each allowed 10 calls: without the budget 100 calls; with it, 1 + 1 retry each.
    await pipeline(a, b)
      .execute(failing)
      .catch(() => undefined);
    expect(budget.stats().retries).toBeLessThanOrEqual(0.1 * budget.stats().calls + 1);
    expect(calls).toBeLessThan(5);
  });

  it('allows a real retry while the budget has room', async () => {
    const clock = manualClock();
    const budget = retryBudget({ clock });
    let calls = 0;
    const value = await retry({ backoff: constant(0), budget, clock }).execute(() =>
      ++calls < 2 ? Promise.reject(new Error('blip')) : 'ok',
    );
    expect(value).toBe('ok');
    expect(budget.stats()).toMatchObject({ calls: 1, retries: 1 });
  });
});
