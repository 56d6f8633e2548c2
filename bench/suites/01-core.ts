import { noop, pipeline, wrap } from '@bulwark/core';
import type { Suite } from '../suite.ts';

const fn = async () => 1;
const fourNoops = pipeline(noop, noop, noop, noop);
const wrapped = wrap(noop, fn);

const suite: Suite = {
  id: 'core',
  title: 'Core: what a pass-through policy costs',
  about:
    'An async function that returns at once, awaited bare and through `noop`, a pipeline of four `noop`s, and `wrap(noop, fn)`.',
  cases: [
    { name: 'await fn()', kind: 'bare', fn: async () => await fn() },
    {
      name: 'noop.execute(fn)',
      kind: 'ours',
      fn: async () => await noop.execute(fn),
      target: { maxOverheadNs: 50 },
    },
    {
      name: 'pipeline(noop x4).execute(fn)',
      kind: 'ours',
      fn: async () => await fourNoops.execute(fn),
      target: { maxOverheadNs: 50 },
    },
    {
      name: 'wrap(noop, fn)()',
      kind: 'ours',
      fn: async () => await wrapped(),
      target: { maxOverheadNs: 50 },
    },
  ],
};
export default suite;
