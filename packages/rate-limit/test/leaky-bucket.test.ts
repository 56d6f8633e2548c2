import { manualClock } from '@bulwark/core/testing';
import { leakyBucket } from '@bulwark/rate-limit';
import { describe, expect, it } from 'vitest';

function bucket(ratePerSecond: number, maxQueue: number) {
  const clock = manualClock();
  return { clock, limiter: leakyBucket({ ratePerSecond, maxQueue, clock }) };
}

describe('leakyBucket', () => {
  it('spaces calls at one instant 1/rate apart', async () => {
    const { limiter } = bucket(10, 5);
    const waits = [];
    for (let i = 0; i < 4; i++) waits.push((await limiter.take('k')).waitMs);
    expect(waits).toEqual([0, 100, 200, 300]);
  });

  it('refuses a call when maxQueue calls are already waiting', async () => {
    const { limiter } = bucket(10, 2);
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await limiter.take('k'));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(decisions[3]).toEqual({
      allowed: false,
      limit: 3,
      remaining: 0,
      retryAfterMs: 100,
      resetMs: 300,
      waitMs: 0,
    });
  });

  it('admits only a free slot when maxQueue is 0', async () => {
    const { clock, limiter } = bucket(10, 0);
    expect(await limiter.take('k')).toMatchObject({ allowed: true, waitMs: 0 });
    expect(await limiter.take('k')).toMatchObject({ allowed: false, retryAfterMs: 100 });
    await clock.advance(50);
    expect(await limiter.take('k')).toMatchObject({ allowed: false, retryAfterMs: 50 });
    await clock.advance(50);
    expect(await limiter.take('k')).toMatchObject({ allowed: true, waitMs: 0 });
  });

  it('counts in maxQueue only the calls still waiting for their slot', async () => {
    const { clock, limiter } = bucket(10, 1);
    await limiter.take('k'); // slot at 0
    await limiter.take('k'); // slot at 100, waiting
    await clock.advance(50);
    expect((await limiter.take('k')).allowed).toBe(false); // one still waits
    await clock.advance(50);
    // The second call's slot has come: nobody waits, so one more may queue.
    expect(await limiter.take('k')).toMatchObject({ allowed: true, waitMs: 100 });
  });

  it('gives a call the slot right after the previous one, not later', async () => {
    const { clock, limiter } = bucket(4, 10);
    await limiter.take('k');
    await clock.advance(100);
    expect((await limiter.take('k')).waitMs).toBe(150);
  });

  it('lets a call of cost n hold n slots in a row', async () => {
    const { limiter } = bucket(10, 5);
    expect((await limiter.take('k', 3)).waitMs).toBe(0);
    expect((await limiter.take('k')).waitMs).toBe(300);
  });

  it('is empty again resetMs after its last call', async () => {
    const { clock, limiter } = bucket(10, 5);
    await limiter.take('k');
    const last = await limiter.take('k');
    expect(last.resetMs).toBe(200);
    await clock.advance(200);
    expect((await limiter.take('k')).waitMs).toBe(0);
  });

  it('limits one call to maxQueue + 1 slots', async () => {
    const { limiter } = bucket(10, 2);
    expect(limiter.maxCost).toBe(3);
    await expect(limiter.take('k', 4)).rejects.toThrow(/maxQueue \+ 1 \(3\), got 4/);
  });

  it('sets no timer: waiting is the caller’s', async () => {
    const { clock, limiter } = bucket(10, 2);
    await limiter.take('k');
    await limiter.take('k');
    expect(clock.pendingTimers).toBe(0);
  });
});
