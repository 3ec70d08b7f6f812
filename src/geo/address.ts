// Parsing and normalising one IP address as it reaches the gateway: a socket peer
// (`::ffff:203.0.113.7` on a dual-stack listener) or one X-Forwarded-For entry
// (`203.0.113.7`, `203.0.113.7:5678`, `[2001:db8::1]:443`, `2001:db8::1`).
//
// Normal form: IPv4 dotted quad; IPv6 in RFC 5952 text (lower case, longest zero run
// compressed); IPv4-mapped IPv6 (RFC 4291 §2.5.5.2, ::ffff:0:0/96) becomes its IPv4
// address, so a trusted-proxy list, the special-range table and the database each see
// one spelling per address.
import { isIP } from 'node:net';

export type IpFamily = 4 | 6;

export interface ParsedIp {
  /** The address in normal form. */
  readonly address: string;
  readonly family: IpFamily;
}

/** Longest accepted input: `[` + 45-char IPv6 + `%` zone + `]:65535`, with room to spare. */
const MAX_INPUT_LENGTH = 128;
const PORT_SUFFIX = /^:[0-9]{1,5}$/;

function isPortSuffix(s: string): boolean {
  return PORT_SUFFIX.test(s) && Number(s.slice(1)) <= 65535;
}

/**
 * Parses an address with an optional port (RFC 3986 authority form: `[v6]:port`, `v4:port`).
 * Returns undefined for anything else: host names, `unknown`, obfuscated identifiers
 * (RFC 7239 §6.3), octal/hex IPv4 forms, stray characters.
 */
export function parseIp(input: string): ParsedIp | undefined {
  const s = input.trim();
  if (s.length === 0 || s.length > MAX_INPUT_LENGTH) return undefined;
  if (s.charCodeAt(0) === 0x5b /* [ */) {
    const close = s.indexOf(']');
    if (close < 0) return undefined;
    const rest = s.slice(close + 1);
    if (rest !== '' && !isPortSuffix(rest)) return undefined;
    const inner = s.slice(1, close);
    return isIP(inner) === 6 ? fromIpv6(inner) : undefined;
  }
  // Fast path for the common dual-stack peer spelling ::ffff:a.b.c.d.
  if (s.length > 7 && s.charCodeAt(0) === 0x3a && s.slice(0, 7).toLowerCase() === '::ffff:') {
    const v4 = s.slice(7);
    if (isIP(v4) === 4) return { address: v4, family: 4 };
  }
  const family = isIP(s);
  if (family === 4) return { address: s, family: 4 };
  if (family === 6) return fromIpv6(s);
  // An IPv4 address with a port: exactly one colon.
  const colon = s.indexOf(':');
  if (colon > 0 && colon === s.lastIndexOf(':') && isPortSuffix(s.slice(colon))) {
    const host = s.slice(0, colon);
    if (isIP(host) === 4) return { address: host, family: 4 };
  }
  return undefined;
}

/** `s` is valid IPv6 text (net.isIP said 6), possibly with a `%zone`. */
function fromIpv6(s: string): ParsedIp {
  const zone = s.indexOf('%');
  const groups = ipv6Groups(zone < 0 ? s : s.slice(0, zone));
  if (isIpv4Mapped(groups)) {
    const hi = groups[6] ?? 0;
    const lo = groups[7] ?? 0;
    return { address: `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`, family: 4 };
  }
  return { address: formatIpv6(groups), family: 6 };
}

/** ::ffff:0:0/96: the first 80 bits zero, the next 16 bits one. */
function isIpv4Mapped(g: readonly number[]): boolean {
  return g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff;
}

function groupsOf(part: string): number[] {
  if (part === '') return [];
  const out: number[] = [];
  for (const p of part.split(':')) {
    if (p.includes('.')) {
      const [a = 0, b = 0, c = 0, d = 0] = p.split('.').map(Number);
      out.push((a << 8) | b, (c << 8) | d);
    } else {
      out.push(parseInt(p, 16));
    }
  }
  return out;
}

/** The eight 16-bit groups of a valid IPv6 address (RFC 4291 §2.2 text forms). */
export function ipv6Groups(s: string): number[] {
  const gap = s.indexOf('::');
  if (gap < 0) return groupsOf(s);
  const left = groupsOf(s.slice(0, gap));
  const right = groupsOf(s.slice(gap + 2));
  const zeros = new Array<number>(Math.max(0, 8 - left.length - right.length)).fill(0);
  return [...left, ...zeros, ...right];
}

/** RFC 5952 §4: lower case, no leading zeros, the longest run (≥ 2) of zero groups as `::`. */
export function formatIpv6(g: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string =>
    g
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

export interface ParsedCidr {
  readonly address: string;
  readonly family: IpFamily;
  readonly prefix: number;
}

/**
 * Parses `address` or `address/prefix` (no port, no brackets). An IPv4-mapped IPv6 network
 * (`::ffff:10.0.0.0/104`) becomes the IPv4 network it maps. Returns a reason on failure.
 */
export function parseCidr(input: string): ParsedCidr | { error: string } {
  const s = input.trim();
  const slash = s.indexOf('/');
  const addrText = slash < 0 ? s : s.slice(0, slash);
  const family = isIP(addrText);
  if (family === 0 || addrText.includes('%')) return { error: 'not an IP address' };
  const parsed = family === 4 ? { address: addrText, family: 4 as const } : fromIpv6(addrText);
  const max = family === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(p) || Number(p) > max) {
      return { error: `prefix length must be a number from 0 to ${max} for IPv${family}` };
    }
    prefix = Number(p);
  }
  if (family === 6 && parsed.family === 4) {
    // A mapped IPv6 network: only /96 and longer stay inside ::ffff:0:0/96.
    if (prefix < 96) return { error: 'an IPv4-mapped network needs a prefix of at least 96' };
    return { address: parsed.address, family: 4, prefix: prefix - 96 };
  }
  return { address: parsed.address, family: parsed.family, prefix };
}
