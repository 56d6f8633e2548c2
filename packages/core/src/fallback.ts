import type { CallContext } from './context.js';
import { isPromiseLike } from './execute.js';
import { type Context, type InnerTask, type Policy, RUN } from './policy.js';
import { PolicyBase } from './policy-base.js';
import { functionOption } from './validate.js';

export type FallbackSource<T> =
  | { value: T }
  | { fn: (error: unknown, ctx: Context) => T | PromiseLike<T> };

export interface FallbackOptions {
  /** Which errors the fallback replaces; default: all but the caller's abort. */
  when?: (error: unknown) => boolean;
}

class FallbackPolicy<F> extends PolicyBase {
  private readonly replace: (error: unknown, ctx: Context) => F | PromiseLike<F>;
  private readonly when: ((error: unknown) => boolean) | undefined;

  constructor(source: FallbackSource<F>, options: FallbackOptions | undefined) {
    super('fallback');
    if (typeof source !== 'object' || source === null || !('value' in source || 'fn' in source)) {
      throw new TypeError('fallback: pass { value } or { fn: (error, ctx) => value }');
    }
    if ('fn' in source) {
      this.replace = functionOption('fallback', 'fn', source.fn);
    } else {
      const { value } = source;
      this.replace = () => value;
    }
    this.when =
      options?.when === undefined ? undefined : functionOption('fallback', 'when', options.when);
  }

  [RUN]<T>(fn: InnerTask<T>, ctx: CallContext): T | PromiseLike<T> {
    let result: T | PromiseLike<T>;
    try {
      result = fn(ctx);
    } catch (error) {
      return this.recover(error, ctx);
    }
    if (!isPromiseLike(result)) return result;
    return Promise.resolve(result).then(undefined, (error: unknown) => this.recover(error, ctx));
  }

  private recover<T>(error: unknown, ctx: CallContext): T | PromiseLike<T> {
    if (ctx.callerAborted || (this.when !== undefined && !this.when(error))) throw error;
    if (this.listening) this.emit('fallback', { error });
    // The policy's value type is the caller's to choose: fallback({ value: [] }) serves any list.
    return this.replace(error, ctx) as T | PromiseLike<T>;
  }
}

/**
 * Replaces a failure with a value, or with what `fn(error, ctx)` returns. The caller's own
 * abort is never replaced. Emits `fallback` with the error it replaced.
 */
export function fallback<F>(source: FallbackSource<F>, options?: FallbackOptions): Policy {
  return new FallbackPolicy(source, options);
}
