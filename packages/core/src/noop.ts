import type { CallContext } from './context.js';
import type { InnerTask, Policy } from './policy.js';
import { RUN } from './policy.js';
import { PolicyBase } from './policy-base.js';

class NoopPolicy extends PolicyBase {
  constructor() {
    super('noop');
  }

  [RUN]<T>(fn: InnerTask<T>, ctx: CallContext): T | PromiseLike<T> {
    return fn(ctx);
  }
}

/** A policy that just runs the call: a default, or a placeholder in a pipeline. */
export const noop: Policy = new NoopPolicy();
