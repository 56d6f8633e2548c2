import {
  HttpRateLimit,
  type HttpRateLimitOptions,
  RATE_LIMIT,
  RATE_LIMIT_POLICY,
} from '@bulwark/http';
import type { RateLimiter } from '@bulwark/rate-limit';
import type { FastifyRequest } from 'fastify';
import type { Protection, RequestHook } from './hooks.js';
import { sendProblem } from './reply.js';

export type RateLimitOptions = HttpRateLimitOptions<FastifyRequest>;

export interface RateLimitProtection extends Protection {
  readonly kind: 'rateLimit';
  /** The limiter it takes from. */
  readonly limiter: RateLimiter;
  readonly onRequest: RequestHook;
}

// request.ip applies the server's trustProxy option: X-Forwarded-For counts only where it says so.
const ipOf = (request: FastifyRequest): string | undefined => request.ip;

/**
 * Takes from `limiter` for every request of the routes it is on (an `onRequest` hook):
 * `RateLimit-Policy` and `RateLimit` fields on every response; a 429 problem with `Retry-After`
 * when refused. A leaky bucket's request waits for its slot before it goes on.
 */
export function rateLimit(options: RateLimitOptions): RateLimitProtection {
  const limit = new HttpRateLimit<FastifyRequest>('rateLimit', options, ipOf);
  const onRequest: RequestHook = (request, reply, done) => {
    limit.decide(request).then((decision) => {
      if (decision === undefined) return done();
      reply.header(RATE_LIMIT_POLICY, limit.policyField(decision));
      reply.header(RATE_LIMIT, limit.field(decision));
      if (!decision.allowed) {
        sendProblem(reply, limit.refusal(decision));
        return;
      }
      if (!(decision.waitMs > 0)) return done();
      limit.wait(decision.waitMs, reply.raw).then((go) => {
        if (go) done();
      });
    }, done);
  };
  return { kind: 'rateLimit', limiter: limit.limiter, onRequest };
}
