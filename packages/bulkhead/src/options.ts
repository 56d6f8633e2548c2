import {
  type Clock,
  clockOption,
  integerOption,
  objectOption,
  positiveOption,
  realClock,
} from '@bulwark/core';

export interface BulkheadOptions {
  /** How many calls may run at once: an integer >= 1. */
  maxConcurrent: number;
  /** How many calls may wait for a slot: an integer >= 0, or Infinity. Default 0: reject at once. */
  maxQueue?: number | undefined;
  /** How long a call may wait in the queue before it is rejected; default: as long as it takes. */
  queueTimeoutMs?: number | undefined;
  /** Time source for `queueTimeoutMs`; default `realClock`. Tests pass `manualClock()`. */
  clock?: Clock | undefined;
}

export interface ResolvedBulkheadOptions {
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  readonly queueTimeoutMs: number | undefined;
  readonly clock: Clock;
}

/** Checks every option once, at construction. */
export function resolveBulkheadOptions(options: BulkheadOptions): ResolvedBulkheadOptions {
  objectOption('bulkhead', 'options', options);
  const maxConcurrent = integerOption('bulkhead', 'maxConcurrent', options.maxConcurrent);
  const maxQueue =
    options.maxQueue === undefined || options.maxQueue === Number.POSITIVE_INFINITY
      ? (options.maxQueue ?? 0)
      : integerOption('bulkhead', 'maxQueue', options.maxQueue, 0);
  const queueTimeoutMs =
    options.queueTimeoutMs === undefined
      ? undefined
      : positiveOption('bulkhead', 'queueTimeoutMs', options.queueTimeoutMs);
  if (queueTimeoutMs !== undefined && maxQueue === 0) {
    throw new RangeError(
      `bulkhead: queueTimeoutMs is ${queueTimeoutMs} but maxQueue is 0, so no call ever waits; set maxQueue >= 1 or drop queueTimeoutMs`,
    );
  }
  return {
    maxConcurrent,
    maxQueue,
    queueTimeoutMs,
    clock: options.clock === undefined ? realClock : clockOption('bulkhead', options.clock),
  };
}
