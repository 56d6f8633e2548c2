/**
 * The rate-limit key of a client address. One host usually owns a whole IPv6 /64 or more (an
 * ISP hands out a /56 or a /48), so keying by the full address lets a client rotate addresses
 * and get a fresh bucket each time: addresses are grouped by their prefix instead. IPv4-mapped
 * IPv6 (`::ffff:203.0.113.7`, what a dual-stack socket reports) is the IPv4 address it maps.
 */

/** The IPv6 prefix length clients are grouped by, as express-rate-limit does since v8. */
export const DEFAULT_IPV6_SUBNET = 56;

/** The key of a request whose address is unknown (its socket already closed). */
export const UNKNOWN_CLIENT = 'unknown';

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/**
 * Parses an IPv6 address into its 8 groups; undefined when it is not one. Takes `::`, an IPv4
 * tail (`::ffff:1.2.3.4`), brackets and a zone (`fe80::1%eth0`). A scanner, not split and
 * regular expressions: it runs for every request of an IPv6 client.
 */
export function parseIPv6(address: string): Uint16Array | undefined {
  let from = 0;
  let to = address.length;
  if (address.charCodeAt(0) === 0x5b) {
    if (address.charCodeAt(to - 1) !== 0x5d) return undefined;
    from = 1;
    to -= 1;
  }
  const zone = address.indexOf('%', from);
  if (zone >= 0 && zone < to) to = zone;
  const groups = new Uint16Array(8);
  let n = 0;
  let gap = -1;
  let i = from;
  if (address.charCodeAt(i) === 0x3a) {
    if (address.charCodeAt(i + 1) !== 0x3a) return undefined;
    gap = 0;
    i += 2;
  }
  while (i < to) {
    let j = i;
    let value = 0;
    for (
      let h = hexValue(address.charCodeAt(j));
      j < to && h >= 0;
      h = hexValue(address.charCodeAt(++j))
    ) {
      value = value * 16 + h;
    }
    if (j < to && address.charCodeAt(j) === 0x2e) {
      // An IPv4 tail: the last two groups.
      if (n > 6) return undefined;
      const v4 = parseIPv4(address.slice(i, to));
      if (v4 === undefined) return undefined;
      groups[n++] = v4 >>> 16;
      groups[n++] = v4 & 0xffff;
      i = to;
      break;
    }
    if (j === i || j - i > 4 || n === 8) return undefined;
    groups[n++] = value;
    if (j === to) {
      i = j;
      break;
    }
    if (address.charCodeAt(j) !== 0x3a) return undefined;
    j++;
    if (address.charCodeAt(j) === 0x3a && j < to) {
      if (gap >= 0) return undefined;
      gap = n;
      j++;
    } else if (j === to) {
      return undefined;
    }
    i = j;
  }
  if (gap < 0) return n === 8 ? groups : undefined;
  if (n >= 8) return undefined;
  // Move the groups after "::" to the end; the gap between is zeros.
  const tail = n - gap;
  for (let k = tail - 1; k >= 0; k--) groups[8 - tail + k] = groups[gap + k]!;
  groups.fill(0, gap, 8 - tail);
  return groups;
}

/** A dotted IPv4 address as a 32-bit number; undefined when it is not one. */
export function parseIPv4(text: string): number | undefined {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      // No leading zeros ("01" reads as octal to some parsers): as inet_pton and URL refuse them.
      if (digits === 1 && part === 0) return undefined;
      part = part * 10 + (c - 0x30);
      if (++digits > 3 || part > 255) return undefined;
    } else if (c === 0x2e && digits > 0 && dots < 3) {
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else {
      return undefined;
    }
  }
  if (dots !== 3 || digits === 0) return undefined;
  return value * 256 + part;
}

function isIPv4Mapped(g: Uint16Array): boolean {
  return g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff;
}

/**
 * `2001:db8:12:3400::/56`: the first `bits` of the address, the rest zeroed, as exactly
 * ceil(bits / 16) hex groups (one text per prefix, so it can serve as a key).
 */
export function ipv6Prefix(groups: Uint16Array, bits: number): string {
  const full = bits >>> 4;
  const partial = bits & 15;
  let out = '';
  for (let i = 0; i < full; i++) out += `${i === 0 ? '' : ':'}${groups[i]!.toString(16)}`;
  if (partial > 0) {
    const mask = (0xffff << (16 - partial)) & 0xffff;
    out += `${full === 0 ? '' : ':'}${(groups[full]! & mask).toString(16)}`;
  }
  return bits === 128 ? `${out}/128` : `${out}::/${bits}`;
}

/**
 * The key of a client address: an IPv4 address as it is, an IPv4-mapped IPv6 address as its
 * IPv4 address, any other IPv6 address as its `/ipv6Subnet` prefix (`false`: the whole address).
 * Anything that is not an IP address is returned as it is; no address at all is `'unknown'`.
 */
export function clientKey(
  address: string | undefined,
  ipv6Subnet: number | false = DEFAULT_IPV6_SUBNET,
): string {
  if (address === undefined || address === '') return UNKNOWN_CLIENT;
  if (address.indexOf(':') < 0) return address;
  // What a dual-stack server reports for every IPv4 client: worth a path of its own.
  if (
    address.length > 7 &&
    address.charCodeAt(0) === 0x3a &&
    address.charCodeAt(1) === 0x3a &&
    address.slice(2, 7).toLowerCase() === 'ffff:' &&
    address.indexOf(':', 7) < 0 &&
    parseIPv4(address.slice(7)) !== undefined
  ) {
    return address.slice(7);
  }
  const groups = parseIPv6(address);
  if (groups === undefined) return address;
  if (isIPv4Mapped(groups)) {
    return `${groups[6]! >>> 8}.${groups[6]! & 0xff}.${groups[7]! >>> 8}.${groups[7]! & 0xff}`;
  }
  return ipv6Prefix(groups, ipv6Subnet === false ? 128 : ipv6Subnet);
}
