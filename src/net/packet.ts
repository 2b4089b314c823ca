/**
 * The headers of one IP packet, from its first byte (the IP header) on: what the kernel's net_packet_base record
 * carries. Parsing follows what Tracee's events show (gopacket's layers): IPv4 or IPv6, then TCP, UDP, ICMP or
 * ICMPv6. Pure; never throws: a packet that does not parse gives undefined (or stops at the last layer that
 * did).
 */

/** Text of an IP address as Go's net.IP.String() writes it (an IPv4-mapped IPv6 address in dotted form). */
export function ipText(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) return b.length === 0 ? '<nil>' : `?${Buffer.from(b).toString('hex')}`;
  let mapped = b[10] === 0xff && b[11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) if (b[i] !== 0) mapped = false;
  if (mapped) return ipText(b.subarray(12));
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  // The longest run of two or more zero groups (the first of equal ones) becomes "::".
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(groups);
  return `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`;
}

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_ICMPV6 = 58;

/** gopacket's names of IP protocol numbers (IPProtocol.String()), for those ktrail reports. */
export function protocolName(p: number): string {
  switch (p) {
    case PROTO_ICMP:
      return 'ICMPv4';
    case PROTO_TCP:
      return 'TCP';
    case PROTO_UDP:
      return 'UDP';
    case PROTO_ICMPV6:
      return 'ICMPv6';
    default:
      return 'UnknownIPProtocol';
  }
}

export interface Ipv4 {
  readonly version: 4;
  readonly ihl: number;
  readonly tos: number;
  /** Total length, header included. */
  readonly length: number;
  readonly id: number;
  readonly flags: number;
  readonly fragOffset: number;
  readonly ttl: number;
  readonly protocol: number;
  readonly checksum: number;
  readonly src: string;
  readonly dst: string;
}

export interface Ipv6 {
  readonly version: 6;
  readonly trafficClass: number;
  readonly flowLabel: number;
  /** Payload length (after the 40-byte header). */
  readonly length: number;
  readonly nextHeader: number;
  readonly hopLimit: number;
  readonly src: string;
  readonly dst: string;
}

export interface Tcp {
  readonly kind: 'tcp';
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: number;
  readonly ack: number;
  readonly dataOffset: number;
  /** FIN, SYN, RST, PSH, ACK, URG, ECE, CWR as 0 or 1, then NS. */
  readonly flags: {
    readonly FIN: number;
    readonly SYN: number;
    readonly RST: number;
    readonly PSH: number;
    readonly ACK: number;
    readonly URG: number;
    readonly ECE: number;
    readonly CWR: number;
    readonly NS: number;
  };
  readonly window: number;
  readonly checksum: number;
  readonly urgent: number;
}

export interface Udp {
  readonly kind: 'udp';
  readonly srcPort: number;
  readonly dstPort: number;
  readonly length: number;
  readonly checksum: number;
}

export interface Icmp {
  readonly kind: 'icmp';
  readonly type: number;
  readonly code: number;
  readonly checksum: number;
  readonly id: number;
  readonly seq: number;
}

export interface Icmpv6 {
  readonly kind: 'icmpv6';
  readonly type: number;
  readonly code: number;
  readonly checksum: number;
}

export interface Packet {
  readonly ip: Ipv4 | Ipv6;
  /** The transport header; undefined for a later IPv4 fragment or when it is cut off. */
  readonly l4: Tcp | Udp | Icmp | Icmpv6 | undefined;
  /** The TCP or UDP payload present in the captured bytes (empty for ICMP). */
  readonly payload: Uint8Array;
  /**
   * True when the IP header announces more bytes than were captured: the payload is a prefix of the real
   * one.
   */
  readonly cut: boolean;
}

const u16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
const u32 = (b: Uint8Array, o: number) =>
  ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

/** The transport header at the start of `b` (the IP payload, as far as captured) and what follows it. */
function parseTransport(proto: number, b: Uint8Array): Pick<Packet, 'l4' | 'payload'> {
  const empty = { l4: undefined, payload: new Uint8Array(0) };
  if (proto === PROTO_TCP) {
    if (b.length < 20) return empty;
    const dataOffset = b[12]! >> 4;
    if (dataOffset < 5) return empty;
    const f = b[13]!;
    const bit = (m: number) => ((f & m) !== 0 ? 1 : 0);
    const tcp: Tcp = {
      kind: 'tcp',
      srcPort: u16(b, 0),
      dstPort: u16(b, 2),
      seq: u32(b, 4),
      ack: u32(b, 8),
      dataOffset,
      flags: {
        FIN: bit(0x01),
        SYN: bit(0x02),
        RST: bit(0x04),
        PSH: bit(0x08),
        ACK: bit(0x10),
        URG: bit(0x20),
        ECE: bit(0x40),
        CWR: bit(0x80),
        NS: b[12]! & 0x01,
      },
      window: u16(b, 14),
      checksum: u16(b, 16),
      urgent: u16(b, 18),
    };
    return { l4: tcp, payload: b.subarray(Math.min(dataOffset * 4, b.length)) };
  }
  if (proto === PROTO_UDP) {
    if (b.length < 8) return empty;
    const udp: Udp = {
      kind: 'udp',
      srcPort: u16(b, 0),
      dstPort: u16(b, 2),
      length: u16(b, 4),
      checksum: u16(b, 6),
    };
    return { l4: udp, payload: b.subarray(8) };
  }
  if (proto === PROTO_ICMP) {
    if (b.length < 8) return empty;
    const icmp: Icmp = {
      kind: 'icmp',
      type: b[0]!,
      code: b[1]!,
      checksum: u16(b, 2),
      id: u16(b, 4),
      seq: u16(b, 6),
    };
    return { l4: icmp, payload: new Uint8Array(0) };
  }
  if (proto === PROTO_ICMPV6) {
    if (b.length < 4) return empty;
    const icmp: Icmpv6 = { kind: 'icmpv6', type: b[0]!, code: b[1]!, checksum: u16(b, 2) };
    return { l4: icmp, payload: new Uint8Array(0) };
  }
  return empty;
}

/**
 * The packet in `b` (captured from its IP header on), or undefined when its IP header does not parse. A
 * payload is cut at the length the IP header gives (padding is dropped).
 */
export function parsePacket(b: Uint8Array): Packet | undefined {
  if (b.length < 1) return undefined;
  const version = b[0]! >> 4;
  if (version === 4) {
    if (b.length < 20) return undefined;
    const ihl = b[0]! & 0xf;
    let length = u16(b, 2);
    if (length === 0) length = b.length;
    if (ihl < 5 || length < 20 || ihl * 4 > length || ihl * 4 > b.length) return undefined;
    const ff = u16(b, 6);
    const ip: Ipv4 = {
      version: 4,
      ihl,
      tos: b[1]!,
      length,
      id: u16(b, 4),
      flags: ff >> 13,
      fragOffset: ff & 0x1fff,
      ttl: b[8]!,
      protocol: b[9]!,
      checksum: u16(b, 10),
      src: ipText(b.subarray(12, 16)),
      dst: ipText(b.subarray(16, 20)),
    };
    const end = Math.min(length, b.length);
    const cut = length > b.length;
    if (ip.fragOffset !== 0) return { ip, l4: undefined, payload: new Uint8Array(0), cut };
    const t = b.subarray(ihl * 4, end);
    return { ip, ...parseTransport(ip.protocol, t), cut };
  }
  if (version === 6) {
    if (b.length < 40) return undefined;
    const length = u16(b, 4);
    const ip: Ipv6 = {
      version: 6,
      trafficClass: ((b[0]! & 0x0f) << 4) | (b[1]! >> 4),
      flowLabel: ((b[1]! & 0x0f) << 16) | u16(b, 2),
      length,
      nextHeader: b[6]!,
      hopLimit: b[7]!,
      src: ipText(b.subarray(8, 24)),
      dst: ipText(b.subarray(24, 40)),
    };
    const end = Math.min(40 + length, b.length);
    const t = b.subarray(40, end);
    return { ip, ...parseTransport(ip.nextHeader, t), cut: 40 + length > b.length };
  }
  return undefined;
}
