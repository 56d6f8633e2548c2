import { type Clock, clockOption, objectOption, positiveOption, realClock } from '@bulwark/core';

export interface TimeoutOptions {
  /** How long a call may run before it is rejected with `TimeoutError`: a finite number > 0. */
  ms: number;
  /** Time source; default `realClock`. Tests pass `manualClock()`. */
  clock?: Clock | undefined;
}

export interface ResolvedTimeoutOptions {
  readonly ms: number;
  readonly clock: Clock;
}

/** Checks every option once, at construction; `timeout(500)` is short for `timeout({ ms: 500 })`. */
export function resolveTimeoutOptions(options: TimeoutOptions | number): ResolvedTimeoutOptions {
  const given = typeof options === 'number' ? { ms: options } : options;
  objectOption('timeout', 'options', given);
  return {
    ms: positiveOption('timeout', 'ms', given.ms),
    clock: given.clock === undefined ? realClock : clockOption('timeout', given.clock),
  };
}
