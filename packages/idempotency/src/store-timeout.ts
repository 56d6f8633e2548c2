import { StoreUnavailableError } from '@bulwark/core';

/**
 * For store authors: settles like `operation`, or rejects with `StoreUnavailableError` after
 * `timeoutMs` (a reconnecting client or an exhausted pool must not hold a call forever). Any
 * other failure becomes a `StoreUnavailableError` with the original as `cause`. When the
 * operation answers after the deadline, `onLate(value)` gets its value: a claim that lands late
 * can be released, instead of holding the key for a whole lease.
 */
export function withStoreTimeout<T>(
  operation: PromiseLike<T>,
  timeoutMs: number,
  what: string,
  onLate?: (value: T) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      reject(new StoreUnavailableError(`${what} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    operation.then(
      (value) => {
        clearTimeout(timer);
        if (!timedOut) resolve(value);
        else onLate?.(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        if (timedOut) return;
        reject(
          error instanceof StoreUnavailableError
            ? error
            : new StoreUnavailableError(`${what} failed: ${describe(error)}`, { cause: error }),
        );
      },
    );
  });
}

function describe(error: unknown): string {
  // A refused connection to a host with two addresses is an AggregateError without a message.
  if (error instanceof AggregateError && !error.message && error.errors.length > 0) {
    return describe(error.errors[0]);
  }
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
