import { cacheAside } from '@bulwark/cache';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { createCache } from 'cache-manager';
import type { Suite } from '../suite.ts';

// One warm key, the same value and a 60 s TTL everywhere; every case is a memory hit.
const key = 'user:42';
const value = { id: 42, name: 'Ada Lovelace', roles: ['admin', 'author'] };
const loader = async () => value;
const options = { key };

const ours = cacheAside({ ttlMs: 60_000 });
// bentocache's memory tier, alone; serialize: false keeps references, as ours does.
const bento = new BentoCache({
  default: 'memory',
  stores: {
    memory: bentostore().useL1Layer(memoryDriver({ maxItems: 10_000, serialize: false })),
  },
});
const bentoSerializing = new BentoCache({
  default: 'memory',
  stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: 10_000 })) },
});
// cache-manager's default store: Keyv over a Map.
const manager = createCache({ ttl: 60_000 });

const bentoCase = 'bentocache getOrSet (memory, serialize: false)';

const suite: Suite = {
  id: 'cache',
  title: 'Cache: a cache-aside memory hit',
  about:
    'A warm key read through each library’s get-or-load call with a 60 s TTL and an in-process memory store: bulwark `cacheAside({ ttlMs: 60_000 }).execute(loader, { key })` and `.get(key)`, bentocache `getOrSet` with only a memory tier (serialize false, as ours keeps references; and its default, serialize true), cache-manager `wrap`. The bare case awaits the loader itself.',
  async setup() {
    await ours.execute(loader, options);
    await bento.getOrSet({ key, factory: loader, ttl: '1m' });
    await bentoSerializing.getOrSet({ key, factory: loader, ttl: '1m' });
    await manager.wrap(key, loader, 60_000);
  },
  cases: [
    { name: 'await loader()', kind: 'bare', fn: async () => await loader() },
    {
      name: 'cacheAside.execute(loader, { key }) hit',
      kind: 'ours',
      fn: async () => await ours.execute(loader, options),
      target: { atLeastTimesFasterThan: bentoCase, ratio: 1.5 },
    },
    {
      name: 'cacheAside.get(key) hit',
      kind: 'ours',
      fn: async () => await ours.get(key),
      target: { atLeastTimesFasterThan: bentoCase, ratio: 1.5 },
    },
    {
      name: bentoCase,
      kind: 'peer',
      fn: async () => await bento.getOrSet({ key, factory: loader, ttl: '1m' }),
    },
    {
      name: 'bentocache getOrSet (memory, default serialize)',
      kind: 'peer',
      fn: async () => await bentoSerializing.getOrSet({ key, factory: loader, ttl: '1m' }),
    },
    {
      name: 'cache-manager wrap (default Keyv memory store)',
      kind: 'peer',
      fn: async () => await manager.wrap(key, loader, 60_000),
    },
  ],
  async teardown() {
    await bento.disconnectAll();
    await bentoSerializing.disconnectAll();
    await manager.disconnect();
  },
};
export default suite;
