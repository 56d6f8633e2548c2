import {
  atLeastOption,
  type Clock,
  type Context,
  clockOption,
  functionOption,
  integerOption,
  knownOptions,
  nonNegativeOption,
  objectOption,
  oneOfOption,
  positiveOption,
  ratioOption,
  realClock,
} from '@bulwark/core';
import { type Jitter, jitters, type Random } from './jitter.js';

/**
 * The delay before the next attempt. `attempt` is the attempt that just failed (1 after the
 * first call); `previousMs` is what this backoff returned last time in this call (0 at first).
 */
export type Backoff = (attempt: number, previousMs: number) => number;

/** What a retry policy needs from a budget; `retryBudget()` makes one, or bring your own. */
export interface RetryBudgetLike {
  /** A call started (its first attempt). */
  deposit(): void;
  /** A retry wants to go: true if the budget allows it (and counts it). */
  tryWithdraw(): boolean;
}

export interface RetryOptions {
  /** Every call counts, the first included: 3 is one call and two retries. Default 3. */
  maxAttempts?: number;
  /** Delay before each retry. Default `exponential()`. */
  backoff?: Backoff;
  /** Whether to retry this error. Default: every error (the caller's abort is never retried). */
  retryOn?: (error: unknown, ctx: Context) => boolean;
  /** Whether to retry this result; after the last attempt the last result is returned. */
  retryOnResult?: (result: unknown, ctx: Context) => boolean;
  /** Shared cap on retries across policies; when empty, the call gives up. */
  budget?: RetryBudgetLike;
  clock?: Clock;
}

export interface ExponentialOptions {
  /** The nominal first delay. Default 100. */
  initialMs?: number;
  /** No delay exceeds this. Default 30_000. */
  maxMs?: number;
  /** Growth per attempt (ignored by 'decorrelated'). Default 2. */
  factor?: number;
  /** Default 'full'. */
  jitter?: Jitter;
  /** Returns a number in [0, 1). Default Math.random; inject one for deterministic tests. */
  random?: Random;
}

export interface RetryBudgetOptions {
  /** Retries allowed per call in the window, on top of the reserve. Default 0.1. */
  ratio?: number;
  /** Retries allowed per second whatever the traffic, so a quiet service can still retry. Default 10. */
  minPerSecond?: number;
  /** How long a call's deposit lasts. Default 10_000. */
  windowMs?: number;
  clock?: Clock;
}

export interface ResolvedRetryOptions {
  maxAttempts: number;
  backoff: Backoff;
  retryOn: ((error: unknown, ctx: Context) => boolean) | undefined;
  retryOnResult: ((result: unknown, ctx: Context) => boolean) | undefined;
  budget: RetryBudgetLike | undefined;
  clock: Clock;
}

export interface ResolvedExponentialOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
  jitter: Jitter;
  random: Random;
}

export interface ResolvedRetryBudgetOptions {
  ratio: number;
  minPerSecond: number;
  windowMs: number;
  clock: Clock;
}

/** Names the usual mistakes of users coming from other libraries. */
const hints: Record<string, string> = {
  retries: 'maxAttempts counts every call: { retries: 2 } elsewhere is { maxAttempts: 3 } here',
  maxRetries:
    'maxAttempts counts every call: { maxRetries: 2 } elsewhere is { maxAttempts: 3 } here',
  initialDelay: 'the option is initialMs',
  maxDelay: 'the option is maxMs',
  exponent: 'the option is factor',
};

function optionsObject<T extends object>(where: string, options: T | undefined): T | undefined {
  if (options === undefined) return undefined;
  return objectOption(where, 'options', options);
}

function budgetOption(value: unknown): RetryBudgetLike {
  const budget = value as Partial<RetryBudgetLike> | null;
  if (
    typeof budget !== 'object' ||
    budget === null ||
    typeof budget.deposit !== 'function' ||
    typeof budget.tryWithdraw !== 'function'
  ) {
    throw new TypeError(
      `retry: budget must be a retry budget (retryBudget(), or an object with deposit() and tryWithdraw()), got ${budget === null ? 'null' : typeof budget}`,
    );
  }
  return budget as RetryBudgetLike;
}

export function resolveRetryOptions(
  options: RetryOptions | undefined,
  defaultBackoff: () => Backoff,
): ResolvedRetryOptions {
  const o = optionsObject('retry', options) ?? {};
  knownOptions(
    'retry',
    o,
    ['maxAttempts', 'backoff', 'retryOn', 'retryOnResult', 'budget', 'clock'],
    hints,
  );
  return {
    maxAttempts: integerOption('retry', 'maxAttempts', o.maxAttempts ?? 3),
    backoff:
      o.backoff === undefined ? defaultBackoff() : functionOption('retry', 'backoff', o.backoff),
    retryOn: o.retryOn === undefined ? undefined : functionOption('retry', 'retryOn', o.retryOn),
    retryOnResult:
      o.retryOnResult === undefined
        ? undefined
        : functionOption('retry', 'retryOnResult', o.retryOnResult),
    budget: o.budget === undefined ? undefined : budgetOption(o.budget),
    clock: o.clock === undefined ? realClock : clockOption('retry', o.clock),
  };
}

export function resolveExponentialOptions(
  options: ExponentialOptions | undefined,
): ResolvedExponentialOptions {
  const o = optionsObject('exponential', options) ?? {};
  knownOptions('exponential', o, ['initialMs', 'maxMs', 'factor', 'jitter', 'random'], hints);
  const initialMs = positiveOption('exponential', 'initialMs', o.initialMs ?? 100);
  const maxMs = positiveOption('exponential', 'maxMs', o.maxMs ?? 30_000);
  if (initialMs > maxMs) {
    throw new RangeError(
      `exponential: initialMs must be <= maxMs, got initialMs ${initialMs} and maxMs ${maxMs}`,
    );
  }
  return {
    initialMs,
    maxMs,
    factor: atLeastOption('exponential', 'factor', o.factor ?? 2, 1),
    jitter: oneOfOption('exponential', 'jitter', o.jitter ?? 'full', jitters),
    random:
      o.random === undefined ? Math.random : functionOption('exponential', 'random', o.random),
  };
}

export function resolveRetryBudgetOptions(
  options: RetryBudgetOptions | undefined,
): ResolvedRetryBudgetOptions {
  const o = optionsObject('retryBudget', options) ?? {};
  knownOptions('retryBudget', o, ['ratio', 'minPerSecond', 'windowMs', 'clock'], hints);
  return {
    ratio: ratioOption('retryBudget', 'ratio', o.ratio ?? 0.1),
    minPerSecond: nonNegativeOption('retryBudget', 'minPerSecond', o.minPerSecond ?? 10),
    windowMs: positiveOption('retryBudget', 'windowMs', o.windowMs ?? 10_000),
    clock: o.clock === undefined ? realClock : clockOption('retryBudget', o.clock),
  };
}

export function constantMs(ms: unknown): number {
  return nonNegativeOption('constant', 'ms', ms);
}
