import type { ServerResponse } from 'node:http';
import { type BulkheadPolicy, bulkhead } from '@bulwark/bulkhead';
import { isResilienceError } from '@bulwark/core';
import { type LoadSheddingOptions, resolveLoadSheddingOptions } from './options.js';
import { type Problem, problem } from './problem.js';

/** How a request fared at the door: in now, in after a wait, turned away, or gone. */
export type Admission = 'admitted' | 'refused' | 'gone';

function closed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => res.once('close', resolve));
}

/**
 * What the `loadShedding` middleware of every adapter does: a bulkhead whose calls are requests.
 * A request holds its slot until its response closes (sent in full, or its client gone).
 */
export class LoadShedder {
  /** The bulkhead underneath: `.executing`, `.queued`, and `.on(listener)` for its events. */
  readonly bulkhead: BulkheadPolicy;
  private readonly retryAfterMs: number;

  constructor(where: string, options: LoadSheddingOptions) {
    const { retryAfterMs } = resolveLoadSheddingOptions(where, options);
    this.retryAfterMs = retryAfterMs;
    const { maxConcurrent, maxQueue, queueTimeoutMs, clock } = options;
    this.bulkhead = bulkhead({ maxConcurrent, maxQueue, queueTimeoutMs, clock });
  }

  /**
   * Lets a request in. `'admitted'` at once when a slot is free; otherwise a promise: of
   * `'admitted'` when a slot frees up for it, `'refused'` when there is no room (answer
   * `refusal()`), or `'gone'` when its client left while it waited (answer nothing).
   */
  admit(res: ServerResponse): 'admitted' | Promise<Admission> {
    const b = this.bulkhead;
    if (b.executing < b.maxConcurrent) {
      // A free slot: the bulkhead runs the call at once and holds the slot until the close.
      b.execute(() => closed(res));
      return 'admitted';
    }
    return new Promise<Admission>((resolve) => {
      // Only a request that may wait needs a way out of the queue when its client leaves.
      const leave = new AbortController();
      const onClose = () => leave.abort();
      res.once('close', onClose);
      b.execute(
        () => {
          res.off('close', onClose);
          resolve('admitted');
          return closed(res);
        },
        { signal: leave.signal },
      ).catch((error: unknown) => {
        res.off('close', onClose);
        resolve(isResilienceError(error, 'BULKHEAD_FULL') ? 'refused' : 'gone');
      });
    });
  }

  /** The 503 of a request turned away, with Retry-After. */
  refusal(): Problem {
    return problem('BULKHEAD_FULL', this.retryAfterMs);
  }
}
