// The client address of a request: the socket peer, unless that peer is a trusted proxy.
//
// Semantics are nginx's realip module with `real_ip_header X-Forwarded-For;
// real_ip_recursive on;` (ngx_http_get_forwarded_addr_internal): while the current address
// is a trusted proxy, step one entry left in X-Forwarded-For; the first address from the
// right that is not trusted is the client; if every entry is trusted, the leftmost one is.
// Only entries appended by proxies we trust are read, so whatever a client writes into its
// own X-Forwarded-For stays to the left of its real address and is never reached.
// (Envoy's xff_num_trusted_hops counts hops instead of matching addresses; a list of
// addresses is what the topology file has, so this follows nginx.)
//
// An entry that does not parse (a host name, `unknown`, garbage) ends the walk, as it does in
// nginx: it is treated as untrusted, and the client address is the last good hop reached,
// which is a trusted proxy (or the peer). A proxy that writes garbage is misconfigured; we
// answer with an address we know, never with anything further left that the client wrote.
// Empty entries (`a,,b`, trailing commas, blank headers) are skipped.
import { BlockList } from 'node:net';
import { parseCidr, parseIp, type ParsedIp } from './address.ts';
import { GeoError } from './errors.ts';

export type ClientAddressResolver = (peer: string, xff: string | string[] | undefined) => string;

/** Builds the trusted-proxy BlockList; throws a GeoError naming the first bad entry. */
export function trustedProxyList(trustedProxies: readonly string[]): BlockList {
  const list = new BlockList();
  trustedProxies.forEach((entry, i) => {
    const parsed = parseCidr(entry);
    if ('error' in parsed) {
      throw new GeoError(
        'SOVEREIGN_GEO_TRUSTED_PROXY_INVALID',
        `gateway.trustedProxies[${i}]: "${entry.slice(0, 64)}" is not an IP address or CIDR (${parsed.error}); ` +
          'write an address such as "10.0.0.7" or a network such as "10.0.0.0/8" or "2001:db8::/32"',
      );
    }
    list.addSubnet(parsed.address, parsed.prefix, parsed.family === 4 ? 'ipv4' : 'ipv6');
  });
  return list;
}

/**
 * Returns a function of (socket peer address, X-Forwarded-For header value(s)) → client
 * address in normal form (see address.ts). Multiple X-Forwarded-For headers are read as one
 * list in the order received (RFC 9110 §5.3). A peer that does not parse is returned trimmed,
 * as given; its lookup then finds no country.
 */
export function createClientAddressResolver(trustedProxies: readonly string[]): ClientAddressResolver {
  const trusted = trustedProxyList(trustedProxies);
  const isTrusted = (ip: ParsedIp): boolean => trusted.check(ip.address, ip.family === 4 ? 'ipv4' : 'ipv6');

  // A closed socket's remoteAddress is undefined; type it away here rather than throw.
  const text = (peer: unknown): string => (typeof peer === 'string' ? peer : '');

  if (trustedProxies.length === 0) {
    return (peer) => parseIp(text(peer))?.address ?? text(peer).trim();
  }

  return (peer, xff) => {
    const peerIp = parseIp(text(peer));
    if (peerIp === undefined) return text(peer).trim();
    if (!isTrusted(peerIp) || xff === undefined) return peerIp.address;
    const header = typeof xff === 'string' ? xff : xff.join(',');
    let client = peerIp;
    // Walk entries right to left without splitting the whole header: only the part the
    // trusted proxies appended is ever looked at.
    let end = header.length;
    while (end > 0) {
      const comma = header.lastIndexOf(',', end - 1);
      const entry = header.slice(comma + 1, end).trim();
      end = comma < 0 ? 0 : comma;
      if (entry === '') continue;
      const hop = parseIp(entry);
      if (hop === undefined) return client.address;
      client = hop;
      if (!isTrusted(hop)) return hop.address;
    }
    return client.address;
  };
}
