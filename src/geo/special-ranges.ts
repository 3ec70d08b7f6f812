// Addresses that say nothing about where a person is: the IANA IPv4 and IPv6 Special-Purpose
// Address Registries (RFC 6890 and its updates), plus multicast and the IANA-reserved space.
// Every one of them maps to jurisdiction `unknown`, whatever a database might say about it.
// Anycast blocks that are globally reachable (AS112, AMT, 192.0.0.9 PCP) are included too:
// an anycast address has no single country.
import { BlockList } from 'node:net';

export interface SpecialRange {
  readonly cidr: string;
  readonly name: string;
}

export const SPECIAL_RANGES_V4: readonly SpecialRange[] = [
  { cidr: '0.0.0.0/8', name: '"this network" (RFC 791)' },
  { cidr: '10.0.0.0/8', name: 'private-use (RFC 1918)' },
  { cidr: '100.64.0.0/10', name: 'shared address space / CGNAT (RFC 6598)' },
  { cidr: '127.0.0.0/8', name: 'loopback (RFC 1122)' },
  { cidr: '169.254.0.0/16', name: 'link-local (RFC 3927)' },
  { cidr: '172.16.0.0/12', name: 'private-use (RFC 1918)' },
  { cidr: '192.0.0.0/24', name: 'IETF protocol assignments (RFC 6890)' },
  { cidr: '192.0.2.0/24', name: 'documentation TEST-NET-1 (RFC 5737)' },
  { cidr: '192.31.196.0/24', name: 'AS112-v4 (RFC 7535)' },
  { cidr: '192.52.193.0/24', name: 'AMT (RFC 7450)' },
  { cidr: '192.88.99.0/24', name: 'deprecated 6to4 relay anycast (RFC 7526)' },
  { cidr: '192.168.0.0/16', name: 'private-use (RFC 1918)' },
  { cidr: '192.175.48.0/24', name: 'direct delegation AS112 service (RFC 7534)' },
  { cidr: '198.18.0.0/15', name: 'benchmarking (RFC 2544)' },
  { cidr: '198.51.100.0/24', name: 'documentation TEST-NET-2 (RFC 5737)' },
  { cidr: '203.0.113.0/24', name: 'documentation TEST-NET-3 (RFC 5737)' },
  { cidr: '224.0.0.0/4', name: 'multicast (RFC 5771)' },
  { cidr: '240.0.0.0/4', name: 'reserved (RFC 1112), includes limited broadcast 255.255.255.255' },
];

export const SPECIAL_RANGES_V6: readonly SpecialRange[] = [
  // IANA IPv6 Special-Purpose Address Registry.
  { cidr: '::/128', name: 'unspecified (RFC 4291)' },
  { cidr: '::1/128', name: 'loopback (RFC 4291)' },
  { cidr: '64:ff9b:1::/48', name: 'local-use IPv4/IPv6 translation (RFC 8215)' },
  { cidr: '100::/64', name: 'discard-only (RFC 6666)' },
  { cidr: '100:0:0:1::/64', name: 'dummy IPv6 prefix (RFC 9780)' },
  { cidr: '2001::/23', name: 'IETF protocol assignments incl. Teredo, ORCHIDv2, benchmarking (RFC 2928)' },
  { cidr: '2001:db8::/32', name: 'documentation (RFC 3849)' },
  { cidr: '2620:4f:8000::/48', name: 'direct delegation AS112 service (RFC 7534)' },
  { cidr: '3fff::/20', name: 'documentation (RFC 9637)' },
  { cidr: '5f00::/16', name: 'segment routing SIDs (RFC 9602)' },
  { cidr: 'fc00::/7', name: 'unique local (RFC 4193)' },
  { cidr: 'fe80::/10', name: 'link-local unicast (RFC 4291)' },
  { cidr: 'ff00::/8', name: 'multicast (RFC 4291)' },
  // IANA IPv6 Address Space registry: everything outside 2000::/3 that the lines above do not
  // name is "Reserved by IETF" (fec0::/10 is the deprecated site-local, RFC 3879). The
  // IPv4-mapped block ::ffff:0:0/96 never gets here: parseIp turns it into IPv4 first.
  { cidr: '::/8', name: 'reserved by IETF (IPv4-compatible, NAT64 64:ff9b::/96, ...)' },
  { cidr: '100::/8', name: 'reserved by IETF' },
  { cidr: '200::/7', name: 'reserved by IETF' },
  { cidr: '400::/6', name: 'reserved by IETF' },
  { cidr: '800::/5', name: 'reserved by IETF' },
  { cidr: '1000::/4', name: 'reserved by IETF' },
  { cidr: '4000::/3', name: 'reserved by IETF' },
  { cidr: '6000::/3', name: 'reserved by IETF' },
  { cidr: '8000::/3', name: 'reserved by IETF' },
  { cidr: 'a000::/3', name: 'reserved by IETF' },
  { cidr: 'c000::/3', name: 'reserved by IETF' },
  { cidr: 'e000::/4', name: 'reserved by IETF' },
  { cidr: 'f000::/5', name: 'reserved by IETF' },
  { cidr: 'f800::/6', name: 'reserved by IETF' },
  { cidr: 'fe00::/9', name: 'reserved by IETF' },
  { cidr: 'fec0::/10', name: 'deprecated site-local (RFC 3879)' },
];

function blockListOf(ranges: readonly SpecialRange[], type: 'ipv4' | 'ipv6'): BlockList {
  const list = new BlockList();
  for (const { cidr } of ranges) {
    const [address = '', prefix = ''] = cidr.split('/');
    list.addSubnet(address, Number(prefix), type);
  }
  return list;
}

// Built once at module load; BlockList.check is a native range match.
const V4 = blockListOf(SPECIAL_RANGES_V4, 'ipv4');
const V6 = blockListOf(SPECIAL_RANGES_V6, 'ipv6');

/** Is this normalised address (from parseIp) in a special-purpose, multicast or reserved range? */
export function isSpecialAddress(address: string, family: 4 | 6): boolean {
  return family === 4 ? V4.check(address, 'ipv4') : V6.check(address, 'ipv6');
}
