import {
  type DeadlineOptions,
  problemOf,
  RequestDeadlines,
  type RequestSignal,
} from '@bulwark/http';
import type { TimeoutPolicy } from '@bulwark/timeout';
import type { Protection, RequestHook } from './hooks.js';
import { sendProblem } from './reply.js';

export type { DeadlineOptions };

/** The request's deadline signal, on routes with a deadline. */
export const kSignal: unique symbol = Symbol('bulwark.deadline.signal');

interface WithSignal {
  [kSignal]: RequestSignal | null;
}

// One getter function for every request, not a closure each: objects given the same accessor
// keep sharing one hidden class, and the AbortController is built only if the handler reads it.
const signalProperty: PropertyDescriptor = {
  configurable: true,
  enumerable: false,
  get(this: WithSignal) {
    return this[kSignal]?.signal;
  },
};

export interface DeadlineProtection extends Protection {
  readonly kind: 'deadline';
  /** The timeout policy underneath: `.ms`, `.on(listener)` for its `timeout` events. */
  readonly policy: TimeoutPolicy;
  readonly onRequest: RequestHook;
}

/**
 * A time budget for every request of the routes it is on (an `onRequest` hook): past `ms`, a 504
 * problem (unless the reply has been sent), and `request.signal` aborts so the handler can stop.
 * Cleared when the response closes; a client that goes away aborts `request.signal` too.
 */
export function deadline(options: DeadlineOptions): DeadlineProtection {
  const deadlines = new RequestDeadlines('deadline', options);
  const onRequest: RequestHook = (request, reply, done) => {
    const signal = deadlines.start(reply.raw, (error) => {
      if (!reply.sent && !reply.raw.headersSent) sendProblem(reply, problemOf(error));
    });
    // Fastify's own request.signal only knows about the client; on this route, ours answers
    // for the deadline too.
    (request as unknown as WithSignal)[kSignal] = signal;
    Object.defineProperty(request, 'signal', signalProperty);
    done();
  };
  return { kind: 'deadline', policy: deadlines.policy, onRequest };
}
