import { type CacheEntry, type CacheStore, cacheAside, memoryCacheStore } from '@bulwark/cache';
import { type PolicyEvent, pipeline, StoreUnavailableError } from '@bulwark/core';
import { manualClock } from '@bulwark/core/testing';
import { describe, expect, it } from 'vitest';
import { deferred, track } from './helpers.js';

function counter<T>(value: (n: number) => T) {
  let calls = 0;
  const loader = async () => value(++calls);
  return {
    loader,
    get calls() {
      return calls;
    },
  };
}

describe('cacheAside: hits and misses', () => {
  it('loads on a miss and answers the next call from the cache', async () => {
    const cache = cacheAside({ ttlMs: 1_000, clock: manualClock() });
    const load = counter((n) => `v${n}`);
    expect(await cache.execute(load.loader, { key: 'a' })).toBe('v1');
    expect(await cache.execute(load.loader, { key: 'a' })).toBe('v1');
    expect(load.calls).toBe(1);
  });

  it('keeps keys apart', async () => {
    const cache = cacheAside({ ttlMs: 1_000, clock: manualClock() });
    expect(await cache.execute(async () => 1, { key: 'a' })).toBe(1);
    expect(await cache.execute(async () => 2, { key: 'b' })).toBe(2);
  });

  it('loads again once ttlMs has passed', async () => {
    const clock = manualClock();
    const cache = cacheAside({ ttlMs: 1_000, clock });
    const load = counter((n) => n);
    await cache.execute(load.loader, { key: 'a' });
    await clock.advance(999);
    expect(await cache.execute(load.loader, { key: 'a' })).toBe(1);
    await clock.advance(1);
    expect(await cache.execute(load.loader, { key: 'a' })).toBe(2);
  });

  it('runs the loader once for 10 000 concurrent misses of one key', async () => {
    const cache = cacheAside({ ttlMs: 1_000, clock: manualClock() });
    const gate = deferred();
    let calls = 0;
    const loader = async () => {
      calls++;
      await gate.promise;
      return 'value';
    };
    const calls10k = Array.from({ length: 10_000 }, () => cache.execute(loader, { key: 'hot' }));
    gate.resolve();
    const values = await Promise.all(calls10k);
    expect(calls).toBe(1);
    expect(new Set(values)).toEqual(new Set(['value']));
  });

  it('does not cache a failure: the next call loads again', async () => {
    const cache = cacheAside({ ttlMs: 1_000, clock: manualClock() });
    const error = new Error('down');
    await expect(cache.execute(() => Promise.reject(error), { key: 'a' })).rejects.toBe(error);
    expect(await cache.execute(async () => 'ok', { key: 'a' })).toBe('ok');
  });

  it('shares one failure among the calls that waited on the same load', async () => {
    const cache = cacheAside({ ttlMs: 1_000, clock: manualClock() });
    const gate = deferred<string>();
    const a = cache.execute(() => gate.promise, { key: 'a' });
    const b = cache.execute(() => gate.promise, { key: 'a' });
    const error = new Error('down');
    gate.reject(error);
    await expect(a).rejects.toBe(error);
    await expect(b).rejects.toBe(error);
  });

  it('handles a loader that throws synchronously', async () => {
    const cache = cacheAside({ ttlMs: 1_000, clock: manualClock() });
    const error = new Error('sync');
    await expect(
      cache.execute(
        () => {
          throw error;
        },
        { key: 'a' },
      ),
    ).rejects.toBe(error);
  });

  it('returns a plain (not awaited) value from a synchronous loader', async () => {
    const cache = cacheAside({ ttlMs: 1_000, clock: manualClock() });
    expect(await cache.execute(() => 7, { key: 'a' })).toBe(7);
    expect(await cache.get('a')).toBe(7);
  });

  it('runs inside a pipeline with the key of the call', async () => {
    const cache = cacheAside({ ttlMs: 1_000, clock: manualClock() });
    const policy = pipeline(cache);
    const load = counter(() => 'x');
    await policy.execute(load.loader, { key: 'k' });
    await policy.execute(load.loader, { key: 'k' });
    expect(load.calls).toBe(1);
  });

  it('lets a waiter load for itself when the call leading the load was aborted', async () => {
    const cache = cacheAside({ ttlMs: 1_000, clock: manualClock() });
    const controller = new AbortController();
    const leader = cache.execute(
      (ctx) =>
        new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
        ),
      { key: 'a', signal: controller.signal },
    );
    const waiter = cache.execute(async () => 'mine', { key: 'a' });
    controller.abort(new Error('caller gave up'));
    await expect(leader).rejects.toThrow('caller gave up');
    expect(await waiter).toBe('mine');
  });
});

describe('cacheAside: stale-while-revalidate', () => {
  it('serves the stale value and refreshes it once in the background', async () => {
    const clock = manualClock();
    const cache = cacheAside({ ttlMs: 100, staleWhileRevalidateMs: 1_000, clock });
    const gate = deferred();
    let calls = 0;
    const loader = async () => {
      calls++;
      if (calls > 1) await gate.promise;
      return `v${calls}`;
    };
    await cache.execute(loader, { key: 'a' });
    await clock.advance(150);
    const stale = await Promise.all(
      Array.from({ length: 50 }, () => cache.execute(loader, { key: 'a' })),
    );
    expect(new Set(stale)).toEqual(new Set(['v1']));
    expect(calls).toBe(2);
    gate.resolve();
    await clock.flush();
    expect(await cache.execute(loader, { key: 'a' })).toBe('v2');
    expect(calls).toBe(2);
  });

  it('waits for a fresh load once the revalidate window has passed', async () => {
    const clock = manualClock();
    const cache = cacheAside({ ttlMs: 100, staleWhileRevalidateMs: 100, clock });
    const load = counter((n) => `v${n}`);
    await cache.execute(load.loader, { key: 'a' });
    await clock.advance(200);
    expect(await cache.execute(load.loader, { key: 'a' })).toBe('v2');
  });

  it('keeps serving stale when the background refresh fails, and reports it', async () => {
    const clock = manualClock();
    const cache = cacheAside({ ttlMs: 100, staleWhileRevalidateMs: 1_000, clock });
    const events: PolicyEvent[] = [];
    cache.on((e) => events.push(e));
    await cache.execute(async () => 'v1', { key: 'a' });
    await clock.advance(150);
    const error = new Error('refresh failed');
    expect(await cache.execute(() => Promise.reject(error), { key: 'a' })).toBe('v1');
    await clock.flush();
    expect(events.map((e) => e.type)).toEqual(['miss', 'stale', 'refresh', 'error']);
    expect(events[3]).toMatchObject({ key: 'a', error, during: 'refresh' });
    expect(await cache.execute(async () => 'v2', { key: 'a' })).toBe('v1');
    await clock.flush();
    expect(await cache.execute(async () => 'v3', { key: 'a' })).toBe('v2');
  });

  it('does not tie the background refresh to the call that noticed the stale value', async () => {
    const clock = manualClock();
    const cache = cacheAside({ ttlMs: 100, staleWhileRevalidateMs: 1_000, clock });
    await cache.execute(async () => 'v1', { key: 'a' });
    await clock.advance(150);
    const controller = new AbortController();
    let signalOfRefresh: AbortSignal | undefined;
    const gate = deferred();
    const stale = await cache.execute(
      async (ctx) => {
        signalOfRefresh = ctx.signal;
        await gate.promise;
        return 'v2';
      },
      { key: 'a', signal: controller.signal },
    );
    expect(stale).toBe('v1');
    controller.abort();
    expect(signalOfRefresh?.aborted).toBe(false);
    gate.resolve();
    await clock.flush();
    expect(await cache.get('a')).toBe('v2');
  });
});

describe('cacheAside: stale-if-error', () => {
  it('serves the stale value when the loader fails within staleIfErrorMs', async () => {
    const clock = manualClock();
    const cache = cacheAside({ ttlMs: 100, staleIfErrorMs: 500, clock });
    await cache.execute(async () => 'v1', { key: 'a' });
    await clock.advance(300);
    const events: PolicyEvent[] = [];
    cache.on((e) => events.push(e));
    const error = new Error('down');
    expect(await cache.execute(() => Promise.reject(error), { key: 'a' })).toBe('v1');
    expect(events.at(-1)).toMatchObject({ type: 'stale', key: 'a', reason: 'error', error });
  });

  it('throws the loader’s error once the stale-if-error window has ended', async () => {
    const clock = manualClock();
    const cache = cacheAside({ ttlMs: 100, staleIfErrorMs: 500, clock });
    await cache.execute(async () => 'v1', { key: 'a' });
    await clock.advance(600);
    const error = new Error('down');
    await expect(cache.execute(() => Promise.reject(error), { key: 'a' })).rejects.toBe(error);
  });

  it('still prefers a successful load to the stale value', async () => {
    const clock = manualClock();
    const cache = cacheAside({ ttlMs: 100, staleIfErrorMs: 500, clock });
    await cache.execute(async () => 'v1', { key: 'a' });
    await clock.advance(150);
    expect(await cache.execute(async () => 'v2', { key: 'a' })).toBe('v2');
  });

  it('gives every waiter of a failed load the stale value', async () => {
    const clock = manualClock();
    const cache = cacheAside({ ttlMs: 100, staleIfErrorMs: 500, clock });
    await cache.execute(async () => 'v1', { key: 'a' });
    await clock.advance(150);
    const gate = deferred<string>();
    const calls = Array.from({ length: 5 }, () => cache.execute(() => gate.promise, { key: 'a' }));
    gate.reject(new Error('down'));
    expect(await Promise.all(calls)).toEqual(['v1', 'v1', 'v1', 'v1', 'v1']);
  });
});

describe('cacheAside: negative caching', () => {
  it('loads undefined again by default', async () => {
    const cache = cacheAside({ ttlMs: 1_000, clock: manualClock() });
    const load = counter(() => undefined);
    await cache.execute(load.loader, { key: 'a' });
    await cache.execute(load.loader, { key: 'a' });
    expect(load.calls).toBe(2);
  });

  it('caches undefined with cacheUndefined, for undefinedTtlMs', async () => {
    const clock = manualClock();
    const cache = cacheAside({ ttlMs: 1_000, cacheUndefined: true, undefinedTtlMs: 10, clock });
    const load = counter(() => undefined);
    await cache.execute(load.loader, { key: 'a' });
    await cache.execute(load.loader, { key: 'a' });
    expect(load.calls).toBe(1);
    await clock.advance(10);
    await cache.execute(load.loader, { key: 'a' });
    expect(load.calls).toBe(2);
  });

  it('caches null as a value', async () => {
    const cache = cacheAside({ ttlMs: 1_000, clock: manualClock() });
    const load = counter(() => null);
    await cache.execute(load.loader, { key: 'a' });
    await cache.execute(load.loader, { key: 'a' });
    expect(load.calls).toBe(1);
  });
});

describe('cacheAside: invalidation', () => {
  it('invalidate(key) makes the next call load again', async () => {
    const cache = cacheAside({ ttlMs: 1_000, clock: manualClock() });
    const load = counter((n) => n);
    await cache.execute(load.loader, { key: 'a' });
    await cache.invalidate('a');
    expect(await cache.execute(load.loader, { key: 'a' })).toBe(2);
  });

  it('invalidateTag drops every entry carrying the tag, and only those', async () => {
    const cache = cacheAside({
      ttlMs: 1_000,
      tags: (value) => [`team:${(value as { team: string }).team}`],
      clock: manualClock(),
    });
    await cache.execute(async () => ({ team: 'red', n: 1 }), { key: 'u1' });
    await cache.execute(async () => ({ team: 'blue', n: 2 }), { key: 'u2' });
    await cache.invalidateTag('team:red');
    expect(await cache.get('u1')).toBeUndefined();
    expect(await cache.get('u2')).toEqual({ team: 'blue', n: 2 });
  });

  it('tags every entry with static tags', async () => {
    const cache = cacheAside({ ttlMs: 1_000, tags: ['users'], clock: manualClock() });
    await cache.execute(async () => 1, { key: 'a' });
    await cache.execute(async () => 2, { key: 'b' });
    await cache.invalidateTag('users');
    expect(await cache.get('a')).toBeUndefined();
    expect(await cache.get('b')).toBeUndefined();
  });

  it('does not store a load that an invalidate overtook', async () => {
    const cache = cacheAside({ ttlMs: 1_000, clock: manualClock() });
    const gate = deferred<string>();
    const call = cache.execute(() => gate.promise, { key: 'a' });
    await cache.invalidate('a');
    gate.resolve('old');
    expect(await call).toBe('old');
    expect(await cache.get('a')).toBeUndefined();
  });

  it('does not let a load that a set overtook replace the set value', async () => {
    const cache = cacheAside({ ttlMs: 1_000, clock: manualClock() });
    const gate = deferred<string>();
    const call = cache.execute(() => gate.promise, { key: 'a' });
    await cache.set('a', 'new');
    gate.resolve('old');
    await call;
    expect(await cache.get('a')).toBe('new');
  });

  it('rejects a tags function that returns something else than strings', async () => {
    const cache = cacheAside({ ttlMs: 1_000, tags: () => [''], clock: manualClock() });
    await expect(cache.execute(async () => 1, { key: 'a' })).rejects.toThrow(
      'cacheAside: tags(value, key): a tag must be a non-empty string, got ""',
    );
  });
});

describe('cacheAside: get and set', () => {
  it('set stores a value with its own ttlMs and tags', async () => {
    const clock = manualClock();
    const cache = cacheAside({ ttlMs: 1_000, clock });
    await cache.set('a', 1, { ttlMs: 10, tags: ['t'] });
    await cache.set('b', 2, { tags: ['t'] });
    expect(await cache.get('a')).toBe(1);
    await clock.advance(10);
    expect(await cache.get('a')).toBeUndefined();
    await cache.invalidateTag('t');
    expect(await cache.get('b')).toBeUndefined();
  });

  it('execute answers from a value put by set', async () => {
    const cache = cacheAside({ ttlMs: 1_000, clock: manualClock() });
    await cache.set('a', 'put');
    expect(await cache.execute(async () => 'loaded', { key: 'a' })).toBe('put');
  });

  it('get returns undefined for a stale value', async () => {
    const clock = manualClock();
    const cache = cacheAside({ ttlMs: 10, staleWhileRevalidateMs: 100, clock });
    await cache.set('a', 1);
    await clock.advance(10);
    expect(await cache.get('a')).toBeUndefined();
  });
});

describe('cacheAside: events and stats', () => {
  it('emits hit, miss, stale and refresh with the key', async () => {
    const clock = manualClock();
    const cache = cacheAside({ ttlMs: 10, staleWhileRevalidateMs: 100, clock });
    const events: PolicyEvent[] = [];
    cache.on((e) => events.push(e));
    await cache.execute(async () => 1, { key: 'a' });
    await cache.execute(async () => 1, { key: 'a' });
    await clock.advance(10);
    await cache.execute(async () => 2, { key: 'a' });
    expect(events).toEqual([
      { policy: 'cacheAside', type: 'miss', key: 'a' },
      { policy: 'cacheAside', type: 'hit', key: 'a' },
      { policy: 'cacheAside', type: 'stale', key: 'a', reason: 'revalidate' },
      { policy: 'cacheAside', type: 'refresh', key: 'a' },
    ]);
  });

  it('counts hits, misses and stale hits and their hit rate', async () => {
    const clock = manualClock();
    const cache = cacheAside({ ttlMs: 10, staleWhileRevalidateMs: 100, clock });
    expect(cache.stats().hitRate).toBe(0);
    await cache.execute(async () => 1, { key: 'a' });
    await cache.execute(async () => 1, { key: 'a' });
    await cache.execute(async () => 1, { key: 'a' });
    await clock.advance(10);
    await cache.execute(async () => 1, { key: 'a' });
    await clock.flush();
    expect(cache.stats()).toEqual({
      hits: 2,
      misses: 1,
      staleHits: 1,
      hitRate: 0.75,
      loads: 2,
      errors: 0,
    });
  });

  it('leaves no timer behind', async () => {
    const clock = manualClock();
    const cache = cacheAside({ ttlMs: 10, staleWhileRevalidateMs: 100, clock });
    await cache.execute(async () => 1, { key: 'a' });
    await clock.advance(20);
    await cache.execute(async () => 1, { key: 'a' });
    await clock.flush();
    expect(clock.pendingTimers).toBe(0);
  });
});

/** A memory store that answers through promises, as a remote one does, and can fail. */
function remoteStore(store = memoryCacheStore()) {
  const state = { down: false, badValue: false };
  const fail = () => {
    if (state.down) throw new StoreUnavailableError('store down');
  };
  const remote: CacheStore = {
    get: async (key, now) => {
      fail();
      return store.get(key, now);
    },
    set: async (key, entry: CacheEntry, now) => {
      fail();
      if (state.badValue) throw new TypeError('cannot encode');
      store.set(key, entry, now);
    },
    delete: async (key) => {
      fail();
      store.delete(key);
    },
    deleteByTag: async (tag) => {
      fail();
      store.deleteByTag(tag);
    },
  };
  return { remote, state, store };
}

describe('cacheAside: remote stores', () => {
  it('works with a store that answers through promises', async () => {
    const { remote } = remoteStore();
    const cache = cacheAside({ ttlMs: 1_000, store: remote, clock: manualClock() });
    const load = counter(() => 'v');
    await cache.execute(load.loader, { key: 'a' });
    expect(await cache.execute(load.loader, { key: 'a' })).toBe('v');
    expect(load.calls).toBe(1);
  });

  it('reads a store that is down as a miss, loads, and reports the error', async () => {
    const { remote, state } = remoteStore();
    const cache = cacheAside({ ttlMs: 1_000, store: remote, clock: manualClock() });
    const events: PolicyEvent[] = [];
    cache.on((e) => events.push(e));
    state.down = true;
    expect(await cache.execute(async () => 'v', { key: 'a' })).toBe('v');
    expect(events.filter((e) => e.type === 'error').map((e) => e.during)).toEqual(['get', 'set']);
    expect(cache.stats().errors).toBe(2);
  });

  it('rejects with the store’s TypeError when it cannot encode the value', async () => {
    const { remote, state, store } = remoteStore();
    const cache = cacheAside({ ttlMs: 1_000, store: remote, clock: manualClock() });
    state.badValue = true;
    await expect(cache.execute(async () => 'v', { key: 'a' })).rejects.toThrow('cannot encode');
    expect(store.size).toBe(0);
  });
});

/** A store shared by several cacheAside instances ("processes"), with a fill lock. */
function lockingStore() {
  const store = memoryCacheStore();
  const locks = new Map<string, string>();
  let next = 0;
  const shared: CacheStore = {
    get: async (key, now) => store.get(key, now),
    set: async (key, entry, now) => store.set(key, entry, now),
    delete: async (key) => store.delete(key),
    deleteByTag: async (tag) => store.deleteByTag(tag),
    acquireLock: async (key) => {
      if (locks.has(key)) return undefined;
      const token = `t${++next}`;
      locks.set(key, token);
      return token;
    },
    releaseLock: async (key, token) => {
      if (locks.get(key) === token) locks.delete(key);
    },
  };
  return { shared, locks };
}

describe('cacheAside: single-flight across processes', () => {
  it('runs one loader for a key across instances sharing a locking store', async () => {
    const clock = manualClock();
    const { shared } = lockingStore();
    const processes = [1, 2, 3, 4].map(() => cacheAside({ ttlMs: 10_000, store: shared, clock }));
    const gate = deferred();
    let calls = 0;
    const loader = async () => {
      calls++;
      await gate.promise;
      return 'filled';
    };
    const results = processes.flatMap((p) =>
      Array.from({ length: 100 }, () => track(p.execute(loader, { key: 'k' }))),
    );
    await clock.advance(50);
    gate.resolve();
    await clock.advance(500);
    expect(calls).toBe(1);
    expect(results.every((r) => r.value === 'filled')).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  it('loads anyway once lockWaitMs has passed without a fill', async () => {
    const clock = manualClock();
    const { shared, locks } = lockingStore();
    locks.set('k', 'held by a crashed process');
    const cache = cacheAside({ ttlMs: 1_000, store: shared, lockWaitMs: 300, clock });
    const call = track(cache.execute(async () => 'mine', { key: 'k' }));
    await clock.advance(299);
    expect(call.settled).toBe(false);
    await clock.advance(1);
    await clock.flush();
    expect(call.value).toBe('mine');
  });

  it('takes the lock over when its holder releases it without filling', async () => {
    const clock = manualClock();
    const { shared } = lockingStore();
    const a = cacheAside({ ttlMs: 1_000, store: shared, clock });
    const b = cacheAside({ ttlMs: 1_000, store: shared, clock });
    const gate = deferred<string>();
    const first = track(a.execute(() => gate.promise, { key: 'k' }));
    const second = track(b.execute(async () => 'from b', { key: 'k' }));
    await clock.advance(20);
    gate.reject(new Error('a failed'));
    await clock.advance(200);
    expect(first.error).toBeInstanceOf(Error);
    expect(second.value).toBe('from b');
  });

  it('does not use the lock with lock: false', async () => {
    const clock = manualClock();
    const { shared, locks } = lockingStore();
    locks.set('k', 'held');
    const cache = cacheAside({ ttlMs: 1_000, store: shared, lock: false, clock });
    expect(await cache.execute(async () => 'v', { key: 'k' })).toBe('v');
  });
});

describe('cacheAside: bad input', () => {
  it('rejects a call without a key', async () => {
    const cache = cacheAside({ ttlMs: 1_000 });
    await expect(cache.execute(async () => 1)).rejects.toThrow(
      'cacheAside.execute(fn, { key }): key must be a non-empty string, got undefined',
    );
    await expect(cache.execute(async () => 1, { key: '' })).rejects.toThrow(TypeError);
  });

  it('rejects keys that are not non-empty strings in get, set and invalidate', async () => {
    const cache = cacheAside({ ttlMs: 1_000 });
    await expect(cache.get(1 as unknown as string)).rejects.toThrow(
      'cacheAside.get: key must be a non-empty string, got number',
    );
    await expect(cache.set('', 1)).rejects.toThrow(TypeError);
    await expect(cache.invalidate(null as unknown as string)).rejects.toThrow(TypeError);
    await expect(cache.invalidateTag('')).rejects.toThrow(TypeError);
  });

  it('rejects a non-positive ttlMs in set', async () => {
    const cache = cacheAside({ ttlMs: 1_000 });
    await expect(cache.set('a', 1, { ttlMs: 0 })).rejects.toThrow(
      'cacheAside.set: ttlMs must be a finite number > 0, got 0',
    );
  });

  it.each([
    [{ ttlMs: 0 }, 'cacheAside: ttlMs must be a finite number > 0, got 0'],
    [{ ttlMs: -5 }, 'cacheAside: ttlMs must be a finite number > 0, got -5'],
    [{ ttlMs: Number.NaN }, 'cacheAside: ttlMs must be a finite number > 0, got NaN'],
    [{}, 'cacheAside: ttlMs must be a finite number > 0, got undefined'],
    [
      { ttlMs: 1, staleWhileRevalidateMs: -1 },
      'staleWhileRevalidateMs must be a finite number >= 0, got -1',
    ],
    [
      { ttlMs: 1, staleIfErrorMs: Number.POSITIVE_INFINITY },
      'staleIfErrorMs must be a finite number >= 0, got Infinity',
    ],
    [{ ttlMs: 1, lockLeaseMs: 0 }, 'lockLeaseMs must be a finite number > 0, got 0'],
    [{ ttlMs: 1, tags: [''] }, 'a tag must be a non-empty string'],
    [{ ttlMs: 1, tags: 'users' }, 'tags must be an array of strings, got string'],
    [{ ttlMs: 1, store: {} }, 'store must be a CacheStore'],
    [{ ttlMs: 1, cacheUndefined: 'yes' }, 'cacheUndefined must be a boolean, got string'],
    [{ ttlMs: 1, clock: {} }, 'clock must be an object with now() and setTimer()'],
  ])('rejects bad options: %j', (options, message) => {
    expect(() => cacheAside(options as never)).toThrow(message);
  });
});
