import { leakyBucket, rateLimit, tokenBucket } from '@bulwark/rate-limit';
import { describe, expect, it } from 'vitest';

type Any = Record<string, unknown>;

describe('options', () => {
  it.each([
    [
      { capacity: 0, refillPerSecond: 1 },
      'tokenBucket: capacity must be a finite number > 0, got 0',
    ],
    [{ capacity: -1, refillPerSecond: 1 }, 'capacity must be a finite number > 0, got -1'],
    [{ capacity: Number.POSITIVE_INFINITY, refillPerSecond: 1 }, 'got Infinity'],
    [{ capacity: Number.NaN, refillPerSecond: 1 }, 'capacity must be a finite number > 0, got NaN'],
    [{ capacity: 1, refillPerSecond: 0 }, 'refillPerSecond must be a finite number > 0, got 0'],
  ])('tokenBucket rejects %j', (options, message) => {
    expect(() => tokenBucket(options)).toThrow(RangeError);
    expect(() => tokenBucket(options)).toThrow(message);
  });

  it('tokenBucket rejects a capacity that is not a number with a TypeError', () => {
    expect(() => tokenBucket({ capacity: '10', refillPerSecond: 1 } as Any as never)).toThrow(
      TypeError,
    );
    expect(() => tokenBucket({ refillPerSecond: 1 } as Any as never)).toThrow(
      'capacity must be a finite number > 0, got undefined',
    );
  });

  it.each([
    [
      { ratePerSecond: 0, maxQueue: 1 },
      'leakyBucket: ratePerSecond must be a finite number > 0, got 0',
    ],
    [{ ratePerSecond: 1, maxQueue: -1 }, 'maxQueue must be an integer >= 0, got -1'],
    [{ ratePerSecond: 1, maxQueue: 1.5 }, 'maxQueue must be an integer >= 0, got 1.5'],
  ])('leakyBucket rejects %j', (options, message) => {
    expect(() => leakyBucket(options)).toThrow(RangeError);
    expect(() => leakyBucket(options)).toThrow(message);
  });

  it('leakyBucket requires maxQueue', () => {
    expect(() => leakyBucket({ ratePerSecond: 1 } as Any as never)).toThrow(TypeError);
  });

  it('limiters reject a store without take and a clock without now', () => {
    expect(() => tokenBucket({ capacity: 1, refillPerSecond: 1, store: {} as never })).toThrow(
      'tokenBucket: store.take must be a function',
    );
    expect(() => tokenBucket({ capacity: 1, refillPerSecond: 1, clock: {} as never })).toThrow(
      'tokenBucket: clock must be an object with now() and setTimer()',
    );
  });

  it('rateLimit rejects a missing limiter, a bad key, cost and maxWaitMs', () => {
    const limiter = tokenBucket({ capacity: 5, refillPerSecond: 1 });
    expect(() => rateLimit({} as never)).toThrow('rateLimit: limiter must be an object');
    expect(() => rateLimit({ limiter, key: 'user' as never })).toThrow(
      'rateLimit: key must be a function',
    );
    expect(() => rateLimit({ limiter, cost: 0 })).toThrow(RangeError);
    expect(() => rateLimit({ limiter, maxWaitMs: -1 })).toThrow(
      'rateLimit: maxWaitMs must be a finite number >= 0, got -1',
    );
  });

  it('rateLimit rejects a cost above what the limiter can ever admit', () => {
    const limiter = tokenBucket({ capacity: 5, refillPerSecond: 1 });
    expect(() => rateLimit({ limiter, cost: 6 })).toThrow(RangeError);
    expect(() => rateLimit({ limiter, cost: 6 })).toThrow(/largest take \(5\), got 6/);
  });
});
