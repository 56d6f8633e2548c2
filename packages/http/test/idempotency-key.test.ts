import { MAX_KEY_LENGTH, parseIdempotencyKey, scopedKey } from '@bulwark/http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('parseIdempotencyKey', () => {
  it('reads a bare key', () => {
    expect(parseIdempotencyKey('8e03978e-40d5-43e8-bc93-6894a57f9324')).toEqual({
      key: '8e03978e-40d5-43e8-bc93-6894a57f9324',
    });
  });

  it('reads the sf-string of the IETF draft as the same key', () => {
    expect(parseIdempotencyKey('"abc-123"')).toEqual({ key: 'abc-123' });
    expect(parseIdempotencyKey('"a \\"quoted\\" key"')).toEqual({ key: 'a "quoted" key' });
  });

  it('says there is no key when there is no header', () => {
    expect(parseIdempotencyKey(undefined)).toBeUndefined();
  });

  it('refuses an empty key', () => {
    expect(parseIdempotencyKey('')).toEqual({ problem: 'empty' });
    expect(parseIdempotencyKey('""')).toEqual({ problem: 'empty' });
    expect(parseIdempotencyKey('   ')).toEqual({ problem: 'empty' });
  });

  it('takes 255 characters and refuses 256', () => {
    expect(parseIdempotencyKey('k'.repeat(MAX_KEY_LENGTH))).toEqual({ key: 'k'.repeat(255) });
    expect(parseIdempotencyKey('k'.repeat(MAX_KEY_LENGTH + 1))).toEqual({ problem: 'too-long' });
  });

  it('refuses characters outside printable ASCII and broken quoting', () => {
    expect(parseIdempotencyKey('caf\u00e9')).toEqual({ problem: 'invalid' });
    expect(parseIdempotencyKey('"a"b"')).toEqual({ problem: 'invalid' });
    expect(parseIdempotencyKey('"a\\b"')).toEqual({ problem: 'invalid' });
  });

  it('refuses a header sent twice', () => {
    expect(parseIdempotencyKey(['a', 'b'])).toEqual({ problem: 'invalid' });
    expect(parseIdempotencyKey(['a'])).toEqual({ key: 'a' });
  });
});

describe('scopedKey', () => {
  it('leaves a key without scope as it is', () => {
    expect(scopedKey(undefined, 'k1')).toBe('k1');
  });

  it('puts the encoded scope before the key', () => {
    expect(scopedKey('user-1', 'k1')).toBe('user-1:k1');
    expect(scopedKey('a:b', 'c')).toBe('a%3Ab:c');
  });

  it('never lets two scopes share a stored key (property)', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.string({ minLength: 1 }),
        fc.string({ minLength: 1 }),
        (s1, s2, k1, k2) => {
          fc.pre(s1 !== s2 || k1 !== k2);
          expect(scopedKey(s1, k1)).not.toBe(scopedKey(s2, k2));
        },
      ),
    );
  });

  it('hashes a scoped key that would not fit the store, keeping it distinct', () => {
    const long = scopedKey('tenant'.repeat(10), 'k'.repeat(255));
    expect(long).toMatch(/^#[0-9a-f]{64}$/);
    expect(long).not.toBe(scopedKey('tenant'.repeat(10), `${'k'.repeat(254)}j`));
  });
});
