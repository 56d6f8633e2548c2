import {
  type AbortScope,
  type CallContext,
  type InnerTask,
  PolicyBase,
  RUN,
  type TimerKind,
} from '@bulwark/core';
import { type ManualClock, manualClock } from '@bulwark/core/testing';

/** A function that fails `failures` times (with errors from `makeError`), then returns 'ok'. */
export function flaky(failures: number, makeError = (n: number) => new Error(`fail ${n}`)) {
  const attempts: number[] = [];
  const errors: Error[] = [];
  const fn = async (ctx: { attempt: number }) => {
    attempts.push(ctx.attempt);
    if (attempts.length <= failures) {
      const error = makeError(attempts.length);
      errors.push(error);
      throw error;
    }
    return 'ok';
  };
  return { fn, attempts, errors };
}

/** A manual clock that also records the kind of every timer set on it. */
export function recordingClock(): ManualClock & { kinds: TimerKind[] } {
  const clock = manualClock();
  const kinds: TimerKind[] = [];
  return {
    kinds,
    now: () => clock.now(),
    setTimer(callback, ms, kind = 'call') {
      kinds.push(kind);
      return clock.setTimer(callback, ms, kind);
    },
    advance: (ms) => clock.advance(ms),
    jump: (ms) => clock.jump(ms),
    flush: () => clock.flush(),
    get pendingTimers() {
      return clock.pendingTimers;
    },
  };
}

/** An outer policy that can abort what runs inside it, as a timeout does at its deadline. */
export class Abortable extends PolicyBase {
  scope: AbortScope | undefined;

  constructor() {
    super('abortable');
  }

  [RUN]<T>(fn: InnerTask<T>, ctx: CallContext): T | PromiseLike<T> {
    this.scope = ctx.childScope();
    return fn(ctx.withScope(this.scope));
  }
}
