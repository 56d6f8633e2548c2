import { circuitBreaker, failureRateBreaker } from '@bulwark/circuit-breaker';
import { manualClock } from '@bulwark/core/testing';
import { describe, expect, it } from 'vitest';
import { failCalls, passCalls } from './helpers.js';

describe('failureRateBreaker', () => {
  it('opens the circuit when half of the last calls failed, once there are minimumCalls', async () => {
    const clock = manualClock();
    const breaker = circuitBreaker({
      breaker: failureRateBreaker({ window: { calls: 10 }, minimumCalls: 6 }),
      clock,
    });
    await passCalls(breaker, 3);
    await failCalls(breaker, 2);
    expect(breaker.state).toBe('closed'); // 5 calls: under minimumCalls
    await failCalls(breaker, 1);
    expect(breaker.state).toBe('open'); // 3 of 6
  });

  it('decides once full when the count window is smaller than minimumCalls', () => {
    const breaker = failureRateBreaker({ window: { calls: 4 } }); // minimumCalls 20 by default
    for (let i = 0; i < 3; i++) expect(breaker.failure(0, 0)).toBe(false);
    expect(breaker.failure(0, 0)).toBe(true);
  });

  it('forgets failures older than its time window', async () => {
    const clock = manualClock();
    const breaker = circuitBreaker({
      breaker: failureRateBreaker({ window: { ms: 1_000, buckets: 10 }, minimumCalls: 4 }),
      clock,
    });
    await failCalls(breaker, 3);
    await clock.advance(1_000);
    await passCalls(breaker, 3);
    await failCalls(breaker, 1);
    expect(breaker.stats()).toMatchObject({ state: 'closed', calls: 4, failures: 1 });
  });

  it('opens on the slow-call rate, as resilience4j does', async () => {
    const clock = manualClock();
    const breaker = circuitBreaker({
      breaker: failureRateBreaker({
        window: { calls: 4 },
        minimumCalls: 4,
        slowCallMs: 100,
        slowCallRateThreshold: 0.5,
      }),
      clock,
    });
    const slowCall = () => clock.advance(101).then(() => 'late');
    await passCalls(breaker, 2);
    await breaker.execute(slowCall);
    expect(breaker.state).toBe('closed');
    await breaker.execute(slowCall);
    expect(breaker.stats()).toMatchObject({ state: 'open', slowCalls: 2, slowCallRate: 0.5 });
  });

  it('counts a call of exactly slowCallMs as not slow', () => {
    const breaker = failureRateBreaker({ window: { calls: 5 }, slowCallMs: 100 });
    breaker.success(0, 100);
    breaker.success(0, 100.5);
    expect(breaker.counts(0).slowCalls).toBe(1);
  });

  it('opens on slow calls only when all of the window is slow, by default', () => {
    const breaker = failureRateBreaker({ window: { calls: 2 }, slowCallMs: 10 });
    expect(breaker.success(0, 11)).toBe(false);
    expect(breaker.success(0, 5)).toBe(false);
    expect(breaker.success(0, 11)).toBe(false);
    expect(breaker.success(0, 11)).toBe(true);
  });

  it('counts a slow failure as both slow and failed', () => {
    const breaker = failureRateBreaker({ window: { calls: 5 }, slowCallMs: 10 });
    breaker.failure(0, 50);
    expect(breaker.counts(0)).toEqual({ calls: 1, failures: 1, slowCalls: 1 });
  });

  it.each([
    ['a count window', { window: { calls: 50 } }, 0],
    ['a time window', { window: { ms: 1_000 } }, 1],
    ['slow-call detection', { window: { calls: 50 }, slowCallMs: 100 }, 2],
  ] as const)('reads the clock only as often as %s needs', async (_, options, perCall) => {
    const clock = manualClock();
    let reads = 0;
    const counting = {
      now: () => {
        reads++;
        return clock.now();
      },
      setTimer: clock.setTimer,
    };
    const breaker = circuitBreaker({ breaker: failureRateBreaker(options), clock: counting });
    const before = reads;
    await passCalls(breaker, 10);
    await failCalls(breaker, 9); // under minimumCalls: opening would read it once more
    expect(reads - before).toBe(19 * perCall);
    expect(clock.pendingTimers).toBe(0);
  });

  it('asks for the clock only as far as it needs it', () => {
    expect(failureRateBreaker({ window: { calls: 5 } }).timing).toBe('none');
    expect(failureRateBreaker({ window: { ms: 1_000 } }).timing).toBe('end');
    expect(failureRateBreaker({ window: { calls: 5 }, slowCallMs: 1 }).timing).toBe('duration');
    expect(failureRateBreaker({ window: { ms: 1_000 }, slowCallMs: 1 }).timing).toBe('duration');
  });
});
