import { manualClock } from '@bulwark/core/testing';
import { constant, exponential, retry, retryBudget } from '@bulwark/retry';
import { describe, expect, it } from 'vitest';

type Case = [string, () => unknown, ErrorConstructor, RegExp];

const bad: Case[] = [
  [
    'maxAttempts 0',
    () => retry({ maxAttempts: 0 }),
    RangeError,
    /retry: maxAttempts must be an integer >= 1, got 0/,
  ],
  [
    'maxAttempts 2.5',
    () => retry({ maxAttempts: 2.5 }),
    RangeError,
    /maxAttempts must be an integer >= 1, got 2.5/,
  ],
  [
    'maxAttempts NaN',
    () => retry({ maxAttempts: Number.NaN }),
    RangeError,
    /maxAttempts .* got NaN/,
  ],
  ['maxAttempts -1', () => retry({ maxAttempts: -1 }), RangeError, /maxAttempts .* got -1/],
  [
    'maxAttempts Infinity',
    () => retry({ maxAttempts: Number.POSITIVE_INFINITY }),
    RangeError,
    /got Infinity/,
  ],
  [
    'maxAttempts "3"',
    () => retry({ maxAttempts: '3' as never }),
    TypeError,
    /maxAttempts .* got "3"/,
  ],
  [
    'backoff 100',
    () => retry({ backoff: 100 as never }),
    TypeError,
    /retry: backoff must be a function, got 100/,
  ],
  [
    'retryOn true',
    () => retry({ retryOn: true as never }),
    TypeError,
    /retry: retryOn must be a function, got true/,
  ],
  [
    'retryOnResult',
    () => retry({ retryOnResult: 'x' as never }),
    TypeError,
    /retry: retryOnResult must be a function/,
  ],
  [
    'budget {}',
    () => retry({ budget: {} as never }),
    TypeError,
    /retry: budget must be a retry budget/,
  ],
  [
    'clock',
    () => retry({ clock: {} as never }),
    TypeError,
    /retry: clock must be an object with now\(\) and setTimer\(\)/,
  ],
  ['options 3', () => retry(3 as never), TypeError, /retry: options must be an object, got 3/],
  [
    'retries',
    () => retry({ retries: 2 } as never),
    TypeError,
    /retry: unknown option "retries" \(maxAttempts counts every call: \{ retries: 2 \} elsewhere is \{ maxAttempts: 3 \} here\)/,
  ],
  [
    'typo',
    () => retry({ maxAttempt: 2 } as never),
    TypeError,
    /unknown option "maxAttempt"; expected one of maxAttempts,/,
  ],
  [
    'constant -1',
    () => constant(-1),
    RangeError,
    /constant: ms must be a finite number >= 0, got -1/,
  ],
  ['constant NaN', () => constant(Number.NaN), RangeError, /constant: ms .* got NaN/],
  ['constant Infinity', () => constant(Number.POSITIVE_INFINITY), RangeError, /got Infinity/],
  ['constant "5"', () => constant('5' as never), TypeError, /constant: ms .* got "5"/],
  [
    'initialMs 0',
    () => exponential({ initialMs: 0 }),
    RangeError,
    /exponential: initialMs must be a finite number > 0, got 0/,
  ],
  [
    'maxMs NaN',
    () => exponential({ maxMs: Number.NaN }),
    RangeError,
    /exponential: maxMs .* got NaN/,
  ],
  [
    'initialMs > maxMs',
    () => exponential({ initialMs: 500, maxMs: 100 }),
    RangeError,
    /exponential: initialMs must be <= maxMs, got initialMs 500 and maxMs 100/,
  ],
  [
    'factor 0.5',
    () => exponential({ factor: 0.5 }),
    RangeError,
    /exponential: factor must be a finite number >= 1, got 0.5/,
  ],
  [
    'factor Infinity',
    () => exponential({ factor: Number.POSITIVE_INFINITY }),
    RangeError,
    /factor .* got Infinity/,
  ],
  ['factor "2"', () => exponential({ factor: '2' as never }), TypeError, /factor .* got "2"/],
  [
    'jitter',
    () => exponential({ jitter: 'random' as never }),
    RangeError,
    /exponential: jitter must be one of 'full', 'equal', 'decorrelated', 'none', got "random"/,
  ],
  [
    'jitter 1',
    () => exponential({ jitter: 1 as never }),
    TypeError,
    /exponential: jitter must be one of .* got 1/,
  ],
  [
    'random',
    () => exponential({ random: 0.5 as never }),
    TypeError,
    /exponential: random must be a function, got 0.5/,
  ],
  [
    'initialDelay',
    () => exponential({ initialDelay: 128 } as never),
    TypeError,
    /unknown option "initialDelay" \(the option is initialMs\)/,
  ],
  [
    'ratio 0',
    () => retryBudget({ ratio: 0 }),
    RangeError,
    /retryBudget: ratio must be a number in \(0, 1\], got 0/,
  ],
  ['ratio 1.5', () => retryBudget({ ratio: 1.5 }), RangeError, /ratio .* got 1.5/],
  ['ratio NaN', () => retryBudget({ ratio: Number.NaN }), RangeError, /ratio .* got NaN/],
  [
    'minPerSecond -1',
    () => retryBudget({ minPerSecond: -1 }),
    RangeError,
    /retryBudget: minPerSecond must be a finite number >= 0, got -1/,
  ],
  [
    'windowMs 0',
    () => retryBudget({ windowMs: 0 }),
    RangeError,
    /retryBudget: windowMs must be a finite number > 0, got 0/,
  ],
  [
    'budget clock',
    () => retryBudget({ clock: null as never }),
    TypeError,
    /retryBudget: clock must be/,
  ],
];

describe('options', () => {
  it.each(bad)(
    'rejects %s at construction, naming the option and the value',
    (_, build, type, message) => {
      expect(build).toThrow(type);
      expect(build).toThrow(message);
    },
  );

  it('accepts every option at its limit', () => {
    expect(() =>
      retry({
        maxAttempts: 1,
        backoff: exponential({
          initialMs: 5,
          maxMs: 5,
          factor: 1,
          jitter: 'none',
          random: () => 0,
        }),
        retryOn: () => true,
        retryOnResult: () => false,
        budget: retryBudget({ ratio: 1, minPerSecond: 0, windowMs: 1, clock: manualClock() }),
        clock: manualClock(),
      }),
    ).not.toThrow();
    expect(() => constant(0)).not.toThrow();
  });

  it('accepts a budget of your own with deposit() and tryWithdraw()', () => {
    expect(() => retry({ budget: { deposit() {}, tryWithdraw: () => true } })).not.toThrow();
  });
});
