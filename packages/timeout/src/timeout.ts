import {
  type AbortScope,
  type CallContext,
  type InnerTask,
  isPromiseLike,
  type Policy,
  PolicyBase,
  RUN,
  TimeoutError,
} from '@bulwark/core';
import { type Deadline, DeadlineQueue } from './deadline-queue.js';
import { resolveTimeoutOptions, type TimeoutOptions } from './options.js';

export interface TimeoutPolicy extends Policy {
  /** The deadline of every call, in milliseconds. */
  readonly ms: number;
}

class Timeout extends PolicyBase implements TimeoutPolicy {
  readonly ms: number;
  /** @internal */
  readonly deadlines: DeadlineQueue;

  constructor(options: TimeoutOptions | number) {
    super('timeout');
    const { ms, clock } = resolveTimeoutOptions(options);
    this.ms = ms;
    this.deadlines = new DeadlineQueue(ms, clock);
  }

  [RUN]<T>(fn: InnerTask<T>, ctx: CallContext): T | PromiseLike<T> {
    const scope = ctx.childScope();
    let result: T | PromiseLike<T>;
    try {
      result = fn(ctx.withScope(scope));
    } catch (error) {
      scope.dispose();
      throw error;
    }
    if (!isPromiseLike(result)) {
      // A synchronous fn cannot be interrupted, and its value is already here.
      scope.dispose();
      return result;
    }
    return new TimedCall(this, scope).wait(result);
  }

  /** @internal */
  timedOut(): void {
    if (this.listening) this.emit('timeout', { ms: this.ms });
  }
}

/** A call that is still running: its place in the deadline queue and the promise its caller holds. */
class TimedCall implements Deadline {
  prev: Deadline | undefined = undefined;
  next: Deadline | undefined = undefined;
  due: number | undefined = undefined;
  settled = false;
  resolve: (value: unknown) => void = noop;
  reject: (error: unknown) => void = noop;

  constructor(
    private readonly policy: Timeout,
    private readonly scope: AbortScope,
  ) {}

  wait<T>(result: PromiseLike<T>): Promise<T> {
    const promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve as (value: unknown) => void;
      this.reject = reject;
    });
    this.policy.deadlines.add(this);
    // Both handlers are attached at once, so a result that rejects after the deadline is handled.
    result.then(
      (value) => this.settle(value, true),
      (error: unknown) => this.settle(error, false),
    );
    return promise;
  }

  private settle(outcome: unknown, ok: boolean): void {
    if (this.settled) return; // it timed out first: the late outcome goes nowhere
    this.settled = true;
    this.policy.deadlines.remove(this);
    this.scope.dispose();
    if (ok) this.resolve(outcome);
    else this.reject(outcome);
  }

  expire(): void {
    this.settled = true;
    const { scope, policy } = this;
    if (scope.aborted) {
      // Cancelled from outside (the caller, an outer timeout): that reason stands, not ours.
      this.reject(scope.reason);
      scope.dispose();
      return;
    }
    // Built only now: an error (and the abort it drives) costs microseconds, a deadline met costs none.
    const error = new TimeoutError(`timeout: the call did not finish within ${policy.ms} ms`);
    this.reject(error);
    scope.abort(error);
    scope.dispose();
    policy.timedOut();
  }
}

function noop(): void {}

/**
 * Rejects a call with `TimeoutError` once `ms` pass, and aborts `ctx.signal` with that error so
 * the work can stop. `timeout(500)` is short for `timeout({ ms: 500 })`. Event: `timeout`.
 */
export function timeout(options: TimeoutOptions | number): TimeoutPolicy {
  return new Timeout(options);
}
