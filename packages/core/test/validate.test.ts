import {
  functionOption,
  integerOption,
  knownOptions,
  nonNegativeOption,
  oneOfOption,
  positiveOption,
  ratioOption,
} from '@bulwark/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('option validation', () => {
  it('names the policy, the option and the value', () => {
    expect(() => integerOption('retry', 'maxAttempts', 0)).toThrow(
      new RangeError('retry: maxAttempts must be an integer >= 1, got 0'),
    );
    expect(() => integerOption('retry', 'maxAttempts', 1.5)).toThrow(RangeError);
    expect(() => integerOption('retry', 'maxAttempts', '3')).toThrow(
      new TypeError('retry: maxAttempts must be an integer >= 1, got "3"'),
    );
    expect(() => positiveOption('timeout', 'ms', Number.NaN)).toThrow(/got NaN/);
    expect(() => positiveOption('timeout', 'ms', Number.POSITIVE_INFINITY)).toThrow(/got Infinity/);
    expect(() => nonNegativeOption('x', 'y', -1)).toThrow(/must be a finite number >= 0, got -1/);
    expect(() => ratioOption('breaker', 'threshold', 0)).toThrow(
      /must be a number in \(0, 1\], got 0/,
    );
    expect(() => functionOption('retry', 'retryOn', 1)).toThrow(TypeError);
    expect(() => oneOfOption('x', 'jitter', 'half', ['full', 'none'])).toThrow(
      new RangeError(`x: jitter must be one of 'full', 'none', got "half"`),
    );
    expect(() => oneOfOption('x', 'jitter', 3, ['full', 'none'])).toThrow(TypeError);
  });

  it('refuses an option name it does not know, with a hint where it has one', () => {
    expect(() =>
      knownOptions('retry', { retries: 2 }, ['maxAttempts'], { retries: 'use maxAttempts' }),
    ).toThrow(
      new TypeError(
        'retry: unknown option "retries" (use maxAttempts); expected one of maxAttempts',
      ),
    );
    expect(() => knownOptions('x', { a: 1, b: 2 }, ['a', 'b'])).not.toThrow();
  });

  it('accepts every value in range, and returns it', () => {
    fc.assert(fc.property(fc.integer({ min: 1 }), (n) => integerOption('p', 'o', n) === n));
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, noNaN: true, minExcluded: true }),
        (n) => ratioOption('p', 'o', n) === n,
      ),
    );
  });
});
