import {
  HttpRateLimit,
  type HttpRateLimitOptions,
  RATE_LIMIT,
  RATE_LIMIT_POLICY,
  sendProblem,
} from '@bulwark/http';
import type { Decision, RateLimiter } from '@bulwark/rate-limit';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export type RateLimitOptions = HttpRateLimitOptions<Request>;

export interface RateLimitMiddleware extends RequestHandler {
  /** The limiter the middleware takes from. */
  readonly limiter: RateLimiter;
}

// req.ip applies the app's 'trust proxy' setting: X-Forwarded-For counts only where it says so.
// At the setting's default (false) that is the socket's address, read here directly: req.ip
// would parse X-Forwarded-For on every request only to ignore it.
const ipOf = (req: Request): string | undefined =>
  req.app?.settings?.['trust proxy'] === false ? req.socket.remoteAddress : req.ip;

/**
 * Takes from `limiter` for every request: `RateLimit-Policy` and `RateLimit` fields on every
 * response it lets through (unless `fields: 'refused'`) or refuses; a 429 problem with
 * `Retry-After` when refused. A leaky bucket's request waits for its slot before it goes on.
 */
export function rateLimit(options: RateLimitOptions): RateLimitMiddleware {
  const limit = new HttpRateLimit<Request>('rateLimit', options, ipOf);
  const apply = (decision: Decision, res: Response, next: NextFunction): void => {
    if (limit.sendsFields(decision)) {
      res.setHeader(RATE_LIMIT_POLICY, limit.policyField(decision));
      res.setHeader(RATE_LIMIT, limit.field(decision));
    }
    if (!decision.allowed) sendProblem(res, limit.refusal(decision));
    else if (!(decision.waitMs > 0)) next();
    else {
      limit.wait(decision.waitMs, res).then((go) => {
        if (go) next();
      });
    }
  };
  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    // A memory store decides at once: the request goes on within its own turn of the event loop.
    let now: Decision | undefined;
    try {
      now = limit.decideNow(req);
    } catch (error) {
      next(error);
      return;
    }
    if (now !== undefined) {
      apply(now, res, next);
      return;
    }
    limit.decide(req).then((decision) => {
      if (decision === undefined) next();
      else apply(decision, res, next);
    }, next);
  };
  return Object.assign(middleware, { limiter: limit.limiter });
}
