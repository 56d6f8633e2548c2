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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, type Harness, type RunningApp } from './harness.js';

const errors: Record<string, () => ResilienceError> = {
  timeout: () => new TimeoutError(),
  circuit: () => new BrokenCircuitError(undefined, { retryAfterMs: 30_000 }),
  bulkhead: () => new BulkheadRejectedError(),
  rate: () => new RateLimitedError(undefined, { retryAfterMs: 2500 }),
  progress: () => new IdempotencyInProgressError(undefined, { retryAfterMs: 100 }),
  reused: () => new IdempotencyKeyReusedError(),
  store: () => new StoreUnavailableError('redis at 10.1.2.3 refused the connection'),
};

export function describeErrorHandler(harness: Harness): void {
  describe(`error handler: ${harness.name}`, () => {
    let app: RunningApp;
    beforeAll(async () => {
      app = await harness.start({
        routes: [
          {
            method: 'GET',
            path: '/fail',
            handler: (req) => {
              const which = new URL(req.url, 'http://x').searchParams.get('error')!;
              const make = errors[which];
              if (make) throw make();
              throw new Error('not a bulwark error');
            },
          },
        ],
      });
    });
    afterAll(() => app.close());

    for (const [which, make] of Object.entries(errors)) {
      const error = make();
      it(`answers ${error.code} with ${httpStatusByCode[error.code]} and a problem body`, async () => {
        const answer = await call(`${app.url}/fail?error=${which}`);
        expect(answer.status).toBe(httpStatusByCode[error.code]);
        expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(answer.json).toMatchObject({
          type: expect.stringMatching(/^urn:bulwark:problem:/),
          title: expect.any(String),
          detail: expect.any(String),
          status: httpStatusByCode[error.code],
          code: error.code,
        });
        expect(answer.text).not.toContain('10.1.2.3');
        if (error.retryAfterMs === undefined) {
          expect(answer.headers.get('retry-after')).toBeNull();
          expect(answer.json).not.toHaveProperty('retryAfterMs');
        } else {
          expect(answer.headers.get('retry-after')).toBe(
            String(Math.ceil(error.retryAfterMs / 1000)),
          );
          expect(answer.json.retryAfterMs).toBe(error.retryAfterMs);
        }
      });
    }

    it('passes any other error on to the next error handler', async () => {
      const answer = await call(`${app.url}/fail?error=other`);
      expect(answer.status).toBe(500);
      expect(answer.headers.get('content-type')).not.toMatch(/problem\+json/);
    });
  });
}
