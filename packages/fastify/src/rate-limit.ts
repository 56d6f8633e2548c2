import { HttpRateLimit, type HttpRateLimitOptions } from '@bulwark/http';
import type { Decision, RateLimiter } from '@bulwark/rate-limit';
import type { FastifyReply, FastifyRequest } from 'fastify';
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

// Fastify lowercases every name reply.header is given, and sends it so; a name already in lower
// case saves a new string on every request.
const RATE_LIMIT_POLICY = 'ratelimit-policy';
const RATE_LIMIT = 'ratelimit';

/**
 * Takes from `limiter` for every request of the routes it is on (an `onRequest` hook):
 * `RateLimit-Policy` and `RateLimit` fields on every response (only on refusals with
 * `fields: 'refused'`); a 429 problem with `Retry-After` when refused. A leaky bucket's request
 * waits for its slot before it goes on.
 */
export function rateLimit(options: RateLimitOptions): RateLimitProtection {
  const limit = new HttpRateLimit<FastifyRequest>('rateLimit', options, ipOf);
  const apply = (decision: Decision, reply: FastifyReply, done: (error?: Error) => void): void => {
    if (limit.sendsFields(decision)) {
      reply.header(RATE_LIMIT_POLICY, limit.policyField(decision));
      reply.header(RATE_LIMIT, limit.field(decision));
    }
    if (!decision.allowed) sendProblem(reply, limit.refusal(decision));
    else if (!(decision.waitMs > 0)) done();
    else {
      limit.wait(decision.waitMs, reply.raw).then((go) => {
        if (go) done();
      });
    }
  };
  const onRequest: RequestHook = (request, reply, done) => {
    // A memory store decides at once: the request goes on within its own turn of the event loop.
    let now: Decision | undefined;
    try {
      now = limit.decideNow(request);
    } catch (error) {
      return done(error as Error);
    }
    if (now !== undefined) return apply(now, reply, done);
    limit.decide(request).then((decision) => {
      if (decision === undefined) return done();
      apply(decision, reply, done);
    }, done);
  };
  return { kind: 'rateLimit', limiter: limit.limiter, onRequest };
}
