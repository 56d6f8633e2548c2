import type { ServerResponse } from 'node:http';
import { isResilienceError, type TimeoutError } from '@bulwark/core';
import { type TimeoutPolicy, timeout } from '@bulwark/timeout';
import { closedEarly } from './node-response.js';
import { type DeadlineOptions, resolveDeadlineOptions } from './options.js';

/** The reason a request's signal aborts with when its client goes away. */
export function clientGone(): DOMException {
  return new DOMException('The client closed the connection', 'AbortError');
}

/**
 * The signal of one request, built only when the handler reads it (an AbortController costs
 * microseconds, and most handlers never look). Aborted at the deadline, or when the client
 * goes away; never when the response simply completes.
 */
export class RequestSignal {
  private controller: AbortController | undefined;
  private reason: unknown;
  private aborted = false;

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** The first reason wins. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

/**
 * What the `deadline` middleware of every adapter does: the timeout policy's shared deadline
 * queue times every request (no timer of its own per request); the deadline is cleared the
 * moment the response closes.
 */
export class RequestDeadlines {
  /** The timeout policy underneath: `.ms`, and `.on(listener)` for its `timeout` events. */
  readonly policy: TimeoutPolicy;

  constructor(where: string, options: DeadlineOptions) {
    const { ms } = resolveDeadlineOptions(where, options);
    this.policy = timeout({ ms, clock: options.clock });
  }

  /**
   * Starts the deadline of a response. `onExpire(error)` runs if it passes before the response
   * closes (answer 504 if the headers are not out yet); the returned signal is aborted then
   * with the TimeoutError, or with an AbortError if the client goes away first.
   */
  start(res: ServerResponse, onExpire: (error: TimeoutError) => void): RequestSignal {
    const request = new RequestSignal();
    this.policy
      .execute(
        () =>
          new Promise<void>((resolve) => {
            res.once('close', () => {
              if (closedEarly(res)) request.abort(clientGone());
              resolve();
            });
          }),
      )
      .catch((error: unknown) => {
        if (!isResilienceError(error, 'TIMEOUT')) return;
        request.abort(error);
        onExpire(error as TimeoutError);
      });
    return request;
  }
}
