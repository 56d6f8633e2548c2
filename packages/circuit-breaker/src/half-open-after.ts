import { invalidOption, nonNegativeOption, positiveOption } from '@bulwark/core';

/** The shape of `exponential()`'s options, without jitter: the wait doubles with each open. */
export interface HalfOpenBackoff {
  /** The wait after the first open. Default 30 000. */
  initialMs?: number;
  /** The longest wait. Default 300 000 (5 minutes), or initialMs if that is longer. */
  maxMs?: number;
  /** Each open in a row multiplies the wait by this (>= 1). Default 2. */
  factor?: number;
}

/**
 * How long an open circuit waits before it lets a probe through: a fixed time, a backoff object,
 * or a function of the opens in a row (1 after the first open since the circuit last closed) and
 * of the previous wait (0 at the first): the shape of `@bulwark/retry`'s backoffs, so
 * `exponential({ ... })` from there fits as it is.
 */
export type HalfOpenAfter =
  | number
  | HalfOpenBackoff
  | ((consecutiveOpens: number, previousMs: number) => number);

type Wait = (consecutiveOpens: number, previousMs: number) => number;

export const DEFAULT_HALF_OPEN_AFTER_MS = 30_000;

const WHERE = 'circuitBreaker';

export function halfOpenWait(value: HalfOpenAfter | undefined): Wait {
  if (value === undefined) return () => DEFAULT_HALF_OPEN_AFTER_MS;
  if (typeof value === 'number') {
    const ms = nonNegativeOption(WHERE, 'halfOpenAfterMs', value);
    return () => ms;
  }
  if (typeof value === 'function') return checkedFunction(value);
  if (typeof value !== 'object' || value === null) {
    invalidOption(
      WHERE,
      'halfOpenAfterMs',
      'a number, a function or { initialMs, maxMs, factor }',
      value,
      false,
    );
  }
  const initialMs = nonNegativeOption(
    WHERE,
    'halfOpenAfterMs.initialMs',
    value.initialMs ?? DEFAULT_HALF_OPEN_AFTER_MS,
  );
  const maxMs = nonNegativeOption(
    WHERE,
    'halfOpenAfterMs.maxMs',
    value.maxMs ?? Math.max(300_000, initialMs),
  );
  const factor = positiveOption(WHERE, 'halfOpenAfterMs.factor', value.factor ?? 2);
  if (maxMs < initialMs)
    invalidOption(WHERE, 'halfOpenAfterMs.maxMs', `>= initialMs (${initialMs})`, maxMs, true);
  if (factor < 1)
    invalidOption(WHERE, 'halfOpenAfterMs.factor', 'a finite number >= 1', factor, true);
  return (opens) => Math.min(maxMs, initialMs * factor ** (opens - 1));
}

function isWait(ms: unknown): ms is number {
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0;
}

/** Checks the function once now; a bad value later is warned about, never thrown mid-call. */
function checkedFunction(fn: Wait): Wait {
  const first = fn(1, 0);
  if (!isWait(first)) {
    invalidOption(
      WHERE,
      'halfOpenAfterMs(1)',
      'a finite number >= 0',
      first,
      typeof first === 'number',
    );
  }
  return (opens, previousMs) => {
    let ms: unknown;
    try {
      ms = fn(opens, previousMs);
    } catch (error) {
      ms = error;
    }
    if (isWait(ms)) return ms;
    process.emitWarning(
      `circuitBreaker: halfOpenAfterMs(${opens}) gave ${String(ms)}, not a finite number >= 0; waiting ${DEFAULT_HALF_OPEN_AFTER_MS} ms instead`,
      'BulwarkWarning',
    );
    return DEFAULT_HALF_OPEN_AFTER_MS;
  };
}
