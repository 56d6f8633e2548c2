import type { BulkheadPolicy } from '@bulwark/bulkhead';
import { LoadShedder, type LoadSheddingOptions } from '@bulwark/http';
import type { Protection, RequestHook } from './hooks.js';
import { sendProblem } from './reply.js';

export type { LoadSheddingOptions };

export interface LoadSheddingProtection extends Protection {
  readonly kind: 'loadShedding';
  /** The bulkhead underneath: `.executing`, `.queued`, `.on(listener)`. */
  readonly bulkhead: BulkheadPolicy;
  readonly onRequest: RequestHook;
}

/**
 * A bulkhead on inbound requests (an `onRequest` hook): at most `maxConcurrent` at once, each
 * until its response closes, `maxQueue` more waiting in line, a 503 problem with `Retry-After`
 * past that. Routes that share the protection share its slots.
 */
export function loadShedding(options: LoadSheddingOptions): LoadSheddingProtection {
  const shedder = new LoadShedder('loadShedding', options);
  const onRequest: RequestHook = (_request, reply, done) => {
    const admission = shedder.admit(reply.raw);
    if (admission === 'admitted') return done();
    admission.then((outcome) => {
      if (outcome === 'admitted') done();
      else if (outcome === 'refused') sendProblem(reply, shedder.refusal());
    });
  };
  return { kind: 'loadShedding', bulkhead: shedder.bulkhead, onRequest };
}
