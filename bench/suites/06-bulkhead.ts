import { bulkhead } from '@bulwark/bulkhead';
import { bulkhead as cockatielBulkhead } from 'cockatiel';
import type { Suite } from '../suite.ts';

const fn = async () => 1;
const ours = bulkhead({ maxConcurrent: 100 });
const peer = cockatielBulkhead(100);

const suite: Suite = {
  id: 'bulkhead',
  title: 'Bulkhead: a call through a bulkhead with free slots',
  about:
    'An async function that returns at once, awaited bare, through `bulkhead({ maxConcurrent: 100 })` and through cockatiel `bulkhead(100)`. Sequential awaited calls, so a slot is always free.',
  cases: [
    { name: 'await fn()', kind: 'bare', fn: async () => await fn() },
    {
      name: 'bulkhead({ maxConcurrent: 100 }).execute(fn)',
      kind: 'ours',
      fn: async () => await ours.execute(fn),
      target: { maxOverheadNs: 100 },
    },
    {
      name: 'cockatiel bulkhead(100).execute(fn)',
      kind: 'peer',
      fn: async () => await peer.execute(fn),
    },
  ],
};
export default suite;
