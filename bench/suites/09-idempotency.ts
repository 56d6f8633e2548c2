import { fingerprint, idempotency } from '@bulwark/idempotency';
import type { Suite } from '../suite.ts';

const fn = async () => 1;
const charge = async () => ({ id: 'ch_1', amount: 100, currency: 'eur' });
const payload = {
  amount: 100,
  currency: 'eur',
  customer: 'cus_1',
  metadata: { order: '42', tags: ['a', 'b'] },
};
const policy = idempotency();
const fp = fingerprint(payload);
let n = 0;

const suite: Suite = {
  id: 'idempotency',
  title: 'Idempotency: what a key costs in memory',
  about:
    'The default memory store (10 000 keys, so new keys evict the least recently used): a new key (claim, run, store the result, return its copy), a repeat of a finished key (replay), and `fingerprint` of a small JSON payload.',
  async setup() {
    await policy.execute(fn, { key: 'finished' });
    await policy.run('finished-charge', fp, charge);
  },
  cases: [
    { name: 'await fn()', kind: 'bare', fn: async () => await fn() },
    {
      name: 'execute(fn, { key }), a new key',
      kind: 'ours',
      fn: async () => await policy.execute(fn, { key: `k${n++}` }),
      target: { maxOverheadNs: 3000 },
    },
    {
      name: 'run(key, fingerprint, charge), a new key',
      kind: 'ours',
      fn: async () => await policy.run(`c${n++}`, fp, charge),
      target: { maxOverheadNs: 4000 },
    },
    {
      name: 'execute(fn, { key }), replay',
      kind: 'ours',
      fn: async () => await policy.execute(fn, { key: 'finished' }),
      target: { maxOverheadNs: 1000 },
    },
    {
      name: 'run(key, fingerprint, charge), replay',
      kind: 'ours',
      fn: async () => await policy.run('finished-charge', fp, charge),
      target: { maxOverheadNs: 1500 },
    },
    {
      name: 'fingerprint(payload)',
      kind: 'ours',
      fn: () => fingerprint(payload),
    },
  ],
};
export default suite;
