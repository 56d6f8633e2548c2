import {
  type CallContext,
  type Clock,
  type Context,
  type InnerTask,
  isPromiseLike,
  type Policy,
  PolicyBase,
  RUN,
  sleep,
} from '@bulwark/core';
import { exponential } from './backoff.js';
import {
  type Backoff,
  type RetryBudgetLike,
  type RetryOptions,
  resolveRetryOptions,
} from './options.js';

/** The error's `retryAfterMs` (BrokenCircuitError, RateLimitedError...) if finite and > 0, else 0. */
function retryAfterOf(error: unknown): number {
  if (typeof error !== 'object' || error === null) return 0;
  const ms = (error as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof ms === 'number' && ms > 0 && ms < Number.POSITIVE_INFINITY ? ms : 0;
}

class RetryPolicy extends PolicyBase {
  private readonly maxAttempts: number;
  private readonly backoff: Backoff;
  private readonly retryOn: ((error: unknown, ctx: Context) => boolean) | undefined;
  private readonly retryOnResult: ((result: unknown, ctx: Context) => boolean) | undefined;
  private readonly budget: RetryBudgetLike | undefined;
  private readonly clock: Clock;

  constructor(options: RetryOptions | undefined) {
    super('retry');
    const o = resolveRetryOptions(options, exponential);
    this.maxAttempts = o.maxAttempts;
    this.backoff = o.backoff;
    this.retryOn = o.retryOn;
    this.retryOnResult = o.retryOnResult;
    this.budget = o.budget;
    this.clock = o.clock;
  }

  // The first attempt runs here, outside the async loop: a call that succeeds pays for one
  // rejection handler and nothing else. Only a failure enters `retrying`.
  [RUN]<T>(fn: InnerTask<T>, ctx: CallContext): T | PromiseLike<T> {
    const first = ctx.attempt === 1 ? ctx : ctx.withAttempt(1);
    this.budget?.deposit();
    let result: T | PromiseLike<T>;
    try {
      result = fn(first);
    } catch (error) {
      return this.retrying(fn, first, true, error);
    }
    if (isPromiseLike(result)) {
      const promise = result instanceof Promise ? result : Promise.resolve(result);
      if (this.retryOnResult === undefined) {
        return promise.then(undefined, (error: unknown) => this.retrying(fn, first, true, error));
      }
      return promise.then(
        (value) =>
          this.shouldRetryResult(value, first) ? this.retrying(fn, first, false, value) : value,
        (error: unknown) => this.retrying(fn, first, true, error),
      );
    }
    return this.shouldRetryResult(result, first) ? this.retrying(fn, first, false, result) : result;
  }

  private shouldRetryResult(result: unknown, ctx: CallContext): boolean {
    return this.retryOnResult !== undefined && !ctx.aborted && this.retryOnResult(result, ctx);
  }

  /**
   * The loop after attempt 1 failed: `outcome` is the error it threw (`threw`) or the result
   * that retryOnResult asked to retry.
   */
  private async retrying<T>(
    fn: InnerTask<T>,
    first: CallContext,
    threw: boolean,
    outcome: unknown,
  ): Promise<T> {
    let attempt = 1;
    let ctx = first;
    let previousMs = 0;
    for (;;) {
      // The caller's abort, or an outer timeout's, ends the call: it is never retried.
      if (threw && (ctx.aborted || (this.retryOn !== undefined && !this.retryOn(outcome, ctx)))) {
        throw outcome;
      }
      if (attempt >= this.maxAttempts) return this.giveUp(attempt, threw, outcome);
      if (this.budget !== undefined && !this.budget.tryWithdraw()) {
        if (this.listening) {
          this.emit(
            'budget-exhausted',
            threw ? { attempt, error: outcome } : { attempt, result: outcome },
          );
        }
        return this.giveUp(attempt, threw, outcome);
      }
      // The backoff sees its own previous delay: a retryAfterMs floor must not compound.
      previousMs = this.backoff(attempt, previousMs);
      if (!(previousMs >= 0 && previousMs < Number.POSITIVE_INFINITY)) {
        throw new RangeError(
          `retry: backoff must return a finite number >= 0, got ${String(previousMs)}`,
          { cause: outcome },
        );
      }
      const delayMs = threw ? Math.max(previousMs, retryAfterOf(outcome)) : previousMs;
      if (this.listening) {
        this.emit(
          'retry',
          threw ? { attempt, delayMs, error: outcome } : { attempt, delayMs, result: outcome },
        );
      }
      if (delayMs > 0) await sleep(this.clock, delayMs, first.scope);
      else if (first.aborted) throw first.scope?.reason;
      attempt++;
      ctx = first.withAttempt(attempt);
      try {
        outcome = await fn(ctx);
        threw = false;
      } catch (error) {
        outcome = error;
        threw = true;
        continue;
      }
      if (!this.shouldRetryResult(outcome, ctx)) return outcome as T;
    }
  }

  private giveUp<T>(attempts: number, threw: boolean, outcome: unknown): T {
    if (this.listening) {
      this.emit('give-up', threw ? { attempts, error: outcome } : { attempts, result: outcome });
    }
    if (threw) throw outcome;
    return outcome as T;
  }
}

/**
 * Runs the call again when it fails, up to `maxAttempts` calls in all, waiting `backoff`
 * between them (and at least an error's `retryAfterMs`). Gives up by rethrowing the last error.
 * Events: `retry`, `give-up`, `budget-exhausted`.
 */
export function retry(options?: RetryOptions): Policy {
  return new RetryPolicy(options);
}
