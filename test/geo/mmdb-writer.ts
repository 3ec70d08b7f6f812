// A minimal MaxMind DB writer for test fixtures (MaxMind DB File Format Specification 2.0):
// an IPv6 search tree (IPv4 networks live at ::/96, as the spec's IPv4-in-IPv6 layout says),
// 24-bit records, and a data section holding maps, strings, unsigned integers and arrays.
import { isIP } from 'node:net';

export type MmdbValue = string | number | boolean | MmdbValue[] | { [key: string]: MmdbValue };

export interface MmdbNetwork {
  /** "1.2.3.0/24" or "2001:db8::/32". */
  cidr: string;
  data: { [key: string]: MmdbValue };
}

type Child = { kind: 'empty' } | { kind: 'node'; node: TrieNode } | { kind: 'data'; index: number };
interface TrieNode {
  children: [Child, Child];
}

// ---- data section encoding (spec: "Output Data Section") --------------------------------

function controlBytes(type: number, size: number): Buffer {
  const sizeBytes: number[] = [];
  let sizeField: number;
  if (size < 29) sizeField = size;
  else if (size < 285) {
    sizeField = 29;
    sizeBytes.push(size - 29);
  } else if (size < 65821) {
    sizeField = 30;
    const v = size - 285;
    sizeBytes.push(v >> 8, v & 0xff);
  } else {
    sizeField = 31;
    const v = size - 65821;
    sizeBytes.push((v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
  }
  const head = type <= 7 ? [(type << 5) | sizeField] : [sizeField, type - 7];
  return Buffer.from([...head, ...sizeBytes]);
}

function uintBytes(n: number | bigint): Buffer {
  let v = BigInt(n);
  const out: number[] = [];
  while (v > 0n) {
    out.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return Buffer.from(out);
}

export function encodeValue(value: MmdbValue | bigint): Buffer {
  if (typeof value === 'string') {
    const b = Buffer.from(value, 'utf8');
    return Buffer.concat([controlBytes(2, b.length), b]);
  }
  if (typeof value === 'boolean') return controlBytes(14, value ? 1 : 0);
  if (typeof value === 'bigint') {
    const b = uintBytes(value);
    return Buffer.concat([controlBytes(9, b.length), b]); // uint64
  }
  if (typeof value === 'number') {
    const b = uintBytes(value);
    return Buffer.concat([controlBytes(6, b.length), b]); // uint32
  }
  if (Array.isArray(value)) {
    return Buffer.concat([controlBytes(11, value.length), ...value.map((v) => encodeValue(v))]);
  }
  const entries = Object.entries(value);
  return Buffer.concat([controlBytes(7, entries.length), ...entries.flatMap(([k, v]) => [encodeValue(k), encodeValue(v)])]);
}

function encodeUint16(n: number): Buffer {
  const b = uintBytes(n);
  return Buffer.concat([controlBytes(5, b.length), b]);
}

// ---- search tree --------------------------------------------------------------------------

function networkBits(cidr: string): { bits: bigint; prefix: number } {
  const [addr = '', p] = cidr.split('/');
  const family = isIP(addr);
  if (family === 4) {
    const v = addr.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
    return { bits: v, prefix: 96 + Number(p ?? 32) };
  }
  if (family !== 6) throw new Error(`bad network ${cidr}`);
  const [l = '', r] = addr.split('::');
  const left = l === '' ? [] : l.split(':');
  const right = r === undefined || r === '' ? [] : r.split(':');
  const groups = r === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const v = groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
  return { bits: v, prefix: Number(p ?? 128) };
}

const bitAt = (bits: bigint, i: number): 0 | 1 => ((bits >> BigInt(127 - i)) & 1n ? 1 : 0);

/** Builds an .mmdb file. Networks should not overlap except a more specific one after a wider one. */
export function writeMmdb(
  networks: readonly MmdbNetwork[],
  meta: { databaseType?: string; buildEpoch?: number } = {},
): Buffer {
  const values: Buffer[] = [];
  const valueIndex = new Map<string, number>();
  const root: TrieNode = { children: [{ kind: 'empty' }, { kind: 'empty' }] };

  for (const { cidr, data } of networks) {
    const key = JSON.stringify(data);
    let index = valueIndex.get(key);
    if (index === undefined) {
      index = values.length;
      values.push(encodeValue(data));
      valueIndex.set(key, index);
    }
    const { bits, prefix } = networkBits(cidr);
    let node = root;
    for (let i = 0; i < prefix - 1; i++) {
      const b = bitAt(bits, i);
      const child = node.children[b];
      if (child.kind === 'node') {
        node = child.node;
      } else {
        // Split an empty or data leaf into a node whose two halves inherit it.
        const next: TrieNode = { children: [child, child] };
        node.children[b] = { kind: 'node', node: next };
        node = next;
      }
    }
    node.children[bitAt(bits, prefix - 1)] = { kind: 'data', index };
  }

  // Number nodes breadth-first from the root (node 0).
  const order: TrieNode[] = [root];
  const number = new Map<TrieNode, number>([[root, 0]]);
  for (let i = 0; i < order.length; i++) {
    for (const c of order[i]?.children ?? []) {
      if (c.kind === 'node' && !number.has(c.node)) {
        number.set(c.node, order.length);
        order.push(c.node);
      }
    }
  }
  const nodeCount = order.length;
  const offsets: number[] = [];
  let off = 0;
  for (const v of values) {
    offsets.push(off);
    off += v.length;
  }
  const recordValue = (c: Child): number => {
    if (c.kind === 'empty') return nodeCount;
    if (c.kind === 'node') return number.get(c.node) ?? nodeCount;
    return nodeCount + 16 + (offsets[c.index] ?? 0);
  };

  const tree = Buffer.alloc(nodeCount * 6);
  order.forEach((n, i) => {
    tree.writeUIntBE(recordValue(n.children[0]), i * 6, 3);
    tree.writeUIntBE(recordValue(n.children[1]), i * 6 + 3, 3);
  });

  const metadata = Buffer.concat([
    controlBytes(7, 9),
    encodeValue('node_count'),
    encodeValue(nodeCount),
    encodeValue('record_size'),
    encodeUint16(24),
    encodeValue('ip_version'),
    encodeUint16(6),
    encodeValue('database_type'),
    encodeValue(meta.databaseType ?? 'Sovereign-Test-Country'),
    encodeValue('languages'),
    encodeValue(['en']),
    encodeValue('binary_format_major_version'),
    encodeUint16(2),
    encodeValue('binary_format_minor_version'),
    encodeUint16(0),
    encodeValue('build_epoch'),
    encodeValue(BigInt(meta.buildEpoch ?? 1_750_000_000)),
    encodeValue('description'),
    encodeValue({ en: 'Sovereign test fixture' }),
  ]);

  return Buffer.concat([
    tree,
    Buffer.alloc(16),
    ...values,
    Buffer.from('abcdef4d61784d696e642e636f6d', 'hex'),
    metadata,
  ]);
}
