import { type Clock, realClock, TimeoutError } from '@bulwark/core';
import { manualClock } from '@bulwark/core/testing';
import { timeout } from '@bulwark/timeout';
import { describe, expect, it } from 'vitest';
import { deferred, spyClock, track } from './helpers.js';

const never = () => new Promise<never>(() => {});

describe('timeout: the deadline queue', () => {
  it('gives each call its own deadline, counted from when it started', async () => {
    const clock = manualClock();
    const policy = timeout({ ms: 1000, clock });
    const rejectedAt: Record<string, number> = {};
    const start = (name: string) =>
      policy.execute(never).catch(() => {
        rejectedAt[name] = clock.now();
      });
    const calls = [start('a')];
    await clock.advance(300);
    calls.push(start('b'));
    await clock.advance(400);
    calls.push(start('c'));
    await clock.advance(2000);
    await Promise.all(calls);
    expect(rejectedAt).toEqual({ a: 1000, b: 1300, c: 1700 });
  });

  it('times out a call that started after an earlier one settled, at its own deadline', async () => {
    const clock = manualClock();
    const policy = timeout({ ms: 1000, clock });
    const first = deferred<number>();
    const a = track(policy.execute(() => first.promise));
    await clock.advance(500);
    first.resolve(1);
    await clock.advance(100);
    const b = track(policy.execute(never));
    await clock.advance(999); // t = 1599: a's old deadline has long passed
    expect(a).toEqual({ state: 'fulfilled', value: 1 });
    expect(b.state).toBe('pending');
    await clock.advance(1); // t = 1600
    expect(b.error).toBeInstanceOf(TimeoutError);
  });

  it('fires every deadline that passed at once when the clock fell behind', async () => {
    const clock = manualClock();
    const policy = timeout({ ms: 100, clock });
    const calls = [track(policy.execute(never))];
    await new Promise((r) => setImmediate(r));
    clock.jump(10);
    calls.push(track(policy.execute(never)));
    await new Promise((r) => setImmediate(r));
    clock.jump(10);
    calls.push(track(policy.execute(never)));
    await new Promise((r) => setImmediate(r));
    clock.jump(95); // t = 115: the loop was blocked: two deadlines (100, 110) passed, one (120) did not
    await clock.advance(0);
    await new Promise((r) => setImmediate(r));
    expect(calls.map((c) => c.state)).toEqual(['rejected', 'rejected', 'pending']);
    expect(clock.pendingTimers).toBe(1);
    clock.jump(4);
    await clock.advance(0);
    await new Promise((r) => setImmediate(r));
    expect(calls[2]?.state).toBe('pending');
    clock.jump(1);
    await clock.advance(0);
    await new Promise((r) => setImmediate(r));
    expect(calls[2]?.state).toBe('rejected');
    expect(clock.pendingTimers).toBe(0);
  });

  it('times out calls that started together all at the same moment', async () => {
    const clock = manualClock();
    const policy = timeout({ ms: 20, clock });
    const calls = Array.from({ length: 5 }, () => track(policy.execute(never)));
    await clock.advance(19);
    expect(calls.every((c) => c.state === 'pending')).toBe(true);
    await clock.advance(1);
    expect(calls.every((c) => c.error instanceof TimeoutError)).toBe(true);
  });
});

describe('timeout: the shared timer', () => {
  it('holds one timer of kind call while calls are pending, and none once they settle', async () => {
    const clock = spyClock();
    const policy = timeout({ ms: 1000, clock });
    const works = Array.from({ length: 100 }, () => deferred<number>());
    const calls = works.map((w) => policy.execute(() => w.promise));
    await clock.advance(10);
    expect(clock.pendingTimers).toBe(1);
    expect(clock.kinds).toEqual(['call']);
    for (const w of works.slice(1)) w.resolve(1);
    await Promise.all(calls.slice(1));
    expect(clock.pendingTimers).toBe(1);
    works[0]?.resolve(1);
    await calls[0];
    expect(clock.pendingTimers).toBe(0); // at once, not at some later tick
  });

  it('leaves no timer once the last call has timed out', async () => {
    const clock = manualClock();
    const policy = timeout({ ms: 10, clock });
    const calls = [track(policy.execute(never)), track(policy.execute(never))];
    await clock.advance(10);
    expect(calls.map((c) => c.state)).toEqual(['rejected', 'rejected']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('sets no timer for calls that settle in the tick they started in', async () => {
    const clock = spyClock();
    const policy = timeout({ ms: 1000, clock });
    for (let i = 0; i < 100; i++) await policy.execute(async () => i);
    expect(clock.timersSet).toBe(0);
    await clock.flush();
    expect(clock.timersSet).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('re-arms one timer for the next deadline when it fires', async () => {
    const clock = spyClock();
    const policy = timeout({ ms: 100, clock });
    const a = track(policy.execute(never));
    await clock.advance(30);
    const b = track(policy.execute(never));
    await clock.advance(70);
    expect(a.state).toBe('rejected');
    expect(b.state).toBe('pending');
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(30);
    expect(b.state).toBe('rejected');
    expect(clock.timersSet).toBe(2);
    expect(clock.pendingTimers).toBe(0);
  });

  it('releases the real timer as soon as the last call settles', async () => {
    let live = 0;
    const counting: Clock = {
      now: realClock.now,
      setTimer(callback, ms, kind) {
        live++;
        const cancel = realClock.setTimer(
          () => {
            live--;
            callback();
          },
          ms,
          kind,
        );
        return () => {
          live--;
          cancel();
        };
      },
    };
    const policy = timeout({ ms: 60_000, clock: counting });
    const work = deferred<number>();
    const call = policy.execute(() => work.promise);
    await new Promise((r) => setImmediate(r));
    expect(live).toBe(1);
    work.resolve(1);
    await call;
    expect(live).toBe(0);
  });
});
