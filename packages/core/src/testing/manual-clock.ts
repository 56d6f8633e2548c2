import type { Clock, TimerKind } from '../clock.js';

/** A clock for tests: time moves only when `advance` says so. */
export interface ManualClock extends Clock {
  /**
   * Lets the promise jobs already queued run, then fires the timers that fall due within `ms`,
   * in time order, letting the jobs each one starts run before the next.
   */
  advance(ms: number): Promise<void>;
  /**
   * Moves time forward without firing any timer, as when the event loop was blocked: the
   * timers that fell due fire at the next `advance` (`advance(0)`), late, at the time jumped to.
   */
  jump(ms: number): void;
  /** Lets queued promise jobs run without moving time. */
  flush(): Promise<void>;
  /** Timers set and not yet fired or cancelled: 0 once every call has cleaned up. */
  readonly pendingTimers: number;
}

interface Timer {
  at: number;
  seq: number;
  callback: () => void;
  kind: TimerKind;
}

// setImmediate runs after the microtask queue is empty, however long its chains.
const drainPromiseJobs = () => new Promise<void>((resolve) => setImmediate(resolve));

export function manualClock(start = 0): ManualClock {
  if (typeof start !== 'number' || !Number.isFinite(start)) {
    throw new RangeError(`manualClock: start must be a finite number, got ${String(start)}`);
  }
  let now = start;
  let seq = 0;
  const timers = new Set<Timer>();

  const nextDue = (until: number): Timer | undefined => {
    let next: Timer | undefined;
    for (const t of timers) {
      if (t.at <= until && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq)))
        next = t;
    }
    return next;
  };

  return {
    now: () => now,
    setTimer(callback, ms, kind = 'call') {
      const timer: Timer = {
        at: now + Math.max(0, Number.isFinite(ms) ? ms : 0),
        seq: seq++,
        callback,
        kind,
      };
      timers.add(timer);
      return () => {
        timers.delete(timer);
      };
    },
    async advance(ms) {
      if (typeof ms !== 'number' || !(ms >= 0) || !Number.isFinite(ms)) {
        throw new RangeError(
          `manualClock.advance: ms must be a finite number >= 0, got ${String(ms)}`,
        );
      }
      const target = now + ms;
      await drainPromiseJobs();
      for (let timer = nextDue(target); timer; timer = nextDue(target)) {
        timers.delete(timer);
        now = Math.max(now, timer.at); // a timer that fell due during a jump fires late
        timer.callback();
        await drainPromiseJobs();
      }
      now = target;
    },
    jump(ms) {
      if (typeof ms !== 'number' || !(ms >= 0) || !Number.isFinite(ms)) {
        throw new RangeError(
          `manualClock.jump: ms must be a finite number >= 0, got ${String(ms)}`,
        );
      }
      now += ms;
    },
    flush: drainPromiseJobs,
    get pendingTimers() {
      return timers.size;
    },
  };
}
