import { manualClock } from '@bulwark/core/testing';
import { describe, expect, it } from 'vitest';

describe('manualClock', () => {
  it('fires due timers in time order, and moves now to each', async () => {
    const clock = manualClock(1000);
    const fired: Array<[string, number]> = [];
    clock.setTimer(() => fired.push(['b', clock.now()]), 20);
    clock.setTimer(() => fired.push(['a', clock.now()]), 10);
    clock.setTimer(() => fired.push(['c', clock.now()]), 30);
    await clock.advance(25);
    expect(fired).toEqual([
      ['a', 1010],
      ['b', 1020],
    ]);
    expect(clock.now()).toBe(1025);
    expect(clock.pendingTimers).toBe(1);
  });

  it('fires timers of equal time in the order they were set', async () => {
    const clock = manualClock();
    const fired: number[] = [];
    for (const n of [1, 2, 3]) clock.setTimer(() => fired.push(n), 5);
    await clock.advance(5);
    expect(fired).toEqual([1, 2, 3]);
  });

  it('lets queued promise jobs run before firing timers', async () => {
    const clock = manualClock();
    const log: string[] = [];
    void (async () => {
      await null;
      await null;
      log.push('job');
      clock.setTimer(() => log.push('timer'), 10);
    })();
    await clock.advance(10);
    expect(log).toEqual(['job', 'timer']);
  });

  it('runs a chain of timers that each start in a promise job, as far as time allows', async () => {
    const clock = manualClock();
    const ticks: number[] = [];
    const sleep = (ms: number) => new Promise<void>((r) => clock.setTimer(r, ms));
    void (async () => {
      for (let i = 0; i < 5; i++) {
        await sleep(100);
        ticks.push(clock.now());
      }
    })();
    await clock.advance(350);
    expect(ticks).toEqual([100, 200, 300]);
  });

  it('does not fire a cancelled timer', async () => {
    const clock = manualClock();
    let fired = false;
    const cancel = clock.setTimer(() => (fired = true), 1);
    cancel();
    await clock.advance(10);
    expect(fired).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });

  it('refuses to go back in time', async () => {
    await expect(manualClock().advance(-1)).rejects.toThrow(
      /advance: ms must be a finite number >= 0, got -1/,
    );
    expect(() => manualClock(Number.NaN)).toThrow(RangeError);
  });
});

describe('manualClock.jump', () => {
  it('moves time without firing timers; the next advance fires the due ones late, in order', async () => {
    const clock = manualClock();
    const fired: Array<[string, number]> = [];
    clock.setTimer(() => fired.push(['a', clock.now()]), 100);
    clock.setTimer(() => fired.push(['b', clock.now()]), 110);
    clock.setTimer(() => fired.push(['c', clock.now()]), 120);
    clock.jump(115);
    expect(fired).toEqual([]);
    await clock.advance(0);
    expect(fired).toEqual([
      ['a', 115],
      ['b', 115],
    ]);
    expect(clock.pendingTimers).toBe(1);
    expect(() => clock.jump(-1)).toThrow(RangeError);
  });
});
