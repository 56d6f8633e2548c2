import {
  type CircuitBreakerOptions,
  circuitBreaker,
  consecutiveBreaker,
  failureRateBreaker,
  memoryCircuitStore,
} from '@bulwark/circuit-breaker';
import { manualClock } from '@bulwark/core/testing';
import { describe, expect, it } from 'vitest';

const make = (options: Partial<CircuitBreakerOptions>) => () =>
  circuitBreaker({ breaker: consecutiveBreaker(5), ...options } as CircuitBreakerOptions);

describe('circuitBreaker options', () => {
  it.each([
    [
      'options',
      () => circuitBreaker(undefined as never),
      TypeError,
      'options must be an object, got undefined',
    ],
    [
      'a missing breaker',
      make({ breaker: undefined }),
      TypeError,
      'breaker must be a breaker strategy',
    ],
    [
      'a breaker that is not one',
      make({ breaker: {} as never }),
      TypeError,
      'breaker must be a breaker strategy',
    ],
    [
      'halfOpenAfterMs -1',
      make({ halfOpenAfterMs: -1 }),
      RangeError,
      'halfOpenAfterMs must be a finite number >= 0, got -1',
    ],
    [
      'halfOpenAfterMs NaN',
      make({ halfOpenAfterMs: Number.NaN }),
      RangeError,
      'halfOpenAfterMs must be a finite number >= 0, got NaN',
    ],
    [
      'halfOpenAfterMs Infinity',
      make({ halfOpenAfterMs: Number.POSITIVE_INFINITY }),
      RangeError,
      'halfOpenAfterMs must be a finite number >= 0, got Infinity',
    ],
    [
      'halfOpenAfterMs "30s"',
      make({ halfOpenAfterMs: '30s' as never }),
      TypeError,
      'halfOpenAfterMs must be a number, a function or { initialMs, maxMs, factor }, got "30s"',
    ],
    [
      'halfOpenAfterMs null',
      make({ halfOpenAfterMs: null as never }),
      TypeError,
      'halfOpenAfterMs must be a number, a function',
    ],
    [
      'halfOpenAfterMs.initialMs -5',
      make({ halfOpenAfterMs: { initialMs: -5 } }),
      RangeError,
      'halfOpenAfterMs.initialMs must be a finite number >= 0, got -5',
    ],
    [
      'halfOpenAfterMs.maxMs below initialMs',
      make({ halfOpenAfterMs: { initialMs: 20, maxMs: 10 } }),
      RangeError,
      'halfOpenAfterMs.maxMs must be >= initialMs (20), got 10',
    ],
    [
      'halfOpenAfterMs.factor 0.5',
      make({ halfOpenAfterMs: { factor: 0.5 } }),
      RangeError,
      'halfOpenAfterMs.factor must be a finite number >= 1, got 0.5',
    ],
    [
      'halfOpenAfterMs.factor NaN',
      make({ halfOpenAfterMs: { factor: Number.NaN } }),
      RangeError,
      'halfOpenAfterMs.factor must be a finite number > 0, got NaN',
    ],
    [
      'a halfOpenAfterMs function giving NaN',
      make({ halfOpenAfterMs: () => Number.NaN }),
      RangeError,
      'halfOpenAfterMs(1) must be a finite number >= 0, got NaN',
    ],
    [
      'a halfOpenAfterMs function giving a string',
      make({ halfOpenAfterMs: (() => '5') as never }),
      TypeError,
      'halfOpenAfterMs(1) must be a finite number >= 0, got "5"',
    ],
    [
      'halfOpenMaxCalls 0',
      make({ halfOpenMaxCalls: 0 }),
      RangeError,
      'halfOpenMaxCalls must be an integer >= 1, got 0',
    ],
    [
      'halfOpenMaxCalls 1.5',
      make({ halfOpenMaxCalls: 1.5 }),
      RangeError,
      'halfOpenMaxCalls must be an integer >= 1, got 1.5',
    ],
    [
      'halfOpenMaxCalls NaN',
      make({ halfOpenMaxCalls: Number.NaN }),
      RangeError,
      'halfOpenMaxCalls must be an integer >= 1, got NaN',
    ],
    [
      'halfOpenMaxCalls "2"',
      make({ halfOpenMaxCalls: '2' as never }),
      TypeError,
      'halfOpenMaxCalls must be an integer >= 1, got "2"',
    ],
    [
      'isFailure "yes"',
      make({ isFailure: 'yes' as never }),
      TypeError,
      'isFailure must be a function, got "yes"',
    ],
    [
      'a store without write',
      make({ store: { read: () => undefined } as never, name: 'x' }),
      TypeError,
      'store must be a CircuitStore with read() and write()',
    ],
    [
      'a store without a name',
      make({ store: memoryCircuitStore() }),
      TypeError,
      'name must be set when a store is given (it keys the circuit), got undefined',
    ],
    ['name ""', make({ name: '' }), RangeError, 'name must be a non-empty string, got ""'],
    ['name 7', make({ name: 7 as never }), TypeError, 'name must be a non-empty string, got 7'],
    [
      'a clock without setTimer',
      make({ clock: { now: () => 0 } as never }),
      TypeError,
      'clock must be an object with now() and setTimer()',
    ],
  ])('rejects %s with an error naming it', (_, build, type, message) => {
    expect(build).toThrow(type);
    expect(build).toThrow(`circuitBreaker: ${message}`);
  });

  it('rejects a breaker strategy already used by another circuit', () => {
    const shared = consecutiveBreaker(3);
    circuitBreaker({ breaker: shared });
    expect(() => circuitBreaker({ breaker: shared })).toThrow(
      new TypeError(
        'circuitBreaker: breaker is already used by another circuit breaker; create one for each',
      ),
    );
  });

  it('accepts the defaults and every documented form of halfOpenAfterMs', () => {
    const clock = manualClock();
    for (const halfOpenAfterMs of [
      undefined,
      0,
      5_000,
      (n: number) => n * 1_000,
      {},
      { initialMs: 1, maxMs: 1, factor: 1 },
    ]) {
      expect(
        circuitBreaker({
          breaker: failureRateBreaker({ window: { calls: 5 } }),
          halfOpenAfterMs,
          clock,
        }).state,
      ).toBe('closed');
    }
  });
});

describe('consecutiveBreaker options', () => {
  it.each([
    [0, RangeError, 'an integer >= 1, got 0'],
    [-2, RangeError, 'an integer >= 1, got -2'],
    [2.5, RangeError, 'an integer >= 1, got 2.5'],
    [Number.NaN, RangeError, 'an integer >= 1, got NaN'],
    [undefined, TypeError, 'an integer >= 1, got undefined'],
  ])('rejects threshold %s', (threshold, type, message) => {
    const build = () => consecutiveBreaker(threshold as number);
    expect(build).toThrow(type);
    expect(build).toThrow(`consecutiveBreaker: threshold must be ${message}`);
  });
});

describe('failureRateBreaker options', () => {
  const window = { calls: 10 };
  it.each([
    ['no options', undefined, TypeError, 'options must be an object, got undefined'],
    ['no window', {}, TypeError, 'window must be an object, got undefined'],
    [
      'an empty window',
      { window: {} },
      TypeError,
      'window must be { calls } or { ms, buckets? }, got {}',
    ],
    [
      'a window of calls and ms',
      { window: { calls: 5, ms: 10 } },
      TypeError,
      'window must be { calls } or { ms, buckets? }',
    ],
    [
      'buckets on a count window',
      { window: { calls: 5, buckets: 2 } },
      TypeError,
      'window must be { calls } or { ms, buckets? }',
    ],
    [
      'window.calls 0',
      { window: { calls: 0 } },
      RangeError,
      'window.calls must be an integer >= 1, got 0',
    ],
    [
      'window.calls 2.5',
      { window: { calls: 2.5 } },
      RangeError,
      'window.calls must be an integer >= 1, got 2.5',
    ],
    [
      'window.ms 0',
      { window: { ms: 0 } },
      RangeError,
      'window.ms must be a finite number > 0, got 0',
    ],
    [
      'window.ms NaN',
      { window: { ms: Number.NaN } },
      RangeError,
      'window.ms must be a finite number > 0, got NaN',
    ],
    [
      'window.buckets 0',
      { window: { ms: 1000, buckets: 0 } },
      RangeError,
      'window.buckets must be an integer >= 1, got 0',
    ],
    [
      'threshold 0',
      { window, threshold: 0 },
      RangeError,
      'threshold must be a number in (0, 1], got 0',
    ],
    [
      'threshold 1.5',
      { window, threshold: 1.5 },
      RangeError,
      'threshold must be a number in (0, 1], got 1.5',
    ],
    [
      'threshold NaN',
      { window, threshold: Number.NaN },
      RangeError,
      'threshold must be a number in (0, 1], got NaN',
    ],
    [
      'minimumCalls 0',
      { window, minimumCalls: 0 },
      RangeError,
      'minimumCalls must be an integer >= 1, got 0',
    ],
    [
      'minimumCalls -1',
      { window, minimumCalls: -1 },
      RangeError,
      'minimumCalls must be an integer >= 1, got -1',
    ],
    [
      'slowCallMs -1',
      { window, slowCallMs: -1 },
      RangeError,
      'slowCallMs must be a finite number >= 0, got -1',
    ],
    [
      'slowCallRateThreshold 0',
      { window, slowCallMs: 5, slowCallRateThreshold: 0 },
      RangeError,
      'slowCallRateThreshold must be a number in (0, 1], got 0',
    ],
    [
      'slowCallRateThreshold without slowCallMs',
      { window, slowCallRateThreshold: 0.5 },
      TypeError,
      'slowCallMs must be set when slowCallRateThreshold is, got undefined',
    ],
  ])('rejects %s with an error naming it', (_, options, type, message) => {
    const build = () => failureRateBreaker(options as never);
    expect(build).toThrow(type);
    expect(build).toThrow(`failureRateBreaker: ${message}`);
  });
});
