import {
  BrokenCircuitError,
  BulkheadRejectedError,
  httpStatusByCode,
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
  isResilienceError,
  RateLimitedError,
  ResilienceError,
  StoreUnavailableError,
  TimeoutError,
} from '@bulwark/core';
import { describe, expect, it } from 'vitest';

const table = [
  [TimeoutError, 'TIMEOUT', 504],
  [BrokenCircuitError, 'CIRCUIT_OPEN', 503],
  [BulkheadRejectedError, 'BULKHEAD_FULL', 503],
  [RateLimitedError, 'RATE_LIMITED', 429],
  [IdempotencyInProgressError, 'IDEMPOTENCY_IN_PROGRESS', 409],
  [IdempotencyKeyReusedError, 'IDEMPOTENCY_KEY_REUSED', 422],
  [StoreUnavailableError, 'STORE_UNAVAILABLE', 503],
] as const;

describe('errors', () => {
  it.each(table)('%o has its code and HTTP status', (ErrorClass, code, status) => {
    const error = new ErrorClass();
    expect(error).toBeInstanceOf(ResilienceError);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe(code);
    expect(error.name).toBe(ErrorClass.name);
    expect(error.message.length).toBeGreaterThan(10);
    expect(httpStatusByCode[error.code]).toBe(status);
    expect(isResilienceError(error)).toBe(true);
    expect(isResilienceError(error, code)).toBe(true);
  });

  it('carries a message, retryAfterMs and a cause', () => {
    const cause = new Error('redis down');
    const error = new RateLimitedError('slow down', { retryAfterMs: 1500, cause });
    expect(error.message).toBe('slow down');
    expect(error.retryAfterMs).toBe(1500);
    expect(error.cause).toBe(cause);
    expect(new BrokenCircuitError().retryAfterMs).toBeUndefined();
  });

  it('guards by code', () => {
    expect(isResilienceError(new TimeoutError(), 'CIRCUIT_OPEN')).toBe(false);
  });

  it('recognises an error from another copy of the package by its brand, not instanceof', () => {
    const fromOtherCopy = Object.assign(new Error('x'), {
      code: 'RATE_LIMITED',
      [Symbol.for('bulwark.resilience-error')]: true,
    });
    expect(isResilienceError(fromOtherCopy, 'RATE_LIMITED')).toBe(true);
  });

  it('rejects look-alikes', () => {
    expect(isResilienceError(Object.assign(new Error('x'), { code: 'TIMEOUT' }))).toBe(false);
    expect(isResilienceError(null)).toBe(false);
    expect(isResilienceError('TIMEOUT')).toBe(false);
  });
});
