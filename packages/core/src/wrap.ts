import type { Context, Policy } from './policy.js';

/** Options of `wrap`: how each call's arguments map to the policy's key and signal. */
export interface WrapOptions<A extends unknown[]> {
  /** The partition key of a call, e.g. `(userId) => userId` for a per-user rate limit. */
  key?: (...args: A) => string;
  /** A signal that cancels the call, e.g. `(url, init) => init?.signal`. */
  signal?: (...args: A) => AbortSignal | undefined;
}

/** fn's parameters without a trailing Context parameter (required or optional). */
export type ArgsOf<F> = F extends (...args: infer P) => unknown ? DropContext<P> : never;

type DropContext<P extends unknown[]> = number extends P['length']
  ? P
  : P extends []
    ? []
    : [LastOf<P>] extends [Context | undefined]
      ? Init<P>
      : P;
type LastOf<P extends unknown[]> = Required<P> extends [...unknown[], infer L] ? L : never;
type Init<P extends unknown[], Done extends unknown[] = []> = P extends [infer A, ...infer Rest]
  ? Rest extends []
    ? Done
    : Init<Rest, [...Done, A]>
  : P extends [(infer A)?, ...infer Rest]
    ? Rest extends []
      ? Done
      : Init<Rest, [...Done, A?]>
    : Done;

/**
 * Turns `fn` into a function with the same arguments that runs through `policy`. `fn` is called
 * as `fn(...args, ctx)`: the Context comes last, so a function whose last parameter is optional
 * keeps its signature, and one that wants the signal can take it.
 */
export function wrap<F extends (...args: never[]) => unknown>(
  policy: Policy,
  fn: F,
  options?: WrapOptions<ArgsOf<F>>,
): (...args: ArgsOf<F>) => Promise<Awaited<ReturnType<F>>> {
  if (typeof policy?.execute !== 'function') {
    throw new TypeError(
      `wrap: policy must be a policy, got ${policy === null ? 'null' : typeof policy}`,
    );
  }
  if (typeof fn !== 'function')
    throw new TypeError(`wrap: fn must be a function, got ${typeof fn}`);
  const key = options?.key;
  const signal = options?.signal;
  if (key !== undefined && typeof key !== 'function') {
    throw new TypeError(`wrap: key must be a function of the arguments, got ${typeof key}`);
  }
  if (signal !== undefined && typeof signal !== 'function') {
    throw new TypeError(`wrap: signal must be a function of the arguments, got ${typeof signal}`);
  }
  type R = Awaited<ReturnType<F>>;
  const call = fn as unknown as (...args: unknown[]) => R | PromiseLike<R>;
  // The Context goes in the slot after fn's declared parameters, so a call that leaves
  // optional arguments out still hands fn its Context last: (url, init?, ctx) called as f(url).
  const contextSlot = Math.max(fn.length - 1, 0);
  const run = (args: unknown[], signalOf?: AbortSignal, keyOf?: string): Promise<R> => {
    const slot = Math.max(args.length, contextSlot);
    return policy.execute(
      (ctx) => {
        args[slot] = ctx;
        return call.apply(undefined, args);
      },
      signalOf === undefined && keyOf === undefined ? undefined : { signal: signalOf, key: keyOf },
    );
  };
  if (!key && !signal) return (...args) => run(args);
  return (...args) => run(args, signal?.(...args), key?.(...args));
}
