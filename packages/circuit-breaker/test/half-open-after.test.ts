import { circuitBreaker, consecutiveBreaker } from '@bulwark/circuit-breaker';
import { BrokenCircuitError } from '@bulwark/core';
import { manualClock } from '@bulwark/core/testing';
import { describe, expect, it, vi } from 'vitest';
import { failCalls, ok, rejection } from './helpers.js';

describe('halfOpenAfterMs as a backoff', () => {
  it('waits what the function gives for each open in a row, and starts over after a close', async () => {
    const clock = manualClock();
    const waits: number[] = [];
    const breaker = circuitBreaker({
      breaker: consecutiveBreaker(1),
      halfOpenAfterMs: (opens) => {
        waits.push(opens);
        return opens * 100;
      },
      clock,
    });
    await failCalls(breaker, 1); // open #1: 100 ms
    await clock.advance(100);
    await failCalls(breaker, 1); // the probe fails: open #2, 200 ms
    await clock.advance(199);
    expect(await rejection(breaker.execute(ok))).toBeInstanceOf(BrokenCircuitError);
    await clock.advance(1);
    await breaker.execute(ok); // closes
    await failCalls(breaker, 1); // open #1 again
    expect(((await rejection(breaker.execute(ok))) as BrokenCircuitError).retryAfterMs).toBe(100);
    expect(waits).toEqual([1, 1, 2, 1]); // the first is the check at construction
  });

  it('passes the previous wait, as retry backoffs expect: 0 at the first open', async () => {
    const clock = manualClock();
    const seen: Array<[number, number]> = [];
    const breaker = circuitBreaker({
      breaker: consecutiveBreaker(1),
      halfOpenAfterMs: (opens, previousMs) => {
        seen.push([opens, previousMs]);
        return previousMs * 2 || 100;
      },
      clock,
    });
    await failCalls(breaker, 1);
    await clock.advance(100);
    await failCalls(breaker, 1);
    await clock.advance(200);
    await failCalls(breaker, 1);
    expect(seen).toEqual([
      [1, 0],
      [1, 0],
      [2, 100],
      [3, 200],
    ]);
  });

  it('takes { initialMs, maxMs, factor } and doubles the wait up to maxMs', async () => {
    const clock = manualClock();
    const breaker = circuitBreaker({
      breaker: consecutiveBreaker(1),
      halfOpenAfterMs: { initialMs: 100, maxMs: 300 },
      clock,
    });
    const waits: number[] = [];
    breaker.on((e) => {
      if (e.type === 'open') waits.push(e.retryAfterMs as number);
    });
    await failCalls(breaker, 1);
    for (let i = 0; i < 3; i++) {
      await clock.advance(waits.at(-1)!);
      await failCalls(breaker, 1);
    }
    expect(waits).toEqual([100, 200, 300, 300]);
  });

  it('defaults the backoff object to 30 s doubling up to 5 minutes', async () => {
    const clock = manualClock();
    const breaker = circuitBreaker({ breaker: consecutiveBreaker(1), halfOpenAfterMs: {}, clock });
    const waits: number[] = [];
    breaker.on((e) => {
      if (e.type === 'open') waits.push(e.retryAfterMs as number);
    });
    await failCalls(breaker, 1);
    for (let i = 0; i < 5; i++) {
      await clock.advance(waits.at(-1)!);
      await failCalls(breaker, 1);
    }
    expect(waits).toEqual([30_000, 60_000, 120_000, 240_000, 300_000, 300_000]);
  });

  it('waits 30 s by default', async () => {
    const clock = manualClock();
    const breaker = circuitBreaker({ breaker: consecutiveBreaker(1), clock });
    await failCalls(breaker, 1);
    expect(((await rejection(breaker.execute(ok))) as BrokenCircuitError).retryAfterMs).toBe(
      30_000,
    );
  });

  it('warns and waits 30 s when the function later gives a bad value', async () => {
    const clock = manualClock();
    const breaker = circuitBreaker({
      breaker: consecutiveBreaker(1),
      halfOpenAfterMs: (opens) => (opens === 1 ? 10 : Number.NaN),
      clock,
    });
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      await failCalls(breaker, 1);
      await clock.advance(10);
      await failCalls(breaker, 1);
      expect(((await rejection(breaker.execute(ok))) as BrokenCircuitError).retryAfterMs).toBe(
        30_000,
      );
      expect(warn.mock.calls.map((c) => c[0])).toEqual([
        expect.stringMatching(/halfOpenAfterMs\(2\) gave NaN/),
      ]);
    } finally {
      warn.mockRestore();
    }
  });
});
