import type { TimerKind } from '@bulwark/core';
import { type ManualClock, manualClock } from '@bulwark/core/testing';

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Where a promise stands, without waiting for it. */
export function track<T>(promise: Promise<T>): {
  state: 'pending' | 'fulfilled' | 'rejected';
  value?: T;
  error?: unknown;
} {
  const seen: { state: 'pending' | 'fulfilled' | 'rejected'; value?: T; error?: unknown } = {
    state: 'pending',
  };
  promise.then(
    (value) => {
      seen.state = 'fulfilled';
      seen.value = value;
    },
    (error: unknown) => {
      seen.state = 'rejected';
      seen.error = error;
    },
  );
  return seen;
}

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
