import type { Clock } from '@bulwark/core';

/** A wait a pending call depends on: a 'call' timer, so the process stays up for it. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => {
    clock.setTimer(resolve, ms, 'call');
  });
}
