import { bulkhead } from '@bulwark/bulkhead';
import { describe, expect, it } from 'vitest';

describe('bulkhead options', () => {
  it.each([
    [{ maxConcurrent: 0 }, RangeError, 'bulkhead: maxConcurrent must be an integer >= 1, got 0'],
    [{ maxConcurrent: -1 }, RangeError, 'bulkhead: maxConcurrent must be an integer >= 1, got -1'],
    [
      { maxConcurrent: 1.5 },
      RangeError,
      'bulkhead: maxConcurrent must be an integer >= 1, got 1.5',
    ],
    [
      { maxConcurrent: Number.NaN },
      RangeError,
      'bulkhead: maxConcurrent must be an integer >= 1, got NaN',
    ],
    [
      { maxConcurrent: Number.POSITIVE_INFINITY },
      RangeError,
      'bulkhead: maxConcurrent must be an integer >= 1, got Infinity',
    ],
    [{ maxConcurrent: '4' }, TypeError, 'bulkhead: maxConcurrent must be an integer >= 1, got "4"'],
    [{}, TypeError, 'bulkhead: maxConcurrent must be an integer >= 1, got undefined'],
    [
      { maxConcurrent: 1, maxQueue: -1 },
      RangeError,
      'bulkhead: maxQueue must be an integer >= 0, got -1',
    ],
    [
      { maxConcurrent: 1, maxQueue: 2.5 },
      RangeError,
      'bulkhead: maxQueue must be an integer >= 0, got 2.5',
    ],
    [
      { maxConcurrent: 1, maxQueue: Number.NaN },
      RangeError,
      'bulkhead: maxQueue must be an integer >= 0, got NaN',
    ],
    [
      { maxConcurrent: 1, maxQueue: null },
      TypeError,
      'bulkhead: maxQueue must be an integer >= 0, got null',
    ],
    [
      { maxConcurrent: 1, maxQueue: 1, queueTimeoutMs: 0 },
      RangeError,
      'bulkhead: queueTimeoutMs must be a finite number > 0, got 0',
    ],
    [
      { maxConcurrent: 1, maxQueue: 1, queueTimeoutMs: -5 },
      RangeError,
      'bulkhead: queueTimeoutMs must be a finite number > 0, got -5',
    ],
    [
      { maxConcurrent: 1, maxQueue: 1, queueTimeoutMs: Number.NaN },
      RangeError,
      'bulkhead: queueTimeoutMs must be a finite number > 0, got NaN',
    ],
    [
      { maxConcurrent: 1, maxQueue: 1, queueTimeoutMs: Number.POSITIVE_INFINITY },
      RangeError,
      'bulkhead: queueTimeoutMs must be a finite number > 0, got Infinity',
    ],
    [
      { maxConcurrent: 1, maxQueue: 0, queueTimeoutMs: 100 },
      RangeError,
      'bulkhead: queueTimeoutMs is 100 but maxQueue is 0, so no call ever waits; set maxQueue >= 1 or drop queueTimeoutMs',
    ],
    [
      { maxConcurrent: 1, clock: { now: () => 0 } },
      TypeError,
      'bulkhead: clock must be an object with now() and setTimer(), got {}',
    ],
  ])('rejects %j', (options, type, message) => {
    expect(() => bulkhead(options as never)).toThrow(type);
    expect(() => bulkhead(options as never)).toThrow(message);
  });

  it('rejects a missing options object', () => {
    expect(() => bulkhead(undefined as never)).toThrow(
      new TypeError('bulkhead: options must be an object, got undefined'),
    );
  });
});
