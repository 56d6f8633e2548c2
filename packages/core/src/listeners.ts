/**
 * Reports an error a user's callback threw, as Node's EventTarget does: on the next tick, as an
 * uncaught exception, so it is seen but never breaks the call or the store that called it.
 */
export function reportLater(error: unknown): void {
  process.nextTick(() => {
    throw error;
  });
}

/** Calls every listener with `value`; one that throws is reported and the others still hear it. */
export function notifyAll<T>(listeners: Iterable<(value: T) => void>, value: T): void {
  for (const listener of listeners) {
    try {
      listener(value);
    } catch (error) {
      reportLater(error);
    }
  }
}
