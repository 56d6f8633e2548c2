import { consecutiveBreaker } from '@bulwark/circuit-breaker';
import { describe, expect, it } from 'vitest';

describe('consecutiveBreaker', () => {
  it('says open at the threshold-th failure in a row', () => {
    const breaker = consecutiveBreaker(3);
    expect(breaker.failure(0, 0)).toBe(false);
    expect(breaker.failure(0, 0)).toBe(false);
    expect(breaker.failure(0, 0)).toBe(true);
  });

  it('starts over after a success', () => {
    const breaker = consecutiveBreaker(2);
    breaker.failure(0, 0);
    expect(breaker.success(0, 0)).toBe(false);
    expect(breaker.failure(0, 0)).toBe(false);
  });

  it('counts calls and failures since the last reset, and never slow calls', () => {
    const breaker = consecutiveBreaker(5);
    breaker.success(0, 0);
    breaker.failure(0, 10_000);
    expect(breaker.counts(0)).toEqual({ calls: 2, failures: 1, slowCalls: 0 });
    breaker.reset();
    expect(breaker.counts(0)).toEqual({ calls: 0, failures: 0, slowCalls: 0 });
  });

  it('needs no clock', () => {
    expect(consecutiveBreaker(1).timing).toBe('none');
    expect(consecutiveBreaker(1).slowCallMs).toBe(Number.POSITIVE_INFINITY);
  });
});
