import { canonicalForm, fingerprint } from '@bulwark/idempotency';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** The same object with its keys in another order, at every depth. */
function reversed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversed);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).reverse()) {
    // Defined, not assigned: `out.__proto__ = x` would set the prototype, not a key, as JSON.parse does.
    Object.defineProperty(out, key, {
      value: reversed((value as Record<string, unknown>)[key]),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** A reference encoding: JSON with sorted keys. */
function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  const entries = Object.keys(value)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${sortedJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

describe('fingerprint', () => {
  it('is a sha256 in hex', () => {
    expect(fingerprint({ a: 1 })).toMatch(/^[0-9a-f]{64}$/);
  });

  it('ignores the order of object keys at every depth', () => {
    expect(fingerprint({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(
      fingerprint({ b: { d: 'x', c: [1, 2] }, a: 1 }),
    );
  });

  it('keeps the order of array items', () => {
    expect(fingerprint([1, 2])).not.toBe(fingerprint([2, 1]));
  });

  it('tells values of different types apart', () => {
    const values = [1, '1', 1n, true, 'true', null, 'null', undefined, [], {}, '', [1], ['1'], 0];
    const prints = new Set(values.map(fingerprint));
    expect(prints.size).toBe(values.length);
  });

  it('cannot be fooled by a string that looks like a separator', () => {
    expect(fingerprint({ a: 'x","b":"y' })).not.toBe(fingerprint({ a: 'x', b: 'y' }));
    expect(fingerprint(['a,b'])).not.toBe(fingerprint(['a', 'b']));
  });

  it('treats a property set to undefined as a property left out, as JSON does', () => {
    expect(fingerprint({ a: 1, b: undefined })).toBe(fingerprint({ a: 1 }));
  });

  it('treats -0 as 0', () => {
    expect(fingerprint(-0)).toBe(fingerprint(0));
  });

  it('handles Dates, BigInt, Buffers and objects with toJSON', () => {
    expect(fingerprint(new Date('2024-01-01T00:00:00Z'))).toBe(
      fingerprint(new Date(Date.UTC(2024, 0, 1))),
    );
    expect(fingerprint(new Date(0))).not.toBe(fingerprint(new Date(0).toISOString()));
    expect(fingerprint(12345678901234567890n)).not.toBe(fingerprint(12345678901234567000n));
    expect(fingerprint(Buffer.from('abc'))).toBe(fingerprint(new Uint8Array([97, 98, 99])));
    expect(fingerprint(new URL('https://a.example/x'))).toBe(fingerprint('https://a.example/x'));
  });

  it('accepts an object referenced twice that is not a cycle', () => {
    const shared = { id: 1 };
    expect(fingerprint({ a: shared, b: shared })).toBe(fingerprint({ a: { id: 1 }, b: { id: 1 } }));
  });

  it('refuses cycles, functions, symbols, Maps, Sets and invalid Dates with a TypeError', () => {
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = { back: cycle };
    expect(() => fingerprint(cycle)).toThrow('fingerprint: the value has a cycle at $.self.back');
    expect(() => fingerprint({ f: () => 1 })).toThrow(
      'fingerprint: cannot fingerprint a function at $.f',
    );
    expect(() => fingerprint([Symbol('s')])).toThrow(TypeError);
    expect(() => fingerprint({ m: new Map() })).toThrow(/a Map at \$\.m/);
    expect(() => fingerprint(new Set([1]))).toThrow(TypeError);
    expect(() => fingerprint({ d: new Date(Number.NaN) })).toThrow('invalid Date at $.d');
  });

  it('gives JSON values the same fingerprint whatever their key order (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(fingerprint(reversed(value))).toBe(fingerprint(value));
      }),
    );
  });

  it('gives two JSON values the same canonical form exactly when they are equal (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        expect(canonicalForm(a) === canonicalForm(b)).toBe(sortedJson(a) === sortedJson(b));
        expect(canonicalForm(a)).toBe(canonicalForm(JSON.parse(JSON.stringify(a))));
      }),
    );
  });
});
