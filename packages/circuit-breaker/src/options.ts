import {
  type Clock,
  clockOption,
  functionOption,
  integerOption,
  invalidOption,
  objectOption,
  realClock,
} from '@bulwark/core';
import { type Breaker, isBreaker } from './breaker.js';
import { type HalfOpenAfter, halfOpenWait } from './half-open-after.js';

import type { CircuitStore } from './store.js';

export interface CircuitBreakerOptions {
  /** Counts calls and says when to open: `consecutiveBreaker(n)` or `failureRateBreaker({...})`. */
  breaker: Breaker;
  /** How long the circuit stays open before a probe: ms, a backoff object or a function. */
  halfOpenAfterMs?: HalfOpenAfter;
  /** Probes a half-open circuit lets through; all must succeed for it to close. Default 1. */
  halfOpenMaxCalls?: number;
  /** Which errors count as failures; default all but the caller's abort. */
  isFailure?: (error: unknown) => boolean;
  /** Shares the circuit's state (Redis, for a fleet); default: this breaker's own memory store. */
  store?: CircuitStore;
  /** The `policy` field of events, and the circuit's key in the store. */
  name?: string;
  clock?: Clock;
}

export interface ResolvedOptions {
  breaker: Breaker;
  waitMs: (consecutiveOpens: number, previousMs: number) => number;
  halfOpenMaxCalls: number;
  isFailure: ((error: unknown) => boolean) | undefined;
  store: CircuitStore | undefined;
  name: string;
  clock: Clock;
}

export const DEFAULT_NAME = 'circuit-breaker';
const WHERE = 'circuitBreaker';
const BREAKER = 'a breaker strategy such as consecutiveBreaker(5) or failureRateBreaker({ ... })';

export function resolveOptions(options: CircuitBreakerOptions): ResolvedOptions {
  objectOption(WHERE, 'options', options);
  if (!isBreaker(options.breaker)) invalidOption(WHERE, 'breaker', BREAKER, options.breaker, false);
  const store = options.store;
  if (
    store !== undefined &&
    (typeof store?.read !== 'function' ||
      typeof store.write !== 'function' ||
      (store.watch !== undefined && typeof store.watch !== 'function'))
  ) {
    invalidOption(WHERE, 'store', 'a CircuitStore with read() and write()', store, false);
  }
  const name = options.name;
  if (name !== undefined && (typeof name !== 'string' || name === '')) {
    invalidOption(WHERE, 'name', 'a non-empty string', name, typeof name === 'string');
  }
  // Two breakers that share a store share every circuit of the same name.
  if (store !== undefined && name === undefined) {
    invalidOption(WHERE, 'name', 'set when a store is given (it keys the circuit)', name, false);
  }
  return {
    breaker: options.breaker,
    waitMs: halfOpenWait(options.halfOpenAfterMs),
    halfOpenMaxCalls: integerOption(WHERE, 'halfOpenMaxCalls', options.halfOpenMaxCalls ?? 1),
    isFailure:
      options.isFailure === undefined
        ? undefined
        : functionOption(WHERE, 'isFailure', options.isFailure),
    store,
    name: name ?? DEFAULT_NAME,
    clock: options.clock === undefined ? realClock : clockOption(WHERE, options.clock),
  };
}
