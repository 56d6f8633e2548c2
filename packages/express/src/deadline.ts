import {
  type DeadlineOptions,
  problemOf,
  RequestDeadlines,
  type RequestSignal,
  sendProblem,
} from '@bulwark/http';
import type { TimeoutPolicy } from '@bulwark/timeout';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { responseStarted } from './capture.js';

export type { DeadlineOptions };

declare global {
  namespace Express {
    interface Request {
      /**
       * Set by `deadline()`: aborts with a TimeoutError at the deadline, or with an AbortError
       * when the client goes away. Pass it to fetch, database calls, policies' `execute`.
       */
      signal?: AbortSignal;
    }
  }
}

const kSignal: unique symbol = Symbol('bulwark.deadline.signal');

interface WithSignal {
  [kSignal]: RequestSignal;
}

// One getter function for every request, not a closure each: objects given the same accessor
// keep sharing one hidden class, and the AbortController is built only if the handler reads it.
const signalProperty: PropertyDescriptor = {
  configurable: true,
  enumerable: false,
  get(this: WithSignal) {
    return this[kSignal].signal;
  },
};

export interface DeadlineMiddleware extends RequestHandler {
  /** The timeout policy underneath: `.ms`, `.on(listener)` for its `timeout` events. */
  readonly policy: TimeoutPolicy;
}

/**
 * A time budget for every request: past `ms`, a 504 problem (unless the response has started),
 * and `req.signal` aborts so the handler can stop. The deadline is cleared when the response
 * closes; a client that goes away aborts `req.signal` too.
 */
export function deadline(options: DeadlineOptions): DeadlineMiddleware {
  const deadlines = new RequestDeadlines('deadline', options);
  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    const request = deadlines.start(res, (error) => {
      if (!responseStarted(res)) sendProblem(res, problemOf(error));
    });
    (req as unknown as WithSignal)[kSignal] = request;
    Object.defineProperty(req, 'signal', signalProperty);
    next();
  };
  return Object.assign(middleware, { policy: deadlines.policy });
}
