import { clientKey, ipv6Prefix, parseIPv6 } from '@bulwark/http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('clientKey', () => {
  it('keeps an IPv4 address as it is', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7');
  });

  it('turns an IPv4-mapped IPv6 address into its IPv4 address', () => {
    expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('::FFFF:203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('0:0:0:0:0:ffff:cb00:7107')).toBe('203.0.113.7');
  });

  it('groups IPv6 addresses by their /56 prefix', () => {
    expect(clientKey('2001:db8:1234:5678::1')).toBe('2001:db8:1234:5600::/56');
    expect(clientKey('2001:db8:1234:56ff:ffff:ffff:ffff:ffff')).toBe('2001:db8:1234:5600::/56');
  });

  it('gives every address of one /56 the same key', () => {
    const prefix = '2001:db8:aa:bb';
    const keys = new Set(
      ['00::1', '01::2', 'ff:1:2:3:4', '42:ffff::'].map((rest) => clientKey(`${prefix}${rest}`)),
    );
    expect([...keys]).toEqual(['2001:db8:aa:bb00::/56']);
  });

  it('gives neighbouring /56 prefixes different keys', () => {
    expect(clientKey('2001:db8:aa:bb00::1')).not.toBe(clientKey('2001:db8:aa:bc00::1'));
  });

  it('groups by another prefix length, or by the whole address with false', () => {
    expect(clientKey('2001:db8:1234:5678::1', 64)).toBe('2001:db8:1234:5678::/64');
    expect(clientKey('2001:db8:1234:5678::1', 48)).toBe('2001:db8:1234::/48');
    expect(clientKey('2001:db8:1234:5678::1', false)).toBe('2001:db8:1234:5678:0:0:0:1/128');
  });

  it('reads every spelling of one address the same way', () => {
    const spellings = [
      '2001:db8:0:0:1:0:0:1',
      '2001:0db8:0000:0000:0001:0000:0000:0001',
      '2001:db8::1:0:0:1',
      '2001:DB8::1:0:0:1',
      '[2001:db8::1:0:0:1]',
      '2001:db8::1:0:0:1%eth0',
    ];
    expect(new Set(spellings.map((a) => clientKey(a, false))).size).toBe(1);
  });

  it('puts the loopback address ::1 in the /56 of ::', () => {
    expect(clientKey('::1')).toBe('0:0:0:0::/56');
  });

  it('keys an unknown address as "unknown" and anything else as it is', () => {
    expect(clientKey(undefined)).toBe('unknown');
    expect(clientKey('')).toBe('unknown');
    expect(clientKey('not:an:address')).toBe('not:an:address');
    expect(clientKey('1:2:3:4:5:6:7:8:9')).toBe('1:2:3:4:5:6:7:8:9');
  });

  it('groups any address with the addresses that share its first 56 bits (property)', () => {
    const group = fc.integer({ min: 0, max: 0xffff });
    fc.assert(
      fc.property(
        fc.array(group, { minLength: 8, maxLength: 8 }),
        fc.array(group, { minLength: 5, maxLength: 5 }),
        (a, tail) => {
          // Same first 56 bits: groups 0-2 and the high byte of group 3.
          const b = [a[0]!, a[1]!, a[2]!, (a[3]! & 0xff00) | (tail[0]! & 0xff), ...tail.slice(1)];
          const text = (g: number[]) => g.map((n) => n.toString(16)).join(':');
          if (a[0] === 0 && a[1] === 0 && a[2] === 0 && a[3] === 0) return; // may be IPv4-mapped
          expect(clientKey(text(a))).toBe(clientKey(text(b)));
        },
      ),
    );
  });
});

describe('parseIPv6', () => {
  it('parses compressed forms and IPv4 tails', () => {
    expect([...parseIPv6('::')!]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect([...parseIPv6('1::')!]).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    expect([...parseIPv6('64:ff9b::192.0.2.33')!]).toEqual([
      0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x221,
    ]);
    expect([...parseIPv6('1:2:3:4:5:6:1.2.3.4')!]).toEqual([1, 2, 3, 4, 5, 6, 0x102, 0x304]);
  });

  it('refuses what is not an IPv6 address', () => {
    for (const bad of [
      '1:::2',
      '1::2::3',
      ':1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8:9',
      '12345::',
      'g::',
      '::1.2.3',
      '::256.1.1.1',
      '1:2:3:4:5:6:7:8::',
    ]) {
      expect(parseIPv6(bad), bad).toBeUndefined();
    }
  });
});

describe('parseIPv6 against the URL parser', () => {
  it('reads the compressed form the URL parser writes as the same groups (property)', () => {
    const groups = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), {
      minLength: 8,
      maxLength: 8,
    });
    fc.assert(
      fc.property(groups, (g) => {
        const full = g.map((n) => n.toString(16)).join(':');
        const canonical = new URL(`http://[${full}]/`).hostname.slice(1, -1);
        expect([...parseIPv6(canonical)!]).toEqual(g);
        expect([...parseIPv6(full)!]).toEqual(g);
      }),
    );
  });

  it('accepts exactly what the URL parser accepts (property)', () => {
    const chars = fc.constantFrom(...'0123456789abcdefABCDEF:.'.split(''));
    const pieces = fc.constantFrom(
      '::',
      ':',
      '.',
      '0',
      '1',
      'ffff',
      '255',
      '256',
      '01',
      '1.2.3.4',
      'a',
    );
    const texts = fc.oneof(
      fc.string({ unit: chars, maxLength: 45 }),
      fc.array(pieces, { maxLength: 12 }).map((p) => p.join('')),
    );
    fc.assert(
      fc.property(texts, (text) => {
        let valid: boolean;
        try {
          new URL(`http://[${text}]/`);
          valid = true;
        } catch {
          valid = false;
        }
        expect(parseIPv6(text) !== undefined, text).toBe(valid);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('ipv6Prefix', () => {
  it('writes exactly the groups the prefix covers', () => {
    const groups = parseIPv6('2001:db8:1:2:3:4:5:6')!;
    expect(ipv6Prefix(groups, 56)).toBe('2001:db8:1:0::/56');
    expect(ipv6Prefix(groups, 60)).toBe('2001:db8:1:0::/60');
    expect(ipv6Prefix(groups, 8)).toBe('2000::/8');
    expect(ipv6Prefix(groups, 128)).toBe('2001:db8:1:2:3:4:5:6/128');
  });
});
