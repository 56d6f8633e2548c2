import type { AbortScope, Clock } from '@bulwark/core';

/**
 * Waits `ms` on the clock with a 'call' timer (a pending retry keeps the process alive). If the
 * scope aborts first, rejects with its reason and drops the timer and the listener at once.
 */
export function sleep(clock: Clock, ms: number, scope: AbortScope | undefined): Promise<void> {
  if (scope === undefined) {
    return new Promise((resolve) => {
      clock.setTimer(resolve, ms, 'call');
    });
  }
  if (scope.aborted) return Promise.reject(scope.reason);
  const signal = scope.signal;
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      cancel();
      reject(signal.reason);
    };
    const cancel = clock.setTimer(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      ms,
      'call',
    );
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
