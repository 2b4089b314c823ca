/**
 * Network events: Tracee v0.24's net_packet_* family and net_tcp_connect, with its ids, names, sets, field
 * names and types (aquasecurity/tracee v0.24.1 pkg/events/core.go; value shapes from types/trace/
 * network_trace.go). The kernel sends one record per packet, net_packet_base (internal: never printed or
 * selected), from cgroup_skb programs on the cgroup v2 root, attributed to the task that owns the socket
 * (bpf/include/common/net.h); every packet event is derived from it in userspace (src/net), as Tracee derives
 * them from its per-protocol base events. net_tcp_connect is derived from security_socket_connect, as in
 * Tracee.
 */
import type { ArgTag, EventSpec, FieldSpec, PacketClass, ProbeSpec, TraceeType } from './types.js';

const K: readonly ArgTag[] = ['K'];

/** A field built in userspace from the packet's bytes. */
function f(name: string, type: TraceeType): FieldSpec {
  return { name, cType: type, type, decode: { wire: 'none' }, tags: K };
}

/** Bytes of a packet the kernel keeps for DNS and HTTP packets (KT_NET_L7_SNAP) and for the others. */
export const NET_L7_SNAP = 4096;
export const NET_HDR_SNAP = 128;

const NEEDS = 'CAP_NET_ADMIN, cgroup v2 (mounted, or CAP_SYS_ADMIN to mount it)';

/** The programs every packet event needs. */
const PACKET_PROBES: readonly ProbeSpec[] = [
  { kind: 'cgroup_skb', target: 'ingress', required: true, needs: NEEDS },
  { kind: 'cgroup_skb', target: 'egress', required: true, needs: NEEDS },
  { kind: 'cgroup_sock', target: 'sock_create', required: true, needs: NEEDS },
  { kind: 'tp_btf', target: 'inet_sock_set_state', required: true },
  { kind: 'tp_btf', target: 'sock_send_length', required: true },
  { kind: 'tp_btf', target: 'sock_recv_length', required: true },
];

/**
 * net_packet_base: the kernel's packet record. Fields are blobs in this order (wire.h): direction (1 ingress,
 * 2 egress), length (the whole packet from its IP header on) and payload (at most NET_L7_SNAP bytes of it).
 */
export const NET_PACKET_BASE: EventSpec = {
  id: 700,
  name: 'net_packet_base',
  version: '1.0.0',
  kind: 'network',
  internal: true,
  description:
    'A packet of a traced socket, as the kernel sent it: the record every packet event comes from.',
  sets: [],
  fields: [
    { name: 'direction', cType: 'u8', type: 'uint8', decode: { wire: 'reg' }, tags: K },
    { name: 'length', cType: 'u32', type: 'uint32', decode: { wire: 'reg' }, tags: K },
    {
      name: 'payload',
      cType: 'bytes',
      type: '[]byte',
      decode: { wire: 'buf', lenArg: 0, max: NET_L7_SNAP },
      tags: K,
    },
  ],
  probes: PACKET_PROBES,
};

const ATTRIBUTION =
  "Each packet is the task's that last created, connected, listened on, sent on or received on its socket (a connection accepted from a listener is the listener's until the accepting task sends or receives); egress packets name that task's syscall. Packets of sockets no task was seen using (the kernel's own replies, sockets opened before ktrail started that have not sent or received since) are counted, not reported.";
const SCOPES =
  'Scopes and filters apply in userspace; the kernel sends every packet of the classes some policy needs.';

function packetEvent(
  id: number,
  name: string,
  description: string,
  sets: readonly string[],
  classes: readonly PacketClass[],
  fields: readonly FieldSpec[],
  notes: readonly string[],
  related: readonly string[],
): EventSpec {
  return {
    id,
    name,
    version: '1.0.0',
    kind: 'network',
    description,
    sets,
    fields,
    probes: PACKET_PROBES,
    packet: { classes },
    derivedFrom: ['net_packet_base'],
    related,
    notes: [...notes, ATTRIBUTION, SCOPES],
  };
}

const SRC_DST = [f('src', 'string'), f('dst', 'string')];
const PORTS = [f('src_port', 'uint16'), f('dst_port', 'uint16')];
const META = f('metadata', 'trace.PacketMetadata');
const PKT_META = f('metadata', 'trace.PktMeta');

const DIRECTION_NOTE = 'metadata.direction: 1 ingress, 2 egress (a number, as Tracee prints it).';
const PKT_META_NOTE =
  'metadata (trace.PktMeta): src_ip, dst_ip, src_port, dst_port, protocol (6 TCP, 17 UDP), packet_len (the IPv4 total length, or the IPv6 payload length) and iface (always "any", as in Tracee).';
const DNS_NOTE = `A DNS message over UDP or TCP with port 53 on either side (over TCP, after its two-byte length). The kernel keeps the first ${NET_L7_SNAP} bytes of the packet from its IP header on: a longer message is decoded as far as it goes and the field is marked "problem":"truncated".`;
const HTTP_NOTE = `A TCP segment whose payload starts with "GET ", "POST ", "PUT ", "DELETE ", "HEAD " (a request) or "HTTP/" (a response), as Tracee tests. The head is read from the first ${NET_L7_SNAP} bytes of the packet; headers (at most 64, each value at most 1024 bytes) that do not fit are left out and the field is marked "problem":"truncated". Keys are canonical (Content-Type) and sorted; a request's Host header goes to host, as Go's net/http does.`;

export const NET_EVENTS: readonly EventSpec[] = [
  packetEvent(
    2000,
    'net_packet_ipv4',
    'An IPv4 packet (carrying TCP, UDP or ICMP) sent or received by a traced process: its IP header.',
    ['network_events'],
    ['IPV4'],
    [...SRC_DST, META, f('proto_ipv4', 'trace.ProtoIPv4')],
    [
      DIRECTION_NOTE,
      'proto_ipv4: version, IHL, TOS, length, id, flags, fragOffset, TTL, protocol (TCP, UDP, ICMPv4), checksum, srcIP, dstIP.',
    ],
    ['net_packet_ipv6', 'net_packet_tcp', 'net_packet_udp', 'net_packet_icmp'],
  ),
  packetEvent(
    2001,
    'net_packet_ipv6',
    'An IPv6 packet (carrying TCP, UDP or ICMPv6) sent or received by a traced process: its IP header.',
    ['network_events'],
    ['IPV6'],
    [...SRC_DST, META, f('proto_ipv6', 'trace.ProtoIPv6')],
    [
      DIRECTION_NOTE,
      'proto_ipv6: version, trafficClass, flowLabel, length (the payload length), nextHeader (TCP, UDP, ICMPv6), hopLimit, srcIP, dstIP. Packets with extension headers are not reported.',
    ],
    ['net_packet_ipv4', 'net_packet_tcp', 'net_packet_udp', 'net_packet_icmpv6'],
  ),
  packetEvent(
    2002,
    'net_packet_tcp',
    'A TCP segment sent or received by a traced process: addresses, ports and its TCP header.',
    ['network_events'],
    ['TCP'],
    [...SRC_DST, ...PORTS, META, f('proto_tcp', 'trace.ProtoTCP')],
    [
      DIRECTION_NOTE,
      'proto_tcp: srcPort, dstPort, seq, ack, dataOffset, the flags FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, NS as 0 or 1, window, checksum, urgent.',
      'Over IPv4 and IPv6 (Tracee v0.24 derives it from IPv4 packets only).',
    ],
    ['net_packet_ipv4', 'net_packet_ipv6', 'net_tcp_connect'],
  ),
  packetEvent(
    2003,
    'net_packet_udp',
    'A UDP datagram sent or received by a traced process: addresses, ports and its UDP header.',
    ['network_events'],
    ['UDP'],
    [...SRC_DST, ...PORTS, META, f('proto_udp', 'trace.ProtoUDP')],
    [
      DIRECTION_NOTE,
      'proto_udp: srcPort, dstPort, length, checksum.',
      'Over IPv4 and IPv6 (Tracee v0.24 derives it from IPv4 packets only).',
    ],
    ['net_packet_ipv4', 'net_packet_ipv6', 'net_packet_dns'],
  ),
  packetEvent(
    2004,
    'net_packet_icmp',
    'An ICMP message sent or received by a traced process (ping, errors).',
    ['default', 'network_events'],
    ['ICMP'],
    [...SRC_DST, META, f('proto_icmp', 'trace.ProtoICMP')],
    [
      DIRECTION_NOTE,
      'proto_icmp: typeCode (EchoRequest, EchoReply, DestinationUnreachable(Port), ...), checksum, id, seq.',
      "An echo request is the sender's; the reply the kernel sends back leaves from a kernel socket and is not reported, its arrival at the sender's socket is.",
    ],
    ['net_packet_icmpv6', 'net_packet_ipv4'],
  ),
  packetEvent(
    2005,
    'net_packet_icmpv6',
    'An ICMPv6 message sent or received by a traced process (ping, errors).',
    ['default', 'network_events'],
    ['ICMPV6'],
    [...SRC_DST, META, f('proto_icmpv6', 'trace.ProtoICMPv6')],
    [
      DIRECTION_NOTE,
      'proto_icmpv6: typeCode (EchoRequest, EchoReply, ...), checksum.',
      "An echo request is the sender's; the reply the kernel sends back leaves from a kernel socket and is not reported, its arrival at the sender's socket is.",
    ],
    ['net_packet_icmp', 'net_packet_ipv6'],
  ),
  packetEvent(
    2006,
    'net_packet_dns',
    'A DNS message sent or received by a traced process, decoded whole: header, questions and records.',
    ['network_events'],
    ['DNS'],
    [...SRC_DST, ...PORTS, META, f('proto_dns', 'trace.ProtoDNS')],
    [
      DIRECTION_NOTE,
      DNS_NOTE,
      'proto_dns: ID, QR, opCode, AA, TC, RD, RA, Z, responseCode, the four counts, questions (name, type, class) and answers, authorities, additionals (name, type, class, TTL and the data of A, AAAA, NS, CNAME, PTR, TXT, SOA, SRV, MX, OPT, URI records).',
    ],
    ['net_packet_dns_request', 'net_packet_dns_response', 'net_packet_udp'],
  ),
  packetEvent(
    2007,
    'net_packet_dns_request',
    'A DNS query with one question, sent or received by a traced process.',
    ['default', 'network_events'],
    ['DNS'],
    [PKT_META, f('dns_questions', '[]trace.DnsQueryData')],
    [
      DNS_NOTE,
      PKT_META_NOTE,
      'dns_questions: one {query, query_type, query_class}. Messages with another number of questions are not reported (as in Tracee); net_packet_dns shows them.',
    ],
    ['net_packet_dns_response', 'net_packet_dns'],
  ),
  packetEvent(
    2008,
    'net_packet_dns_response',
    'A DNS response to one question, sent or received by a traced process, with its answers.',
    ['default', 'network_events'],
    ['DNS'],
    [PKT_META, f('dns_response', '[]trace.DnsResponseData')],
    [
      DNS_NOTE,
      PKT_META_NOTE,
      'dns_response: one {query_data, dns_answer}; each answer is {answer_type, ttl, answer}: the address of A and AAAA, the name of NS, CNAME, PTR and MX, the raw data of TXT, "not implemented" for other types (as in Tracee).',
    ],
    ['net_packet_dns_request', 'net_packet_dns', 'net_tcp_connect'],
  ),
  packetEvent(
    2009,
    'net_packet_http',
    'An HTTP/1.x request or response head sent or received by a traced process.',
    ['network_events'],
    ['HTTP'],
    [f('src', 'string'), f('dst', 'string'), ...PORTS, META, f('proto_http', 'trace.ProtoHTTP')],
    [
      DIRECTION_NOTE,
      HTTP_NOTE,
      'proto_http: direction ("request" or "response"), method, protocol, host, uri_path, status, status_code, headers, content_length.',
      'Tracee v0.24 leaves the type of src, dst, src_port and dst_port empty; ktrail names them (string, uint16).',
    ],
    ['net_packet_http_request', 'net_packet_http_response', 'net_packet_tcp'],
  ),
  packetEvent(
    2010,
    'net_packet_http_request',
    'An HTTP/1.x request sent or received by a traced process: method, URI path, host and headers.',
    ['default', 'network_events'],
    ['HTTP'],
    [PKT_META, f('http_request', 'trace.ProtoHTTPRequest')],
    [
      HTTP_NOTE,
      PKT_META_NOTE,
      'http_request: method, protocol, host, uri_path (the path without its query), headers, content_length (0 without a Content-Length header).',
    ],
    ['net_packet_http_response', 'net_packet_http'],
  ),
  packetEvent(
    2011,
    'net_packet_http_response',
    'An HTTP/1.x response sent or received by a traced process: status and headers.',
    ['default', 'network_events'],
    ['HTTP'],
    [PKT_META, f('http_response', 'trace.ProtoHTTPResponse')],
    [
      HTTP_NOTE,
      PKT_META_NOTE,
      'http_response: status ("200 OK"), status_code, protocol, headers, content_length (-1 when the head does not give it).',
    ],
    ['net_packet_http_request', 'net_packet_http'],
  ),
  {
    id: 2016,
    name: 'net_tcp_connect',
    version: '1.0.0',
    kind: 'network',
    description: 'A process asked to connect a TCP socket (IPv4 or IPv6): the destination address and port.',
    sets: ['default', 'flows'],
    fields: [
      { name: 'dst', cType: 'const char *', type: 'string', decode: { wire: 'none' }, tags: K },
      { name: 'dst_port', cType: 'int', type: 'int32', decode: { wire: 'none' }, tags: K },
      {
        name: 'dst_dns',
        cType: 'const char **',
        type: '[]string',
        decode: { wire: 'none' },
        tags: ['K', 'OPT'],
      },
    ],
    probes: [
      { kind: 'raw_tracepoint', target: 'sys_enter', required: true },
      { kind: 'raw_tracepoint', target: 'sys_exit', required: true },
    ],
    derivedFrom: ['security_socket_connect'],
    related: ['security_socket_connect', 'connect', 'net_packet_tcp'],
    notes: [
      'Derived from security_socket_connect, as Tracee derives it: one event per connect on a SOCK_STREAM socket to an AF_INET or AF_INET6 address, whatever its result (a refused or non-blocking connect counts).',
      'dst_dns stays empty: it is filled from a DNS cache Tracee keeps only with --dnscache, which ktrail does not have.',
    ],
  },
];
