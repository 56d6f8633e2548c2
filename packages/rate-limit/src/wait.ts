import type { CallContext, Clock } from '@bulwark/core';

/**
 * Resolves after `ms` on `clock` (a 'call' timer: the process stays up while a call waits), or
 * rejects with the abort reason the moment the call is aborted; either way nothing is left set.
 */
export function wait(clock: Clock, ms: number, ctx: CallContext): Promise<void> {
  const { scope } = ctx;
  if (scope === undefined) return new Promise((resolve) => clock.setTimer(resolve, ms, 'call'));
  if (scope.aborted) return Promise.reject(scope.reason);
  return new Promise((resolve, reject) => {
    const signal = scope.signal;
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
