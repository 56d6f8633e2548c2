import { memoryCacheStore, writeThrough } from '@bulwark/cache';
import { manualClock } from '@bulwark/core/testing';
import { describe, expect, it } from 'vitest';
import { deferred } from './helpers.js';

function source() {
  const data = new Map<string, unknown>();
  const write = async (key: string, value: unknown) => {
    data.set(key, value);
  };
  return { data, write };
}

describe('writeThrough', () => {
  it('writes the source, then the cache', async () => {
    const { data, write } = source();
    const cache = writeThrough({ write, clock: manualClock() });
    await cache.set('a', 1);
    expect(data.get('a')).toBe(1);
    expect(await cache.get('a')).toBe(1);
  });

  it('does not touch the cache until the source has the value', async () => {
    const gate = deferred();
    const cache = writeThrough({ write: () => gate.promise, clock: manualClock() });
    const set = cache.set('a', 1);
    expect(await cache.get('a')).toBeUndefined();
    gate.resolve();
    await set;
    expect(await cache.get('a')).toBe(1);
  });

  it('leaves the cache as it was and rejects when the source write fails', async () => {
    let fail = false;
    const error = new Error('source down');
    const cache = writeThrough({
      write: async () => {
        if (fail) throw error;
      },
      clock: manualClock(),
    });
    await cache.set('a', 'old');
    fail = true;
    await expect(cache.set('a', 'new')).rejects.toBe(error);
    expect(await cache.get('a')).toBe('old');
  });

  it('applies concurrent sets of one key in call order', async () => {
    const gates = [deferred(), deferred()];
    const order: unknown[] = [];
    let n = 0;
    const cache = writeThrough({
      write: async (_key, value) => {
        await gates[n++]!.promise;
        order.push(value);
      },
      clock: manualClock(),
    });
    const first = cache.set('a', 1);
    const second = cache.set('a', 2);
    gates[1]!.resolve();
    gates[0]!.resolve();
    await Promise.all([first, second]);
    expect(order).toEqual([1, 2]);
    expect(await cache.get('a')).toBe(2);
  });

  it('loads a miss with get(key, load), once for concurrent callers, and caches it', async () => {
    const cache = writeThrough({ write: source().write, clock: manualClock() });
    let calls = 0;
    const load = async (key: string) => {
      calls++;
      return `loaded ${key}`;
    };
    const values = await Promise.all([cache.get('a', load), cache.get('a', load)]);
    expect(values).toEqual(['loaded a', 'loaded a']);
    expect(await cache.get('a')).toBe('loaded a');
    expect(calls).toBe(1);
  });

  it('does not let a load overwrite a value set meanwhile', async () => {
    const cache = writeThrough({ write: source().write, clock: manualClock() });
    const gate = deferred<string>();
    const read = cache.get('a', () => gate.promise);
    await cache.set('a', 'written');
    gate.resolve('stale read');
    expect(await read).toBe('stale read');
    expect(await cache.get('a')).toBe('written');
  });

  it('expires cached values after ttlMs', async () => {
    const clock = manualClock();
    const cache = writeThrough({ write: source().write, ttlMs: 100, clock });
    await cache.set('a', 1);
    await clock.advance(100);
    expect(await cache.get('a')).toBeUndefined();
  });

  it('drops the cached value when the cache write fails after the source took the new one', async () => {
    const store = memoryCacheStore();
    let refuse = false;
    const cache = writeThrough({
      write: source().write,
      store: {
        get: (k, now) => store.get(k, now),
        set: (k, e, now) => {
          if (refuse) throw new TypeError('cannot encode');
          store.set(k, e, now);
        },
        delete: (k) => store.delete(k),
        deleteByTag: (t) => store.deleteByTag(t),
      },
      clock: manualClock(),
    });
    await cache.set('a', 'old');
    refuse = true;
    await expect(cache.set('a', 'new')).rejects.toThrow('cannot encode');
    expect(await cache.get('a')).toBeUndefined();
  });

  it('rejects bad input with the option and the value', async () => {
    expect(() => writeThrough({} as never)).toThrow(
      'writeThrough: write must be a function, got undefined',
    );
    expect(() => writeThrough({ write: async () => {}, ttlMs: 0 })).toThrow(
      'writeThrough: ttlMs must be a finite number > 0, got 0',
    );
    const cache = writeThrough({ write: async () => {} });
    await expect(cache.set('', 1)).rejects.toThrow(TypeError);
    await expect(cache.set('a', 1, { ttlMs: -1 })).rejects.toThrow(RangeError);
    await expect(cache.get('a', 'nope' as never)).rejects.toThrow(TypeError);
  });
});
