import { type CacheEntry, memoryCacheStore } from '@bulwark/cache';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const entry = (value: unknown, expiresAt = 100, staleUntil = expiresAt, tags?: string[]) =>
  ({ value, expiresAt, staleUntil, tags }) satisfies CacheEntry;

describe('memoryCacheStore', () => {
  it('returns what was set', () => {
    const store = memoryCacheStore();
    store.set('a', entry(1), 0);
    expect(store.get('a', 0)?.value).toBe(1);
  });

  it('never returns an entry past its staleUntil, and drops it', () => {
    const store = memoryCacheStore();
    store.set('a', entry(1, 10, 20), 0);
    expect(store.get('a', 19)?.value).toBe(1);
    expect(store.get('a', 20)).toBeUndefined();
    expect(store.size).toBe(0);
  });

  it('does not store an entry that is already dead', () => {
    const store = memoryCacheStore();
    store.set('a', entry(1, 10), 10);
    expect(store.size).toBe(0);
  });

  it('evicts the least recently used entry beyond maxEntries', () => {
    const store = memoryCacheStore({ maxEntries: 2 });
    store.set('a', entry(1), 0);
    store.set('b', entry(2), 0);
    store.get('a', 0);
    store.set('c', entry(3), 0);
    expect(store.get('b', 0)).toBeUndefined();
    expect(store.get('a', 0)?.value).toBe(1);
    expect(store.get('c', 0)?.value).toBe(3);
  });

  it('evicts by size beyond maxBytes', () => {
    const store = memoryCacheStore({ maxBytes: 10, sizeOf: (v) => String(v).length });
    store.set('a', entry('12345'), 0);
    store.set('b', entry('12345'), 0);
    store.set('c', entry('1'), 0);
    expect(store.get('a', 0)).toBeUndefined();
    expect(store.bytes).toBe(6);
  });

  it('refuses a value larger than maxBytes and drops the older value of its key', () => {
    const store = memoryCacheStore({ maxBytes: 3, sizeOf: (v) => String(v).length });
    store.set('a', entry('1'), 0);
    store.set('a', entry('12345'), 0);
    expect(store.get('a', 0)).toBeUndefined();
    expect(store.bytes).toBe(0);
  });

  it('rejects a sizeOf result that is not a finite number >= 0 and keeps the older value', () => {
    let size = 1;
    const store = memoryCacheStore({ maxBytes: 3, sizeOf: () => size });
    store.set('a', entry('old'), 0);
    size = Number.NaN;
    expect(() => store.set('a', entry('new'), 0)).toThrow(/sizeOf must return a finite number/);
    expect(store.get('a', 0)?.value).toBe('old');
  });

  it('deletes every entry of a tag', () => {
    const store = memoryCacheStore();
    store.set('a', entry(1, 100, 100, ['t']), 0);
    store.set('b', entry(2, 100, 100, ['t', 'u']), 0);
    store.set('c', entry(3, 100, 100, ['u']), 0);
    store.deleteByTag('t');
    expect(store.get('a', 0)).toBeUndefined();
    expect(store.get('b', 0)).toBeUndefined();
    expect(store.get('c', 0)?.value).toBe(3);
  });

  it('forgets the tags of an entry that is replaced without them', () => {
    const store = memoryCacheStore();
    store.set('a', entry(1, 100, 100, ['t']), 0);
    store.set('a', entry(2), 0);
    store.deleteByTag('t');
    expect(store.get('a', 0)?.value).toBe(2);
    expect(store.tagCount).toBe(0);
  });

  it('keeps values by reference unless given clone', () => {
    const value = { n: 1 };
    const byRef = memoryCacheStore();
    byRef.set('a', entry(value), 0);
    expect(byRef.get('a', 0)?.value).toBe(value);
    const cloned = memoryCacheStore({ clone: structuredClone });
    cloned.set('a', entry(value), 0);
    value.n = 2;
    const got = cloned.get('a', 0)?.value as { n: number };
    expect(got).toEqual({ n: 1 });
    got.n = 3;
    expect(cloned.get('a', 0)?.value).toEqual({ n: 1 });
  });

  it('rejects bad options with the option and the value', () => {
    expect(() => memoryCacheStore({ maxEntries: 0 })).toThrow(
      'memoryCacheStore: maxEntries must be an integer >= 1, got 0',
    );
    expect(() => memoryCacheStore({ maxBytes: 10 })).toThrow(/maxBytes needs sizeOf/);
    expect(() => memoryCacheStore({ maxBytes: -1, sizeOf: () => 1 })).toThrow(RangeError);
  });

  it('rejects a key that is not a non-empty string', () => {
    const store = memoryCacheStore();
    expect(() => store.set('', entry(1), 0)).toThrow(TypeError);
    expect(() => store.set(3 as unknown as string, entry(1), 0)).toThrow(
      'memoryCacheStore.set: key must be a non-empty string, got number',
    );
  });

  it('keeps its bounds and its tag index consistent with evictions (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({
              op: fc.constant('set' as const),
              key: fc.integer({ min: 0, max: 20 }),
              size: fc.integer({ min: 0, max: 6 }),
              tags: fc.subarray(['x', 'y', 'z']),
              ttl: fc.integer({ min: 1, max: 30 }),
            }),
            fc.record({ op: fc.constant('tag' as const), tag: fc.constantFrom('x', 'y', 'z') }),
            fc.record({ op: fc.constant('del' as const), key: fc.integer({ min: 0, max: 20 }) }),
            fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 10 }) }),
          ),
          { maxLength: 200 },
        ),
        (ops) => {
          const store = memoryCacheStore({
            maxEntries: 5,
            maxBytes: 12,
            sizeOf: (v) => v as number,
          });
          const model = new Map<string, { tags: string[]; staleUntil: number }>();
          let now = 0;
          for (const op of ops) {
            if (op.op === 'set') {
              const key = `k${op.key}`;
              store.set(key, entry(op.size, now + op.ttl, now + op.ttl, op.tags), now);
              model.set(key, { tags: op.tags, staleUntil: now + op.ttl });
            } else if (op.op === 'tag') {
              store.deleteByTag(op.tag);
              for (const [k, m] of model) if (m.tags.includes(op.tag)) model.delete(k);
            } else if (op.op === 'del') {
              store.delete(`k${op.key}`);
              model.delete(`k${op.key}`);
            } else now += op.ms;
            expect(store.size).toBeLessThanOrEqual(5);
            expect(store.bytes).toBeLessThanOrEqual(12);
            // The tag index never names more tags than the entries held carry.
            expect(store.tagCount).toBeLessThanOrEqual(3);
          }
          for (const [key, m] of model) {
            const got = store.get(key, now);
            // Evictions may drop what the model keeps, never the reverse; nothing dead comes back.
            if (got !== undefined) expect(now).toBeLessThan(m.staleUntil);
          }
          for (let k = 0; k <= 20; k++) {
            if (!model.has(`k${k}`)) expect(store.get(`k${k}`, now)).toBeUndefined();
          }
          store.clear();
          expect(store.tagCount).toBe(0);
        },
      ),
    );
  });
});

describe('memoryCacheStore: tag index', () => {
  it('drops an evicted entry from the tag index', () => {
    const store = memoryCacheStore({ maxEntries: 1 });
    store.set('a', entry(1, 100, 100, ['t']), 0);
    store.set('b', entry(2), 0);
    expect(store.tagCount).toBe(0);
  });

  it('drops an expired entry from the tag index when it is read', () => {
    const store = memoryCacheStore();
    store.set('a', entry(1, 10, 10, ['t']), 0);
    expect(store.get('a', 10)).toBeUndefined();
    expect(store.tagCount).toBe(0);
  });

  it('drops dead entries at the cold end as it writes, without a timer', () => {
    const store = memoryCacheStore();
    store.set('old', entry(1, 10), 0);
    store.set('new', entry(2, 100), 20);
    expect(store.size).toBe(1);
  });
});
