import type { TimerKind } from '@bulwark/core';
import { type ManualClock, manualClock } from '@bulwark/core/testing';

export { type Deferred, deferred, track } from '@bulwark/core/testing';

/** A manual clock that also records the kind of every timer set on it. */
export function spyClock(): ManualClock & { kinds: TimerKind[]; timersSet: number } {
  const clock = manualClock();
  const spy = Object.assign(Object.create(clock) as ManualClock, {
    kinds: [] as TimerKind[],
    timersSet: 0,
  });
  spy.setTimer = (callback: () => void, ms: number, kind: TimerKind = 'call') => {
    spy.kinds.push(kind);
    spy.timersSet++;
    return clock.setTimer(callback, ms, kind);
  };
  return spy;
}
