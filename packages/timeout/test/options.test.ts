import { timeout } from '@bulwark/timeout';
import { describe, expect, it } from 'vitest';

describe('timeout options', () => {
  it.each([
    [0, RangeError, 'timeout: ms must be a finite number > 0, got 0'],
    [-5, RangeError, 'timeout: ms must be a finite number > 0, got -5'],
    [Number.NaN, RangeError, 'timeout: ms must be a finite number > 0, got NaN'],
    [Number.POSITIVE_INFINITY, RangeError, 'timeout: ms must be a finite number > 0, got Infinity'],
    ['100', TypeError, 'timeout: ms must be a finite number > 0, got "100"'],
    [undefined, TypeError, 'timeout: ms must be a finite number > 0, got undefined'],
  ])('rejects ms = %s', (ms, type, message) => {
    expect(() => timeout({ ms: ms as number })).toThrow(type);
    expect(() => timeout({ ms: ms as number })).toThrow(message);
  });

  it('rejects a bare number that is not a valid ms', () => {
    expect(() => timeout(0)).toThrow('timeout: ms must be a finite number > 0, got 0');
  });

  it('rejects a missing options object', () => {
    expect(() => timeout(undefined as never)).toThrow(
      new TypeError('timeout: options must be an object, got undefined'),
    );
    expect(() => timeout(null as never)).toThrow(TypeError);
  });

  it('rejects a clock without now() and setTimer()', () => {
    expect(() => timeout({ ms: 10, clock: {} as never })).toThrow(
      new TypeError('timeout: clock must be an object with now() and setTimer(), got {}'),
    );
  });

  it('accepts a fractional ms', () => {
    expect(timeout({ ms: 0.5 }).ms).toBe(0.5);
  });
});
