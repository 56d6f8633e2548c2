import { requestFingerprint } from '@bulwark/http';
import { describe, expect, it } from 'vitest';

describe('requestFingerprint', () => {
  it('is the same for the same method, path and body, whatever the key order', () => {
    expect(requestFingerprint('POST', '/orders', { a: 1, b: [1, 2] })).toBe(
      requestFingerprint('post', '/orders', { b: [1, 2], a: 1 }),
    );
  });

  it('differs when the method, the path, the query or the body differs', () => {
    const base = requestFingerprint('POST', '/orders?x=1', { amount: 10 });
    expect(requestFingerprint('PATCH', '/orders?x=1', { amount: 10 })).not.toBe(base);
    expect(requestFingerprint('POST', '/orders/2?x=1', { amount: 10 })).not.toBe(base);
    expect(requestFingerprint('POST', '/orders?x=2', { amount: 10 })).not.toBe(base);
    expect(requestFingerprint('POST', '/orders?x=1', { amount: '10' })).not.toBe(base);
  });

  it('takes a raw body too', () => {
    expect(requestFingerprint('POST', '/', Buffer.from('hi'))).not.toBe(
      requestFingerprint('POST', '/', Buffer.from('ho')),
    );
    expect(requestFingerprint('POST', '/', undefined)).toMatch(/^[0-9a-f]{64}$/);
  });
});
