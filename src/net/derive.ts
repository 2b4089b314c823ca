/**
 * The network events, derived in userspace as Tracee derives them: the net_packet_* events from a packet
 * record (net_packet_base: direction, length and the packet's bytes from its IP header on), net_tcp_connect
 * from security_socket_connect. Each derived event keeps its source record's context (task, time, seq) and
 * gets Tracee's fields, with values shaped as Tracee's JSON shows them (types/trace/network_trace.go).
 *
 * A DNS message or HTTP head the capture cut short (or split over TCP segments) still gives its event, with
 * what was read, and the field is marked `problem: "truncated"`; a packet whose DNS message or HTTP head is
 * malformed gives none. Both are counted per event (NetCounts). Pure.
 */
import type { EventSpec } from '../catalog/types.js';
import {
  argValue,
  type EventArg,
  goStruct,
  type SockAddrValue,
  type StructField,
  type StructValue,
  type TraceEvent,
} from '../decode/event.js';
import {
  type DnsMessage,
  type DnsRecord,
  decodeDns,
  dnsClassName,
  dnsOpcodeName,
  dnsOptionName,
  dnsRcodeName,
  dnsTypeName,
} from './dns.js';
import { type HttpRequest, type HttpResponse, httpKind, parseRequest, parseResponse } from './http.js';
import { type Packet, PROTO_TCP, PROTO_UDP, parsePacket, protocolName } from './packet.js';

const DNS_PORT = 53;
const SOCK_STREAM = 1;

/** Per derived event name: events whose value was cut, and packets whose message could not be read. */
export interface NetCounts {
  readonly truncated: Map<string, number>;
  readonly malformed: Map<string, number>;
}

export function newNetCounts(): NetCounts {
  return { truncated: new Map(), malformed: new Map() };
}

function bump(m: Map<string, number>, name: string): void {
  m.set(name, (m.get(name) ?? 0) + 1);
}

const s = <T extends object>(o: T): T => goStruct(o);

function packetMetadata(direction: number): StructValue {
  return s({ direction });
}

/** gopacket's ICMPv4/ICMPv6 TypeCode.String(). */
const ICMP4: Readonly<Record<number, readonly [string, Readonly<Record<number, string>>?]>> = {
  0: ['EchoReply'],
  3: [
    'DestinationUnreachable',
    {
      0: 'Net',
      1: 'Host',
      2: 'Protocol',
      3: 'Port',
      4: 'FragmentationNeeded',
      5: 'SourceRoutingFailed',
      6: 'NetUnknown',
      7: 'HostUnknown',
      8: 'SourceIsolated',
      9: 'NetAdminProhibited',
      10: 'HostAdminProhibited',
      11: 'NetTOS',
      12: 'HostTOS',
      13: 'CommAdminProhibited',
      14: 'HostPrecedence',
      15: 'PrecedenceCutoff',
    },
  ],
  4: ['SourceQuench'],
  5: ['Redirect', { 0: 'Net', 1: 'Host', 2: 'TOS+Net', 3: 'TOS+Host' }],
  8: ['EchoRequest'],
  9: ['RouterAdvertisement'],
  10: ['RouterSolicitation'],
  11: ['TimeExceeded', { 0: 'TTLExceeded', 1: 'FragmentReassemblyTimeExceeded' }],
  12: ['ParameterProblem', { 0: 'PointerIndicatesError', 1: 'MissingOption', 2: 'BadLength' }],
  13: ['TimestampRequest'],
  14: ['TimestampReply'],
  15: ['InfoRequest'],
  16: ['InfoReply'],
  17: ['AddressMaskRequest'],
  18: ['AddressMaskReply'],
};
const ICMP6: Readonly<Record<number, readonly [string, Readonly<Record<number, string>>?]>> = {
  1: [
    'DestinationUnreachable',
    {
      0: 'NoRouteToDst',
      1: 'AdminProhibited',
      2: 'BeyondScopeOfSrc',
      3: 'AddressUnreachable',
      4: 'PortUnreachable',
      5: 'SrcAddressFailedPolicy',
      6: 'RejectRouteToDst',
    },
  ],
  2: ['PacketTooBig'],
  3: ['TimeExceeded', { 0: 'HopLimitExceeded', 1: 'FragmentReassemblyTimeExceeded' }],
  4: [
    'ParameterProblem',
    { 0: 'ErroneousHeaderField', 1: 'UnrecognizedNextHeader', 2: 'UnrecognizedIPv6Option' },
  ],
  128: ['EchoRequest'],
  129: ['EchoReply'],
  133: ['RouterSolicitation'],
  134: ['RouterAdvertisement'],
  135: ['NeighborSolicitation'],
  136: ['NeighborAdvertisement'],
  137: ['Redirect'],
};

export function icmpTypeCode(v6: boolean, type: number, code: number): string {
  const info = (v6 ? ICMP6 : ICMP4)[type];
  if (info === undefined) return `${type}(${code})`;
  const [name, codes] = info;
  if (codes === undefined) return code === 0 ? name : `${name}(Code: ${code})`;
  const c = codes[code];
  return c === undefined ? `${name}(Code: ${code})` : `${name}(${c})`;
}

function ports(p: Packet): [number, number] | undefined {
  const l4 = p.l4;
  return l4 !== undefined && (l4.kind === 'tcp' || l4.kind === 'udp') ? [l4.srcPort, l4.dstPort] : undefined;
}

function pktMeta(p: Packet): StructValue {
  const [sp, dp] = ports(p) ?? [0, 0];
  return s({
    src_ip: p.ip.src,
    dst_ip: p.ip.dst,
    src_port: sp,
    dst_port: dp,
    protocol: p.l4?.kind === 'tcp' ? PROTO_TCP : PROTO_UDP,
    packet_len: p.ip.length,
    iface: 'any',
  });
}

function record(r: DnsRecord): StructValue {
  return s({
    name: r.name,
    type: dnsTypeName(r.type),
    class: dnsClassName(r.class),
    TTL: r.ttl,
    IP: r.ip,
    NS: r.ns,
    CNAME: r.cname,
    PTR: r.ptr,
    TXTs: r.txts,
    SOA: s({
      MName: r.soa.mname,
      RName: r.soa.rname,
      serial: r.soa.serial,
      refresh: r.soa.refresh,
      retry: r.soa.retry,
      expire: r.soa.expire,
      minimum: r.soa.minimum,
    }),
    SRV: s({ priority: r.srv.priority, weight: r.srv.weight, port: r.srv.port, name: r.srv.name }),
    MX: s({ preference: r.mx.preference, name: r.mx.name }),
    OPT: r.opt.map((o) => s({ code: dnsOptionName(o.code), data: o.data })),
    URI: s({ priority: r.uri.priority, weight: r.uri.weight, target: r.uri.target }),
    TXT: r.txt,
  });
}

/** Tracee's trace.ProtoDNS. */
export function protoDns(m: DnsMessage): StructValue {
  return s({
    ID: m.id,
    QR: m.qr,
    opCode: dnsOpcodeName(m.opcode).toLowerCase(),
    AA: m.aa,
    TC: m.tc,
    RD: m.rd,
    RA: m.ra,
    Z: m.z,
    responseCode: dnsRcodeName(m.rcode).toLowerCase(),
    QDCount: m.qdcount,
    ANCount: m.ancount,
    NSCount: m.nscount,
    ARCount: m.arcount,
    questions: m.questions.map((q) =>
      s({ name: q.name, type: dnsTypeName(q.type), class: dnsClassName(q.class) }),
    ),
    answers: m.answers.map(record),
    authorities: m.authorities.map(record),
    additionals: m.additionals.map(record),
  });
}

function queries(m: DnsMessage): StructValue[] {
  return m.questions.map((q) =>
    s({ query: q.name, query_type: dnsTypeName(q.type), query_class: dnsClassName(q.class) }),
  );
}

/** Tracee's DnsAnswer.answer: the data of the record types it knows. */
function answerText(r: DnsRecord): string {
  switch (dnsTypeName(r.type)) {
    case 'A':
    case 'AAAA':
      return r.ip;
    case 'NS':
      return r.ns;
    case 'CNAME':
      return r.cname;
    case 'PTR':
      return r.ptr;
    case 'MX':
      return r.mx.name;
    case 'TXT':
      return r.txt;
    default:
      return 'not implemented';
  }
}

function headers(h: Readonly<Record<string, readonly string[]>>): StructValue {
  // http.Header is a map: no GO_STRUCT mark (the table prints it as map[...]).
  return { ...h };
}

function protoHttp(kind: 'request' | 'response', v: HttpRequest | HttpResponse): StructValue {
  const req = kind === 'request' ? (v as HttpRequest) : undefined;
  const res = kind === 'response' ? (v as HttpResponse) : undefined;
  return s({
    direction: kind,
    method: req?.method ?? '',
    protocol: v.protocol,
    host: req?.host ?? '',
    uri_path: req?.uriPath ?? '',
    status: res?.status ?? '',
    status_code: res?.statusCode ?? 0,
    headers: headers(v.headers),
    content_length: v.contentLength,
  });
}

/** The DNS message of a packet: over TCP after its two-byte length. */
function dnsBytes(p: Packet): Uint8Array | undefined {
  const pp = ports(p);
  if (pp === undefined || Math.min(pp[0], pp[1]) !== DNS_PORT || p.payload.length === 0) return undefined;
  if (p.l4?.kind !== 'tcp') return p.payload;
  if (p.payload.length < 2) return p.payload.subarray(0, 0);
  const len = (p.payload[0]! << 8) | p.payload[1]!;
  return p.payload.subarray(2, 2 + len);
}

/** What one packet gives, computed once for all the events derived from it. */
class PacketView {
  readonly packet: Packet | undefined;
  readonly direction: number;
  /** The kernel kept a prefix of the packet. */
  readonly cut: boolean;
  #dns: ReturnType<typeof decodeDns> | undefined | null = null;
  #http: { kind: 'request' | 'response'; value: HttpRequest | HttpResponse } | 'bad' | undefined | null =
    null;

  constructor(base: TraceEvent) {
    const payload = base.args[2];
    this.direction = Number(argValue(base, 'direction') ?? 0);
    const bytes = payload?.value instanceof Uint8Array ? payload.value : new Uint8Array(0);
    this.packet = parsePacket(bytes);
    this.cut = payload?.problem === 'truncated' || (this.packet?.cut ?? false);
  }

  dns(): ReturnType<typeof decodeDns> | undefined {
    if (this.#dns === null) {
      const p = this.packet;
      const b = p === undefined ? undefined : dnsBytes(p);
      this.#dns = b === undefined ? undefined : decodeDns(b);
    }
    return this.#dns;
  }

  http(): { kind: 'request' | 'response'; value: HttpRequest | HttpResponse } | 'bad' | undefined {
    if (this.#http === null) {
      const p = this.packet;
      const kind = p?.l4?.kind === 'tcp' ? httpKind(p.payload) : undefined;
      if (kind === undefined) this.#http = undefined;
      else {
        const r = kind === 'request' ? parseRequest(p!.payload) : parseResponse(p!.payload);
        this.#http = r.ok ? { kind, value: r.value } : 'bad';
      }
    }
    return this.#http;
  }
}

/** One derived event: the base's context, `spec`, and the field values in the spec's order. */
function derived(
  base: TraceEvent,
  spec: EventSpec,
  values: readonly StructField[],
  cutField?: string,
): TraceEvent {
  const args: EventArg[] = spec.fields.map((f, i) =>
    f.name === cutField
      ? { name: f.name, type: f.type, value: values[i] as EventArg['value'], problem: 'truncated' }
      : { name: f.name, type: f.type, value: values[i] as EventArg['value'] },
  );
  return { ...base, spec, args };
}

/**
 * The events of `wanted` (network events derived from packets) that the packet record `base` gives, in the
 * order of `wanted`. Counts cut and malformed messages into `counts`.
 */
export function derivePacketEvents(
  base: TraceEvent,
  wanted: readonly EventSpec[],
  counts: NetCounts,
): TraceEvent[] {
  const v = new PacketView(base);
  const p = v.packet;
  if (p === undefined) return [];
  const out: TraceEvent[] = [];
  const ip = p.ip;
  const l4 = p.l4;
  const pp = ports(p);
  for (const spec of wanted) {
    const name = spec.name;
    switch (name) {
      case 'net_packet_ipv4':
        if (ip.version === 4)
          out.push(
            derived(base, spec, [
              ip.src,
              ip.dst,
              packetMetadata(v.direction),
              s({
                version: 4,
                IHL: ip.ihl,
                TOS: ip.tos,
                length: ip.length,
                id: ip.id,
                flags: ip.flags,
                fragOffset: ip.fragOffset,
                TTL: ip.ttl,
                protocol: protocolName(ip.protocol),
                checksum: ip.checksum,
                srcIP: ip.src,
                dstIP: ip.dst,
              }),
            ]),
          );
        break;
      case 'net_packet_ipv6':
        if (ip.version === 6)
          out.push(
            derived(base, spec, [
              ip.src,
              ip.dst,
              packetMetadata(v.direction),
              s({
                version: 6,
                trafficClass: ip.trafficClass,
                flowLabel: ip.flowLabel,
                length: ip.length,
                nextHeader: protocolName(ip.nextHeader),
                hopLimit: ip.hopLimit,
                srcIP: ip.src,
                dstIP: ip.dst,
              }),
            ]),
          );
        break;
      case 'net_packet_tcp':
        if (l4?.kind === 'tcp')
          out.push(
            derived(base, spec, [
              ip.src,
              ip.dst,
              l4.srcPort,
              l4.dstPort,
              packetMetadata(v.direction),
              s({
                srcPort: l4.srcPort,
                dstPort: l4.dstPort,
                seq: l4.seq,
                ack: l4.ack,
                dataOffset: l4.dataOffset,
                ...l4.flags,
                window: l4.window,
                checksum: l4.checksum,
                urgent: l4.urgent,
              }),
            ]),
          );
        break;
      case 'net_packet_udp':
        if (l4?.kind === 'udp')
          out.push(
            derived(base, spec, [
              ip.src,
              ip.dst,
              l4.srcPort,
              l4.dstPort,
              packetMetadata(v.direction),
              s({ srcPort: l4.srcPort, dstPort: l4.dstPort, length: l4.length, checksum: l4.checksum }),
            ]),
          );
        break;
      case 'net_packet_icmp':
        if (l4?.kind === 'icmp')
          out.push(
            derived(base, spec, [
              ip.src,
              ip.dst,
              packetMetadata(v.direction),
              s({
                typeCode: icmpTypeCode(false, l4.type, l4.code),
                checksum: l4.checksum,
                id: l4.id,
                seq: l4.seq,
              }),
            ]),
          );
        break;
      case 'net_packet_icmpv6':
        if (l4?.kind === 'icmpv6')
          out.push(
            derived(base, spec, [
              ip.src,
              ip.dst,
              packetMetadata(v.direction),
              s({ typeCode: icmpTypeCode(true, l4.type, l4.code), checksum: l4.checksum }),
            ]),
          );
        break;
      case 'net_packet_dns':
      case 'net_packet_dns_request':
      case 'net_packet_dns_response': {
        const d = v.dns();
        if (d === undefined || pp === undefined) break;
        if ('error' in d) {
          bump(counts.malformed, name);
          break;
        }
        const m = d.message;
        if (m === undefined) {
          bump(counts.truncated, name);
          break;
        }
        const cut = !d.ok;
        const field = spec.fields[spec.fields.length - 1]!.name;
        if (name === 'net_packet_dns') {
          out.push(
            derived(
              base,
              spec,
              [ip.src, ip.dst, pp[0], pp[1], packetMetadata(v.direction), protoDns(m)],
              cut ? field : undefined,
            ),
          );
        } else if (name === 'net_packet_dns_request') {
          if (m.qr !== 0 || m.questions.length !== 1 || m.qdcount !== 1) break;
          out.push(derived(base, spec, [pktMeta(p), queries(m)], cut ? field : undefined));
        } else {
          if (m.qr !== 1 || m.questions.length !== 1) break;
          // A complete message must have all its answers (as in Tracee); a cut one shows those read.
          if (!cut && m.answers.length !== m.ancount) break;
          const answers = m.answers.map((r) =>
            s({ answer_type: dnsTypeName(r.type), ttl: r.ttl, answer: answerText(r) }),
          );
          const response = [s({ query_data: queries(m)[0]!, dns_answer: answers })];
          out.push(derived(base, spec, [pktMeta(p), response], cut ? field : undefined));
        }
        if (cut) bump(counts.truncated, name);
        break;
      }
      case 'net_packet_http':
      case 'net_packet_http_request':
      case 'net_packet_http_response': {
        const h = v.http();
        if (h === undefined || pp === undefined) break;
        if (h === 'bad') {
          bump(counts.malformed, name);
          break;
        }
        const cut = h.value.cut;
        const field = spec.fields[spec.fields.length - 1]!.name;
        if (name === 'net_packet_http') {
          out.push(
            derived(
              base,
              spec,
              [ip.src, ip.dst, pp[0], pp[1], packetMetadata(v.direction), protoHttp(h.kind, h.value)],
              cut ? field : undefined,
            ),
          );
        } else if (name === 'net_packet_http_request') {
          if (h.kind !== 'request') break;
          const r = h.value as HttpRequest;
          out.push(
            derived(
              base,
              spec,
              [
                pktMeta(p),
                s({
                  method: r.method,
                  protocol: r.protocol,
                  host: r.host,
                  uri_path: r.uriPath,
                  headers: headers(r.headers),
                  content_length: r.contentLength,
                }),
              ],
              cut ? field : undefined,
            ),
          );
        } else {
          if (h.kind !== 'response') break;
          const r = h.value as HttpResponse;
          out.push(
            derived(
              base,
              spec,
              [
                pktMeta(p),
                s({
                  status: r.status,
                  status_code: r.statusCode,
                  protocol: r.protocol,
                  headers: headers(r.headers),
                  content_length: r.contentLength,
                }),
              ],
              cut ? field : undefined,
            ),
          );
        }
        if (cut) bump(counts.truncated, name);
        break;
      }
    }
  }
  return out;
}

/**
 * net_tcp_connect from a security_socket_connect record (Tracee's derivation): a SOCK_STREAM socket connecting
 * to an AF_INET or AF_INET6 address. Undefined for anything else.
 */
export function deriveTcpConnect(ev: TraceEvent, spec: EventSpec): TraceEvent | undefined {
  if (ev.spec.name !== 'security_socket_connect') return undefined;
  if (Number(argValue(ev, 'type')) !== SOCK_STREAM) return undefined;
  const addr = argValue(ev, 'remote_addr');
  if (addr === undefined || addr === null || typeof addr !== 'object' || Array.isArray(addr))
    return undefined;
  const a = addr as SockAddrValue;
  const family = a['sa_family'];
  const ipKey = family === 'AF_INET' ? 'sin_addr' : family === 'AF_INET6' ? 'sin6_addr' : undefined;
  if (ipKey === undefined) return undefined;
  const ip = a[ipKey] ?? '';
  const port = Number(a[family === 'AF_INET' ? 'sin_port' : 'sin6_port']);
  if (ip === '' || !Number.isInteger(port)) return undefined;
  return derived(ev, spec, [ip, port, []]);
}
