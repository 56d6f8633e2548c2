import type { Clock } from './clock.js';
import type { AbortScope } from './context.js';

/**
 * Waits `ms` on the clock for a pending call: a 'call' timer, so the process stays up while the
 * call waits. If `scope` aborts first, rejects with its reason and drops the timer and the
 * listener at once, so nothing outlives the wait.
 */
export function sleep(clock: Clock, ms: number, scope?: AbortScope): Promise<void> {
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
