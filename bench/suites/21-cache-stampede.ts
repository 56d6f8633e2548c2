import { cacheAside } from '@bulwark/cache';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { createCache } from 'cache-manager';
import type { Suite } from '../suite.ts';

// Each iteration: 10 000 concurrent reads of a key nobody has loaded yet. Figures are per read;
// the loader calls per burst are counted and written into the section's text.
const BURST = 10_000;
const value = { id: 42 };
const loads = { ours: 0, bento: 0, manager: 0 };
const bursts = { ours: 0, bento: 0, manager: 0 };
let n = 0;

const ours = cacheAside({ ttlMs: 60_000 });
const bento = new BentoCache({
  default: 'memory',
  stores: {
    memory: bentostore().useL1Layer(memoryDriver({ maxItems: 100_000, serialize: false })),
  },
});
const manager = createCache({ ttl: 60_000 });

function burst(
  side: keyof typeof loads,
  read: (key: string, loader: () => Promise<unknown>) => Promise<unknown>,
) {
  return async () => {
    const key = `stampede:${side}:${n++}`;
    const loader = async () => {
      loads[side]++;
      await new Promise((resolve) => setImmediate(resolve));
      return value;
    };
    const reads = new Array<Promise<unknown>>(BURST);
    for (let i = 0; i < BURST; i++) reads[i] = read(key, loader);
    await Promise.all(reads);
    bursts[side]++;
  };
}

const perBurst = (side: keyof typeof loads) => (loads[side] / Math.max(1, bursts[side])).toFixed(2);

const suite: Suite = {
  id: 'cache-stampede',
  title: 'Cache: 10 000 concurrent misses of one key',
  about: '',
  cases: [
    {
      name: 'cacheAside.execute, 10 000 concurrent misses',
      kind: 'ours',
      opsPerCall: BURST,
      fn: burst('ours', (key, loader) => ours.execute(loader, { key })),
    },
    {
      name: 'bentocache getOrSet, 10 000 concurrent misses',
      kind: 'peer',
      opsPerCall: BURST,
      fn: burst('bento', (key, loader) => bento.getOrSet({ key, factory: loader, ttl: '1m' })),
    },
    {
      name: 'cache-manager wrap, 10 000 concurrent misses',
      kind: 'peer',
      opsPerCall: BURST,
      fn: burst('manager', (key, loader) => manager.wrap(key, loader, 60_000)),
    },
  ],
  async teardown() {
    suite.about = `Each iteration reads a new key 10 000 times at once, with a loader that takes one turn of the event loop; figures are per read. Loader calls per burst: bulwark ${perBurst('ours')}, bentocache ${perBurst('bento')}, cache-manager ${perBurst('manager')} (target for ours: 1). Across processes on Redis the count is asserted by test/cache-processes.test.ts: 4 processes x 500 concurrent misses, 1 loader call.`;
    await bento.disconnectAll();
    await manager.disconnect();
  },
};
export default suite;
