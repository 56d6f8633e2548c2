import {
  BrokenCircuitError,
  BulkheadRejectedError,
  httpStatusByCode,
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
  RateLimitedError,
  type ResilienceError,
  StoreUnavailableError,
  TimeoutError,
} from '@bulwark/core';
import { problem, problemOf, problemResponse, problemType } from '@bulwark/http';
import { describe, expect, it } from 'vitest';

const errors: ResilienceError[] = [
  new TimeoutError(),
  new BrokenCircuitError(undefined, { retryAfterMs: 5000 }),
  new BulkheadRejectedError(),
  new RateLimitedError(undefined, { retryAfterMs: 1500 }),
  new IdempotencyInProgressError(undefined, { retryAfterMs: 200 }),
  new IdempotencyKeyReusedError(),
  new StoreUnavailableError('redis: READONLY replica at 10.0.0.3'),
];

describe('problem details', () => {
  it('maps every ResilienceError code to its status of the design table', () => {
    for (const error of errors) expect(problemOf(error).status).toBe(httpStatusByCode[error.code]);
    expect(errors.map((e) => e.code).sort()).toEqual(Object.keys(httpStatusByCode).sort());
  });

  it('has type, title, status, detail, code, and retryAfterMs when the error has it', () => {
    expect(problemOf(new RateLimitedError(undefined, { retryAfterMs: 1500 }))).toEqual({
      type: 'urn:bulwark:problem:rate-limited',
      title: 'Too many requests',
      status: 429,
      detail: 'This client sent more requests than its rate limit allows. Retry in 2 s.',
      code: 'RATE_LIMITED',
      retryAfterMs: 1500,
    });
    expect(problemOf(new TimeoutError())).not.toHaveProperty('retryAfterMs');
  });

  it('never shows the error message, which may name internals', () => {
    const body = problemResponse(
      problemOf(new StoreUnavailableError('redis: READONLY replica at 10.0.0.3')),
    ).body;
    expect(body).not.toContain('10.0.0.3');
  });

  it('is served as application/problem+json with Retry-After in whole seconds', () => {
    const response = problemResponse(problem('BULKHEAD_FULL', 1001));
    expect(response.status).toBe(503);
    expect(response.headers).toEqual({
      'content-type': 'application/problem+json',
      'retry-after': '2',
    });
    expect(JSON.parse(response.body).code).toBe('BULKHEAD_FULL');
  });

  it('has no Retry-After without retryAfterMs', () => {
    expect(problemResponse(problem('IDEMPOTENCY_KEY_REUSED')).headers).not.toHaveProperty(
      'retry-after',
    );
  });

  it('answers 400 for a missing or invalid Idempotency-Key', () => {
    expect(problem('IDEMPOTENCY_KEY_MISSING').status).toBe(400);
    expect(problem('IDEMPOTENCY_KEY_INVALID').status).toBe(400);
    expect(problemType('IDEMPOTENCY_KEY_MISSING')).toBe(
      'urn:bulwark:problem:idempotency-key-missing',
    );
  });
});
