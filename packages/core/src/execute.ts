import { rootContext } from './context.js';
import { type ComposablePolicy, type InnerTask, RUN } from './policy.js';

export function isPromiseLike<T>(value: unknown): value is PromiseLike<T> {
  return (
    value instanceof Promise ||
    ((typeof value === 'object' || typeof value === 'function') &&
      value !== null &&
      typeof (value as PromiseLike<T>).then === 'function')
  );
}

/** Settles with `promise`, or rejects with `signal.reason` the moment the signal aborts. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Starts a call at the outermost policy: one Context, sync throws and plain values turned into
 * a promise, and the caller's abort rejecting with its own reason even if fn ignores the signal.
 */
export function executeRoot<T>(
  policy: ComposablePolicy,
  fn: InnerTask<T>,
  signal: AbortSignal | undefined,
  key: string | undefined,
): Promise<T> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  let result: T | PromiseLike<T>;
  try {
    result = policy[RUN](fn, rootContext(signal, key, fn as InnerTask<unknown>));
  } catch (error) {
    return Promise.reject(error);
  }
  const promise = result instanceof Promise ? result : Promise.resolve(result);
  return signal ? raceAbort(promise, signal) : promise;
}
