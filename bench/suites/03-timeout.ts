import { timeout } from '@bulwark/timeout';
import { timeout as cockatielTimeout, TimeoutStrategy } from 'cockatiel';
import type { Suite } from '../suite.ts';

const fn = async () => 1;
const ours = timeout({ ms: 10_000 });
const peer = cockatielTimeout(10_000, TimeoutStrategy.Cooperative);

const suite: Suite = {
  id: 'timeout',
  title: 'Timeout: a 10 s deadline on a call that returns at once',
  about:
    'An async function that returns at once, awaited bare, through `timeout({ ms: 10_000 })` and through cockatiel `timeout(10_000, TimeoutStrategy.Cooperative)` with its defaults (abortOnReturn: it aborts its AbortController after every call). Sequential awaited calls; no deadline ever passes.',
  cases: [
    { name: 'await fn()', kind: 'bare', fn: async () => await fn() },
    {
      name: 'timeout({ ms: 10_000 }).execute(fn)',
      kind: 'ours',
      fn: async () => await ours.execute(fn),
      target: { maxOverheadNs: 150 },
    },
    {
      name: 'cockatiel timeout(10_000, Cooperative).execute(fn)',
      kind: 'peer',
      fn: async () => await peer.execute(fn),
    },
  ],
};
export default suite;
