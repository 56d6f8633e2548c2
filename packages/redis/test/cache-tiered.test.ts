import { type CacheEntry, type CacheStore, cacheAside, memoryCacheStore } from '@bulwark/cache';
import { StoreUnavailableError } from '@bulwark/core';
import { manualClock } from '@bulwark/core/testing';
import { type InvalidationBus, type InvalidationMessage, tiered } from '@bulwark/redis';
import { describe, expect, it } from 'vitest';

/** An in-process bus: what one channel publishes, every other channel hears. */
function localBus(): InvalidationBus & { sent: InvalidationMessage[] } {
  const handlers = new Set<(m: InvalidationMessage) => void>();
  const sent: InvalidationMessage[] = [];
  return {
    sent,
    subscribe(handler) {
      handlers.add(handler);
      return {
        publish: async (message) => {
          sent.push(message);
          for (const h of handlers) if (h !== handler) h(message);
        },
        close: () => handlers.delete(handler),
      };
    },
  };
}

/** A shared "remote" store that counts reads and can fail or refuse. */
function remote() {
  const memory = memoryCacheStore();
  const state = { gets: 0, down: false, refuse: false };
  const store: CacheStore = {
    get: async (key, now) => {
      state.gets++;
      if (state.down) throw new StoreUnavailableError('down');
      return memory.get(key, now);
    },
    set: async (key, entry, now) => {
      if (state.refuse) throw new TypeError('cannot encode');
      if (state.down) throw new StoreUnavailableError('down');
      memory.set(key, entry, now);
    },
    delete: async (key) => memory.delete(key),
    deleteByTag: async (tag) => memory.deleteByTag(tag),
  };
  return { store, state, memory };
}

const entry = (value: unknown, expiresAt: number, tags?: string[]): CacheEntry => ({
  value,
  expiresAt,
  staleUntil: expiresAt,
  tags,
});

describe('tiered', () => {
  it('answers a fresh l1 entry without asking l2', async () => {
    const { store, state } = remote();
    const both = tiered(memoryCacheStore(), store);
    await both.set('a', entry(1, 100), 0);
    expect((await both.get('a', 0))?.value).toBe(1);
    expect(state.gets).toBe(0);
  });

  it('answers an l1 hit synchronously', async () => {
    const both = tiered(memoryCacheStore(), remote().store);
    await both.set('a', entry(1, 100), 0);
    expect(both.get('a', 0)).toMatchObject({ value: 1 });
  });

  it('fills l1 from l2 on an l1 miss', async () => {
    const shared = remote();
    await shared.store.set('a', entry(1, 100), 0);
    const l1 = memoryCacheStore();
    const both = tiered(l1, shared.store);
    expect((await both.get('a', 0))?.value).toBe(1);
    expect(l1.get('a', 0)?.value).toBe(1);
  });

  it('bounds the l1 copy by l1TtlMs and asks l2 again after it', async () => {
    const shared = remote();
    const both = tiered(memoryCacheStore(), shared.store, { l1TtlMs: 10 });
    await both.set('a', entry(1, 100), 0);
    await both.get('a', 5);
    expect(shared.state.gets).toBe(0);
    expect((await both.get('a', 10))?.value).toBe(1);
    expect(shared.state.gets).toBe(1);
  });

  it('writes l2 first: a value l2 refuses never reaches l1', async () => {
    const shared = remote();
    const l1 = memoryCacheStore();
    const both = tiered(l1, shared.store);
    await both.set('a', entry('old', 100), 0);
    shared.state.refuse = true;
    await expect(both.set('a', entry('new', 100), 0)).rejects.toThrow('cannot encode');
    expect(l1.get('a', 0)?.value).toBe('old');
  });

  it('fills l1 when l2 is down for the write, and still reports the failed write', async () => {
    const shared = remote();
    const l1 = memoryCacheStore();
    const both = tiered(l1, shared.store);
    shared.state.down = true;
    await expect(both.set('a', entry('new', 100), 0)).rejects.toThrow(StoreUnavailableError);
    expect(l1.get('a', 0)?.value).toBe('new');
  });

  it('runs the loader once per key while l2 is down for reads and writes', async () => {
    const shared = remote();
    const clock = manualClock();
    const cache = cacheAside({
      ttlMs: 60_000,
      store: tiered(memoryCacheStore(), shared.store),
      clock,
    });
    shared.state.down = true;
    let loads = 0;
    for (let i = 0; i < 5; i++) {
      expect(await cache.execute(async () => ++loads, { key: 'k' })).toBe(1);
    }
    expect(loads).toBe(1);
  });

  it('serves what l1 holds, even stale, while l2 is down', async () => {
    const shared = remote();
    const both = tiered(memoryCacheStore(), shared.store);
    await both.set('a', { value: 1, expiresAt: 10, staleUntil: 100 }, 0);
    shared.state.down = true;
    expect((await both.get('a', 50))?.value).toBe(1);
    await expect(both.get('b', 50)).rejects.toThrow(StoreUnavailableError);
  });

  it('drops the l1 copy of an entry l2 no longer has', async () => {
    const shared = remote();
    const l1 = memoryCacheStore();
    const both = tiered(l1, shared.store);
    await both.set('a', { value: 1, expiresAt: 10, staleUntil: 100 }, 0);
    shared.memory.delete('a');
    expect(await both.get('a', 50)).toBeUndefined();
    expect(l1.size).toBe(0);
  });

  it('drops a key from the other processes’ l1 when one deletes it', async () => {
    const shared = remote();
    const bus = localBus();
    const l1a = memoryCacheStore();
    const l1b = memoryCacheStore();
    const a = tiered(l1a, shared.store, { bus });
    const b = tiered(l1b, shared.store, { bus });
    await a.set('k', entry(1, 100), 0);
    await b.get('k', 0);
    expect(l1b.size).toBe(1);
    await a.delete('k');
    expect(l1b.size).toBe(0);
  });

  it('drops a tag from the other processes’ l1 when one deletes it', async () => {
    const shared = remote();
    const bus = localBus();
    const l1b = memoryCacheStore();
    const a = tiered(memoryCacheStore(), shared.store, { bus });
    const b = tiered(l1b, shared.store, { bus });
    await a.set('k', entry(1, 100, ['t']), 0);
    await b.get('k', 0);
    await a.deleteByTag('t');
    expect(l1b.size).toBe(0);
    expect(bus.sent.at(-1)).toEqual({ tag: 't' });
  });

  it('drops the other processes’ l1 copy when one writes a new value', async () => {
    const shared = remote();
    const bus = localBus();
    const a = tiered(memoryCacheStore(), shared.store, { bus });
    const b = tiered(memoryCacheStore(), shared.store, { bus });
    await a.set('k', entry('v1', 100), 0);
    await b.get('k', 0);
    await a.set('k', entry('v2', 100), 0);
    expect((await b.get('k', 0))?.value).toBe('v2');
  });

  it('clears l1 on a reset (the bus reconnected and may have missed messages)', async () => {
    const shared = remote();
    const handlers: Array<(m: InvalidationMessage) => void> = [];
    const bus: InvalidationBus = {
      subscribe: (h) => {
        handlers.push(h);
        return { publish: async () => {}, close: () => {} };
      },
    };
    const l1 = memoryCacheStore();
    const both = tiered(l1, shared.store, { bus });
    await both.set('k', entry(1, 100), 0);
    handlers[0]!({ reset: true });
    expect(l1.size).toBe(0);
  });

  it('does not fill l1 with an l2 read that an invalidation overtook', async () => {
    const memory = memoryCacheStore();
    memory.set('k', entry('old', 100), 0);
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slow: CacheStore = {
      get: async (key, now) => {
        const found = memory.get(key, now);
        await gate;
        return found;
      },
      set: async (key, e, now) => memory.set(key, e, now),
      delete: async (key) => memory.delete(key),
      deleteByTag: async (tag) => memory.deleteByTag(tag),
    };
    const bus = localBus();
    const l1 = memoryCacheStore();
    const reader = tiered(l1, slow, { bus });
    const writer = tiered(memoryCacheStore(), slow, { bus });
    const read = reader.get('k', 0);
    await writer.delete('k');
    release();
    await read;
    expect(l1.size).toBe(0);
  });

  it('offers the l2 fill lock, and none when l2 has none', () => {
    const plain = tiered(memoryCacheStore(), remote().store);
    expect(plain.acquireLock).toBeUndefined();
    const lockable: CacheStore = {
      ...remote().store,
      acquireLock: async () => 'token',
      releaseLock: async () => {},
    };
    expect(typeof tiered(memoryCacheStore(), lockable).acquireLock).toBe('function');
  });

  it('stops hearing the bus once closed', async () => {
    const shared = remote();
    const bus = localBus();
    const l1b = memoryCacheStore();
    const a = tiered(memoryCacheStore(), shared.store, { bus });
    const b = tiered(l1b, shared.store, { bus });
    await b.set('k', entry(1, 100), 0);
    b.close();
    await a.delete('k');
    expect(l1b.size).toBe(1);
  });

  it('lets cacheAside in one process invalidate what another process cached', async () => {
    const clock = manualClock();
    const shared = remote();
    const bus = localBus();
    const a = cacheAside({
      ttlMs: 1_000,
      store: tiered(memoryCacheStore(), shared.store, { bus }),
      clock,
    });
    const b = cacheAside({
      ttlMs: 1_000,
      store: tiered(memoryCacheStore(), shared.store, { bus }),
      clock,
    });
    await b.execute(async () => 'v1', { key: 'k' });
    await a.invalidate('k');
    expect(await b.execute(async () => 'v2', { key: 'k' })).toBe('v2');
  });

  it('rejects bad options', () => {
    const store = remote().store;
    expect(() => tiered({} as never, store)).toThrow('tiered: l1 must be a CacheStore, got object');
    expect(() => tiered(memoryCacheStore(), store, { l1TtlMs: 0 })).toThrow(
      'tiered: l1TtlMs must be a finite number > 0, got 0',
    );
    expect(() => tiered(memoryCacheStore(), store, { bus: {} as never })).toThrow(TypeError);
  });
});
