import { constant, retry, retryBudget } from '@bulwark/retry';
import { retry as cockatielRetry, handleAll } from 'cockatiel';
import pRetry from 'p-retry';
import type { Suite } from '../suite.ts';

const fn = async () => 1;

// Same settings everywhere: up to 3 calls in all. cockatiel's and p-retry's counts are retries.
const ours = retry({ maxAttempts: 3 });
const oursWithBudget = retry({ maxAttempts: 3, budget: retryBudget() });
const cockatiel = cockatielRetry(handleAll, { maxAttempts: 2 });

// The failure path: every other call fails (with an error made once: a stack trace costs more
// than the retry), and the retry right after it succeeds.
const immediate = retry({ maxAttempts: 3, backoff: constant(0) });
const error = new Error('transient');
let calls = 0;
const failsEveryOther = () => (calls++ % 2 === 0 ? Promise.reject(error) : Promise.resolve(1));

const suite: Suite = {
  id: 'retry',
  title: 'Retry: what a call that succeeds at once costs',
  about:
    'An async function that returns at once, awaited bare and through a retry policy allowing 3 calls in all (cockatiel `maxAttempts: 2` and p-retry `retries: 2` count retries), with and without a shared retry budget; and the failure path: a first attempt that fails and a retry, at once, that succeeds.',
  cases: [
    { name: 'await fn()', kind: 'bare', fn: async () => await fn() },
    {
      name: 'retry({ maxAttempts: 3 }).execute(fn)',
      kind: 'ours',
      fn: async () => await ours.execute(fn),
      target: { maxOverheadNs: 100 },
    },
    {
      name: 'retry({ maxAttempts: 3, budget }).execute(fn)',
      kind: 'ours',
      fn: async () => await oursWithBudget.execute(fn),
      // One clock read per call to count it: about 60 ns of this on a VM's clock source.
      target: { maxOverheadNs: 200 },
    },
    {
      name: 'retry({ backoff: constant(0) }): fails once, then succeeds',
      kind: 'ours',
      fn: async () => await immediate.execute(failsEveryOther),
    },
    {
      name: 'cockatiel retry(handleAll, { maxAttempts: 2 })',
      kind: 'peer',
      fn: async () => await cockatiel.execute(fn),
    },
    {
      name: 'p-retry pRetry(fn, { retries: 2 })',
      kind: 'peer',
      fn: async () => await pRetry(fn, { retries: 2 }),
    },
  ],
};
export default suite;
