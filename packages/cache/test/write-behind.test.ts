import { type CacheStore, memoryCacheStore, writeBehind } from '@bulwark/cache';
import type { Clock, PolicyEvent, TimerKind } from '@bulwark/core';
import { manualClock } from '@bulwark/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deferred, track } from './helpers.js';

type Entries = Array<{ key: string; value: unknown }>;

function source() {
  const data = new Map<string, unknown>();
  const batches: Entries[] = [];
  const writeBatch = async (entries: Entries) => {
    batches.push(entries);
    for (const { key, value } of entries) data.set(key, value);
  };
  return { data, batches, writeBatch };
}

const base = { flushIntervalMs: 100, maxBatch: 10, maxPending: 100 };

describe('writeBehind: queueing', () => {
  it('updates the cache at once and writes the source at the next flush', async () => {
    const clock = manualClock();
    const { data, writeBatch } = source();
    const cache = writeBehind({ ...base, writeBatch, clock });
    await cache.set('a', 1);
    expect(await cache.get('a')).toBe(1);
    expect(data.has('a')).toBe(false);
    await clock.advance(100);
    expect(data.get('a')).toBe(1);
  });

  it('writes each key once per flush, with its last value', async () => {
    const clock = manualClock();
    const { batches, writeBatch } = source();
    const cache = writeBehind({ ...base, writeBatch, clock });
    for (let i = 1; i <= 5; i++) await cache.set('a', i);
    await cache.set('b', 'x');
    await clock.advance(100);
    expect(batches).toEqual([
      [
        { key: 'a', value: 5 },
        { key: 'b', value: 'x' },
      ],
    ]);
  });

  it('writes in batches of maxBatch', async () => {
    const clock = manualClock();
    const { batches, writeBatch } = source();
    const cache = writeBehind({ ...base, maxBatch: 3, writeBatch, clock });
    for (let i = 0; i < 7; i++) await cache.set(`k${i}`, i);
    await clock.advance(100);
    expect(batches.map((b) => b.length)).toEqual([3, 3, 1]);
  });

  it('flushes on a background timer that does not keep the process alive', async () => {
    const clock = manualClock();
    const kinds: (TimerKind | undefined)[] = [];
    const recording: Clock = {
      now: () => clock.now(),
      setTimer: (cb, ms, kind) => {
        kinds.push(kind);
        return clock.setTimer(cb, ms, kind);
      },
    };
    const cache = writeBehind({ ...base, writeBatch: source().writeBatch, clock: recording });
    await cache.set('a', 1);
    expect(kinds).toEqual(['background']);
  });

  it('arms no timer while nothing is queued', async () => {
    const clock = manualClock();
    const cache = writeBehind({ ...base, writeBatch: source().writeBatch, clock });
    expect(clock.pendingTimers).toBe(0);
    await cache.set('a', 1);
    await clock.advance(100);
    expect(clock.pendingTimers).toBe(0);
  });

  it('reads its own writes before the source has them, even once the cache evicted them', async () => {
    const clock = manualClock();
    const cache = writeBehind({
      ...base,
      store: memoryCacheStore({ maxEntries: 1 }),
      writeBatch: source().writeBatch,
      clock,
    });
    await cache.set('a', 1);
    await cache.set('b', 2);
    expect(await cache.get('a')).toBe(1);
  });

  it('reports written batches with flushed', async () => {
    const clock = manualClock();
    const cache = writeBehind({ ...base, writeBatch: source().writeBatch, clock });
    const events: PolicyEvent[] = [];
    cache.on((e) => events.push(e));
    await cache.set('a', 1);
    await clock.advance(100);
    expect(events).toEqual([{ policy: 'writeBehind', type: 'flushed', count: 1, pending: 0 }]);
  });
});

describe('writeBehind: failures', () => {
  it('retries a failed batch with exponential backoff, reset by a success', async () => {
    const clock = manualClock();
    let failing = 3;
    const attempts: number[] = [];
    const cache = writeBehind({
      ...base,
      backoff: { initialMs: 10, factor: 2, maxMs: 1_000 },
      writeBatch: async () => {
        attempts.push(clock.now());
        if (failing-- > 0) throw new Error('down');
      },
      clock,
    });
    const events: PolicyEvent[] = [];
    cache.on((e) => events.push(e));
    await cache.set('a', 1);
    await clock.advance(1_000);
    expect(attempts).toEqual([100, 110, 130, 170]);
    expect(events.filter((e) => e.type === 'flush-error').map((e) => e.retryInMs)).toEqual([
      10, 20, 40,
    ]);
    failing = 1;
    await cache.set('b', 1);
    await clock.advance(1_000);
    expect(attempts.slice(4)).toEqual([1_100, 1_110]);
  });

  it('never drops a failed batch', async () => {
    const clock = manualClock();
    const { data, writeBatch } = source();
    let failing = 5;
    const cache = writeBehind({
      ...base,
      writeBatch: async (entries) => {
        if (failing-- > 0) throw new Error('down');
        await writeBatch(entries);
      },
      clock,
    });
    await cache.set('a', 1);
    await cache.set('b', 2);
    expect(cache.pending).toBe(2);
    await clock.advance(60_000);
    expect(Object.fromEntries(data)).toEqual({ a: 1, b: 2 });
    expect(cache.pending).toBe(0);
  });

  it('keeps a value set while the older one is in flight, when that batch fails', async () => {
    const clock = manualClock();
    const { data, writeBatch } = source();
    const first = deferred();
    let calls = 0;
    const cache = writeBehind({
      ...base,
      backoff: { initialMs: 10 },
      writeBatch: async (entries) => {
        if (++calls === 1) await first.promise;
        await writeBatch(entries);
      },
      clock,
    });
    await cache.set('a', 'old');
    await clock.advance(100);
    await cache.set('a', 'new');
    expect(cache.pending).toBe(2);
    first.reject(new Error('down'));
    await clock.advance(1_000);
    expect(data.get('a')).toBe('new');
    expect(cache.pending).toBe(0);
  });

  it('writes a value set while the older one is in flight, when that batch succeeds', async () => {
    const clock = manualClock();
    const { data, batches, writeBatch } = source();
    const first = deferred();
    let calls = 0;
    const cache = writeBehind({
      ...base,
      writeBatch: async (entries) => {
        if (++calls === 1) await first.promise;
        await writeBatch(entries);
      },
      clock,
    });
    await cache.set('a', 'old');
    await clock.advance(100);
    await cache.set('a', 'new');
    first.resolve();
    await clock.advance(100);
    expect(batches.map((b) => b[0]?.value)).toEqual(['old', 'new']);
    expect(data.get('a')).toBe('new');
  });

  it('handles a writeBatch that throws synchronously', async () => {
    const clock = manualClock();
    let fail = true;
    const written: Entries[] = [];
    const cache = writeBehind({
      ...base,
      writeBatch: (entries) => {
        if (fail) {
          fail = false;
          throw new Error('sync');
        }
        written.push(entries);
        return Promise.resolve();
      },
      clock,
    });
    await cache.set('a', 1);
    await clock.advance(1_000);
    expect(written).toEqual([[{ key: 'a', value: 1 }]]);
  });

  it('refuses a value the cache cannot store, and queues nothing', async () => {
    const clock = manualClock();
    const memory = memoryCacheStore();
    const store: CacheStore = {
      get: (k, now) => memory.get(k, now),
      set: () => {
        throw new TypeError('cannot encode a BigInt');
      },
      delete: (k) => memory.delete(k),
      deleteByTag: (t) => memory.deleteByTag(t),
    };
    const { batches, writeBatch } = source();
    const cache = writeBehind({ ...base, store, writeBatch, clock });
    await expect(cache.set('a', 1n)).rejects.toThrow('cannot encode a BigInt');
    expect(cache.pending).toBe(0);
    await cache.flush();
    expect(batches).toEqual([]);
  });
});

describe('writeBehind: backpressure', () => {
  it('makes a set of a new key wait for room at maxPending', async () => {
    const clock = manualClock();
    const { writeBatch } = source();
    const cache = writeBehind({ ...base, maxPending: 2, writeBatch, clock });
    await cache.set('a', 1);
    await cache.set('b', 1);
    const third = track(cache.set('c', 1));
    await clock.flush();
    expect(third.settled).toBe(false);
    expect(cache.pending).toBe(2);
    await clock.advance(100);
    expect(third.settled).toBe(true);
  });

  it('lets a set of an already queued key through at maxPending', async () => {
    const clock = manualClock();
    const cache = writeBehind({ ...base, maxPending: 2, writeBatch: source().writeBatch, clock });
    await cache.set('a', 1);
    await cache.set('b', 1);
    await cache.set('a', 2);
    expect(cache.pending).toBe(2);
    expect(await cache.get('a')).toBe(2);
  });

  it('admits waiting sets in call order', async () => {
    const clock = manualClock();
    const { batches, writeBatch } = source();
    const cache = writeBehind({ ...base, maxPending: 1, maxBatch: 1, writeBatch, clock });
    await cache.set('a', 1);
    const waiting = ['b', 'c', 'd'].map((k) => cache.set(k, 1));
    await clock.advance(1_000);
    await Promise.all(waiting);
    await cache.flush();
    expect(batches.map((b) => b[0]?.key)).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('writeBehind: flush and close', () => {
  it('flush writes everything out now', async () => {
    const clock = manualClock();
    const { data, writeBatch } = source();
    const cache = writeBehind({ ...base, maxBatch: 2, writeBatch, clock });
    for (let i = 0; i < 5; i++) await cache.set(`k${i}`, i);
    await cache.flush();
    expect(data.size).toBe(5);
    expect(clock.pendingTimers).toBe(0);
  });

  it('flush keeps retrying a failing source until it has everything', async () => {
    const clock = manualClock();
    const { data, writeBatch } = source();
    let failing = 3;
    const cache = writeBehind({
      ...base,
      writeBatch: async (entries) => {
        if (failing-- > 0) throw new Error('down');
        await writeBatch(entries);
      },
      clock,
    });
    await cache.set('a', 1);
    const flushed = track(cache.flush());
    await clock.advance(10_000);
    expect(flushed.settled).toBe(true);
    expect(data.get('a')).toBe(1);
  });

  it('close writes everything out and then refuses sets with a clear error', async () => {
    const clock = manualClock();
    const { data, writeBatch } = source();
    const cache = writeBehind({ ...base, writeBatch, clock });
    await cache.set('a', 1);
    await cache.close();
    expect(data.get('a')).toBe(1);
    await expect(cache.set('b', 2)).rejects.toThrow(
      'writeBehind: closed, set("b") refused after close()',
    );
    expect(clock.pendingTimers).toBe(0);
  });

  it('close also writes the sets that were waiting for room', async () => {
    const clock = manualClock();
    const { data, writeBatch } = source();
    const cache = writeBehind({ ...base, maxPending: 1, writeBatch, clock });
    await cache.set('a', 1);
    const waiting = cache.set('b', 2);
    await cache.close();
    await waiting;
    expect(Object.fromEntries(data)).toEqual({ a: 1, b: 2 });
  });
});

describe('writeBehind: a flaky source under load', () => {
  it('ends with the last value of every key after 100 000 sets, pending never above maxPending', async () => {
    const clock = manualClock();
    const data = new Map<string, unknown>();
    const maxPending = 200;
    let batches = 0;
    let maxSeen = 0;
    const cache = writeBehind({
      flushIntervalMs: 50,
      maxBatch: 64,
      maxPending,
      backoff: { initialMs: 20, maxMs: 200 },
      writeBatch: async (entries) => {
        maxSeen = Math.max(maxSeen, cache.pending);
        // Fails every other batch for the first 400 batches.
        if (++batches <= 400 && batches % 2 === 1) throw new Error('source down');
        for (const { key, value } of entries) data.set(key, value);
      },
      clock,
    });
    const last = new Map<string, number>();
    let done = false;
    const producer = (async () => {
      for (let i = 0; i < 100_000; i++) {
        const key = `k${(i * 7919) % 1_000}`;
        await cache.set(key, i);
        last.set(key, i);
        maxSeen = Math.max(maxSeen, cache.pending);
      }
      done = true;
    })();
    while (!done) await clock.advance(50);
    await producer;
    const closed = track(cache.close());
    while (!closed.settled) await clock.advance(50);
    expect(closed.error).toBeUndefined();
    expect(batches).toBeGreaterThan(400);
    expect(maxSeen).toBe(maxPending); // the bound was reached, never passed
    expect(data.size).toBe(1_000);
    for (const [key, value] of last) expect(data.get(key)).toBe(value);
    expect(cache.pending).toBe(0);
  });
});

describe('writeBehind: ordering (property)', () => {
  it('keeps a later set of a key after an earlier one still waiting for room', async () => {
    const clock = manualClock();
    const { data, writeBatch } = source();
    const gate = deferred();
    let calls = 0;
    const cache = writeBehind({
      ...base,
      maxPending: 1,
      backoff: { initialMs: 10 },
      writeBatch: async (entries) => {
        if (++calls === 1) {
          await gate.promise;
          throw new Error('down');
        }
        await writeBatch(entries);
      },
      clock,
    });
    await cache.set('x', 0);
    await clock.advance(100); // x=0 in flight
    const first = cache.set('x', 1); // waits for room
    gate.resolve();
    await clock.flush(); // the batch failed: x=0 is retrying, no longer queued
    const second = cache.set('x', 2);
    await clock.advance(1_000);
    await Promise.all([first, second]);
    await cache.close();
    expect(data.get('x')).toBe(2);
  });

  it('ends with the last value set of every key, whatever the failures and timing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('set' as const), key: fc.integer({ min: 0, max: 5 }) }),
            fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 60 }) }),
            fc.record({ op: fc.constant('fail' as const), on: fc.boolean() }),
          ),
          { maxLength: 80 },
        ),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        async (ops, maxPending, maxBatch) => {
          const clock = manualClock();
          const data = new Map<string, unknown>();
          let failing = false;
          let maxSeen = 0;
          const cache = writeBehind({
            flushIntervalMs: 20,
            maxBatch,
            maxPending,
            backoff: { initialMs: 5, maxMs: 40 },
            writeBatch: async (entries) => {
              if (failing) throw new Error('down');
              for (const { key, value } of entries) data.set(key, value);
            },
            clock,
          });
          const last = new Map<string, number>();
          const sets: Promise<void>[] = [];
          let n = 0;
          for (const op of ops) {
            if (op.op === 'set') {
              last.set(`k${op.key}`, ++n);
              sets.push(cache.set(`k${op.key}`, n));
            } else if (op.op === 'advance') await clock.advance(op.ms);
            else failing = op.on;
            maxSeen = Math.max(maxSeen, cache.pending);
          }
          failing = false;
          const closed = track(cache.close());
          for (let i = 0; i < 1_000 && !closed.settled; i++) await clock.advance(50);
          await Promise.all(sets);
          expect(closed.settled).toBe(true);
          expect(maxSeen).toBeLessThanOrEqual(maxPending);
          expect(Object.fromEntries(data)).toEqual(Object.fromEntries(last));
          expect(clock.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('writeBehind: bad input', () => {
  it.each([
    [{ flushIntervalMs: 0 }, 'writeBehind: flushIntervalMs must be a finite number > 0, got 0'],
    [{ maxBatch: 1.5 }, 'writeBehind: maxBatch must be an integer >= 1, got 1.5'],
    [{ maxPending: 0 }, 'writeBehind: maxPending must be an integer >= 1, got 0'],
    [{ writeBatch: 'x' }, 'writeBehind: writeBatch must be a function, got "x"'],
    [
      { backoff: { factor: 0.5 } },
      'writeBehind: backoff.factor must be a finite number >= 1, got 0.5',
    ],
    [
      { backoff: { initialMs: 100, maxMs: 10 } },
      'backoff.maxMs must be >= backoff.initialMs (100), got 10',
    ],
    [{ ttlMs: -1 }, 'writeBehind: ttlMs must be a finite number > 0, got -1'],
  ])('rejects bad options: %j', (bad, message) => {
    expect(() => writeBehind({ ...base, writeBatch: async () => {}, ...bad } as never)).toThrow(
      message,
    );
  });

  it('rejects a key that is not a non-empty string', async () => {
    const cache = writeBehind({ ...base, writeBatch: async () => {} });
    await expect(cache.set('', 1)).rejects.toThrow(
      'writeBehind.set: key must be a non-empty string, got ""',
    );
    await expect(cache.get(5 as unknown as string)).rejects.toThrow(TypeError);
  });
});
