export { type Deferred, deferred, track } from '@bulwark/core/testing';

/** Lets queued promise jobs run. */
export const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
