import type { BulkheadPolicy } from '@bulwark/bulkhead';
import { LoadShedder, type LoadSheddingOptions, sendProblem } from '@bulwark/http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export type { LoadSheddingOptions };

export interface LoadSheddingMiddleware extends RequestHandler {
  /** The bulkhead underneath: `.executing`, `.queued`, `.on(listener)`. */
  readonly bulkhead: BulkheadPolicy;
}

/**
 * A bulkhead on inbound requests: at most `maxConcurrent` at once (each until its response
 * closes), `maxQueue` more waiting in line, and a 503 problem with `Retry-After` past that.
 */
export function loadShedding(options: LoadSheddingOptions): LoadSheddingMiddleware {
  const shedder = new LoadShedder('loadShedding', options);
  const middleware = (_req: Request, res: Response, next: NextFunction): void => {
    const admission = shedder.admit(res);
    if (admission === 'admitted') {
      next();
      return;
    }
    admission.then((outcome) => {
      if (outcome === 'admitted') next();
      else if (outcome === 'refused') sendProblem(res, shedder.refusal());
    });
  };
  return Object.assign(middleware, { bulkhead: shedder.bulkhead });
}
