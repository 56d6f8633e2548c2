import {
  HttpIdempotency,
  type HttpIdempotencyOptions,
  sendProblem,
  sendStoredResponse,
} from '@bulwark/http';
import type { IdempotencyPolicy } from '@bulwark/idempotency';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { captureResponse } from './capture.js';

export type IdempotencyOptions = HttpIdempotencyOptions<Request>;

export interface IdempotencyMiddleware extends RequestHandler {
  /** The policy underneath: `.on(listener)` hears `claimed`, `replayed`, `released`... */
  readonly policy: IdempotencyPolicy;
}

/**
 * The IETF `Idempotency-Key` header on POST and PATCH (by default): the first request with a
 * key runs; its response is stored, then sent; a repeat gets the stored response with
 * `Idempotent-Replayed: true`. Mount it after the body parser: the body is part of the
 * request's fingerprint.
 */
export function idempotency(options?: IdempotencyOptions): IdempotencyMiddleware {
  const engine = new HttpIdempotency<Request>('idempotency', options);
  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    if (!engine.covers(req.method)) {
      next();
      return;
    }
    engine
      .begin(req, req.method, req.originalUrl, req.headers['idempotency-key'], req.body)
      .then((start) => {
        switch (start.type) {
          case 'pass':
            return next();
          case 'refuse':
            return sendProblem(res, start.problem);
          case 'fail':
            return next(start.error);
          case 'replay':
            return sendStoredResponse(res, start.response);
          case 'run':
            captureResponse(res, start.exchange);
            return next();
        }
      }, next);
  };
  return Object.assign(middleware, { policy: engine.policy });
}
