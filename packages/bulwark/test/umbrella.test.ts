import * as core from '@bulwark/core';
import * as bulwark from 'bulwark';
import { manualClock } from 'bulwark/testing';
import { describe, expect, it } from 'vitest';

describe('bulwark', () => {
  it('gives every in-process policy through one import', () => {
    for (const name of [
      'pipeline',
      'wrap',
      'fallback',
      'timeout',
      'retry',
      'exponential',
      'constant',
      'retryBudget',
      'circuitBreaker',
      'consecutiveBreaker',
      'failureRateBreaker',
      'bulkhead',
      'tokenBucket',
      'leakyBucket',
      'rateLimit',
      'idempotency',
      'fingerprint',
      'cacheAside',
      'writeThrough',
      'writeBehind',
      'isResilienceError',
      'TimeoutError',
      'BrokenCircuitError',
      'RateLimitedError',
    ]) {
      expect(typeof (bulwark as Record<string, unknown>)[name], name).toBe('function');
    }
  });

  it('re-exports the same objects as the packages, so errors and guards agree', () => {
    expect(bulwark.noop).toBe(core.noop);
    expect(bulwark.TimeoutError).toBe(core.TimeoutError);
    expect(bulwark.RateLimitedError).toBe(core.RateLimitedError);
  });

  it('composes policies from different packages into one pipeline', async () => {
    const clock = manualClock();
    const policy = bulwark.pipeline(
      bulwark.timeout({ ms: 1_000, clock }),
      bulwark.retry({ maxAttempts: 2, backoff: bulwark.constant(10), clock }),
      bulwark.circuitBreaker({ breaker: bulwark.consecutiveBreaker(5), clock }),
      bulwark.bulkhead({ maxConcurrent: 1 }),
    );
    let calls = 0;
    const call = policy.execute(async () => {
      if (++calls === 1) throw new Error('flaky');
      return 'ok';
    });
    await clock.advance(10);
    expect(await call).toBe('ok');
    expect(calls).toBe(2);
  });
});
