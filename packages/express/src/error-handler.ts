import { isResilienceError } from '@bulwark/core';
import { problemOf, sendProblem } from '@bulwark/http';
import type { ErrorRequestHandler, NextFunction, Request, Response } from 'express';
import { responseStarted } from './capture.js';

/**
 * Answers every bulwark error (`ResilienceError`, from any copy of the packages) with the status
 * of its code (`httpStatusByCode`: 429, 503, 504...), an RFC 9457 `application/problem+json`
 * body and `Retry-After` when it has `retryAfterMs`. Other errors, and errors after the
 * response has started, go on to the next error handler. Mount it after the routes.
 */
export function errorHandler(): ErrorRequestHandler {
  return (error: unknown, _req: Request, res: Response, next: NextFunction): void => {
    if (isResilienceError(error) && !responseStarted(res)) sendProblem(res, problemOf(error));
    else next(error);
  };
}
