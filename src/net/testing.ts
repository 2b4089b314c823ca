/**
 * Packet builders for the tests of src/net (not a test file): IPv4 and IPv6 headers with TCP, UDP or ICMP
 * after them, and DNS messages, byte by byte. Checksums are fixed values, not computed: nothing here checks
 * them.
 */

export function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}

export function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}

export function ascii(s: string): number[] {
  return [...Buffer.from(s, 'utf8')];
}

/** An IPv4 header (20 bytes, no options) for `rest`; total length from it unless `length` is given. */
export function ipv4(
  proto: number,
  src: number[],
  dst: number[],
  rest: number[],
  length?: number,
): Uint8Array {
  const total = length ?? 20 + rest.length;
  return Uint8Array.from([
    0x45,
    0x00,
    ...u16(total),
    ...u16(0x1c46),
    0x40,
    0x00, // DF
    64,
    proto,
    ...u16(0xbeef),
    ...src,
    ...dst,
    ...rest,
  ]);
}

/** An IPv6 header (40 bytes) for `rest`. */
export function ipv6(next: number, src: number[], dst: number[], rest: number[]): Uint8Array {
  return Uint8Array.from([
    0x60,
    0x01,
    0x23,
    0x45, // traffic class 0x00, flow label 0x12345
    ...u16(rest.length),
    next,
    64,
    ...src,
    ...dst,
    ...rest,
  ]);
}

export const LOOP4 = [127, 0, 0, 1];
export const LOOP6 = [...new Array(15).fill(0), 1];

export function udp(sport: number, dport: number, payload: number[]): number[] {
  return [...u16(sport), ...u16(dport), ...u16(8 + payload.length), ...u16(0xfe33), ...payload];
}

/** A TCP header of 20 bytes with `flags` (FIN 1, SYN 2, RST 4, PSH 8, ACK 16), then `payload`. */
export function tcp(
  sport: number,
  dport: number,
  flags: number,
  payload: number[],
  seq = 1000,
  ack = 0,
): number[] {
  return [
    ...u16(sport),
    ...u16(dport),
    ...u32(seq),
    ...u32(ack),
    0x50,
    flags,
    ...u16(65495),
    ...u16(0xfe30),
    ...u16(0),
    ...payload,
  ];
}

/** A DNS name in wire form. */
export function dnsName(name: string): number[] {
  const out: number[] = [];
  for (const label of name.split('.')) out.push(label.length, ...ascii(label));
  out.push(0);
  return out;
}

/** A DNS header: id, flag bytes, counts. */
export function dnsHeader(
  id: number,
  f1: number,
  f2: number,
  qd: number,
  an: number,
  ns: number,
  ar: number,
): number[] {
  return [...u16(id), f1, f2, ...u16(qd), ...u16(an), ...u16(ns), ...u16(ar)];
}

/** A resource record: name bytes, type, class, TTL, data. */
export function rr(name: number[], type: number, cls: number, ttl: number, data: number[]): number[] {
  return [...name, ...u16(type), ...u16(cls), ...u32(ttl), ...u16(data.length), ...data];
}
