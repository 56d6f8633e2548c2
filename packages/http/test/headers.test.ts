import {
  rateLimitField,
  rateLimitPolicyField,
  retryAfterField,
  seconds,
  sfString,
} from '@bulwark/http';
import { describe, expect, it } from 'vitest';

describe('header fields', () => {
  it('writes RateLimit-Policy in the draft syntax', () => {
    expect(rateLimitPolicyField('"default"', 100, 60)).toBe('"default";q=100;w=60');
  });

  it('leaves w out of RateLimit-Policy when the window is unknown', () => {
    expect(rateLimitPolicyField('"default"', 100, undefined)).toBe('"default";q=100');
  });

  it('writes RateLimit with the remaining units and the seconds to reset, rounded up', () => {
    expect(rateLimitField('"default"', 42, 16_001)).toBe('"default";r=42;t=17');
    expect(rateLimitField('"default"', 0, 0)).toBe('"default";r=0;t=0');
  });

  it('writes whole numbers only, as sf-integers must be', () => {
    expect(rateLimitPolicyField('"p"', 2.5, 3)).toBe('"p";q=2;w=3');
    expect(rateLimitField('"p"', -1, 1)).toBe('"p";r=0;t=1');
  });

  it('rounds Retry-After up to whole seconds', () => {
    expect(retryAfterField(1)).toBe('1');
    expect(retryAfterField(1000)).toBe('1');
    expect(retryAfterField(1001)).toBe('2');
    expect(retryAfterField(0)).toBe('0');
    expect(seconds(-5)).toBe(0);
  });

  it('quotes and escapes structured-field strings', () => {
    expect(sfString('default')).toBe('"default"');
    expect(sfString('a "b" \\c')).toBe('"a \\"b\\" \\\\c"');
  });

  it('refuses characters a structured-field string cannot hold', () => {
    expect(() => sfString('caf\u00e9')).toThrow(RangeError);
    expect(() => sfString('a\nb')).toThrow(RangeError);
  });
});
