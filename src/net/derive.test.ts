import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventById, eventByName } from '../catalog/index.js';
import type { EventSpec } from '../catalog/types.js';
import { isGoStruct, type TraceEvent } from '../decode/event.js';
import { makeEvent } from '../signatures/test-events.js';
import { derivePacketEvents, deriveTcpConnect, icmpTypeCode, newNetCounts } from './derive.js';
import { ascii, dnsHeader, dnsName, ipv4, ipv6, LOOP4, LOOP6, rr, tcp, u16, udp } from './testing.js';

const NET = [
  'net_packet_ipv4',
  'net_packet_ipv6',
  'net_packet_tcp',
  'net_packet_udp',
  'net_packet_icmp',
  'net_packet_icmpv6',
  'net_packet_dns',
  'net_packet_dns_request',
  'net_packet_dns_response',
  'net_packet_http',
  'net_packet_http_request',
  'net_packet_http_response',
].map((n) => eventByName(n)!);

/** A net_packet_base record of `bytes` (the whole packet unless `length` says it was longer). */
function base(bytes: Uint8Array, direction: number, length = bytes.length, truncated = false): TraceEvent {
  const spec = eventById(700)!;
  return {
    ...makeEvent('connect', {}, { seq: 42n, syscall: direction === 2 ? 'sendto' : '' }),
    spec,
    args: [
      { name: 'direction', type: 'uint8', value: direction },
      { name: 'length', type: 'uint32', value: length },
      truncated
        ? { name: 'payload', type: '[]byte', value: bytes, problem: 'truncated' }
        : { name: 'payload', type: '[]byte', value: bytes },
    ],
  };
}

/** name → {field: value} for each derived event. */
function derive(ev: TraceEvent, wanted: readonly EventSpec[] = NET, counts = newNetCounts()) {
  return derivePacketEvents(ev, wanted, counts).map((e) => {
    assert.equal(e.seq, 42n, 'a derived event keeps the packet record seq');
    return [
      e.spec.name,
      Object.fromEntries(
        e.args.map((a) => [
          a.name,
          a.problem === undefined ? a.value : { problem: a.problem, value: a.value },
        ]),
      ),
    ] as const;
  });
}

const QUERY = [...dnsHeader(0x1234, 0x01, 0x00, 1, 0, 0, 0), ...dnsName('ktrail.test'), ...u16(1), ...u16(1)];
const ANSWER = [
  ...dnsHeader(0x1234, 0x81, 0x80, 1, 2, 0, 0),
  ...dnsName('ktrail.test'),
  ...u16(1),
  ...u16(1),
  ...rr([0xc0, 12], 5, 1, 60, dnsName('www.ktrail.test')),
  ...rr([0xc0, 12], 1, 1, 300, [10, 1, 2, 3]),
];

describe('packet events', () => {
  it('a DNS query over UDP/IPv4 gives ipv4, udp, dns and dns_request with Tracee-shaped values', () => {
    const got = derive(base(ipv4(17, LOOP4, LOOP4, udp(40000, 53, QUERY)), 2));
    assert.deepEqual(
      got.map(([n]) => n),
      ['net_packet_ipv4', 'net_packet_udp', 'net_packet_dns', 'net_packet_dns_request'],
    );
    const byName = Object.fromEntries(got);
    assert.deepEqual(byName['net_packet_ipv4'], {
      src: '127.0.0.1',
      dst: '127.0.0.1',
      metadata: { direction: 2 },
      proto_ipv4: {
        version: 4,
        IHL: 5,
        TOS: 0,
        length: 57,
        id: 0x1c46,
        flags: 2,
        fragOffset: 0,
        TTL: 64,
        protocol: 'UDP',
        checksum: 0xbeef,
        srcIP: '127.0.0.1',
        dstIP: '127.0.0.1',
      },
    });
    assert.deepEqual(byName['net_packet_udp'], {
      src: '127.0.0.1',
      dst: '127.0.0.1',
      src_port: 40000,
      dst_port: 53,
      metadata: { direction: 2 },
      proto_udp: { srcPort: 40000, dstPort: 53, length: 37, checksum: 0xfe33 },
    });
    assert.deepEqual(byName['net_packet_dns_request'], {
      metadata: {
        src_ip: '127.0.0.1',
        dst_ip: '127.0.0.1',
        src_port: 40000,
        dst_port: 53,
        protocol: 17,
        packet_len: 57,
        iface: 'any',
      },
      dns_questions: [{ query: 'ktrail.test', query_type: 'A', query_class: 'IN' }],
    });
    const dns = byName['net_packet_dns']!;
    assert.deepEqual(dns['proto_dns'], {
      ID: 0x1234,
      QR: 0,
      opCode: 'query',
      AA: 0,
      TC: 0,
      RD: 1,
      RA: 0,
      Z: 0,
      responseCode: 'no error',
      QDCount: 1,
      ANCount: 0,
      NSCount: 0,
      ARCount: 0,
      questions: [{ name: 'ktrail.test', type: 'A', class: 'IN' }],
      answers: [],
      authorities: [],
      additionals: [],
    });
    assert.equal(isGoStruct(dns['proto_dns']), true);
    assert.equal(isGoStruct(dns['metadata']), true);
  });

  it('a DNS response over UDP/IPv6 gives dns_response with every answer', () => {
    const got = derive(base(ipv6(17, LOOP6, LOOP6, udp(53, 40000, ANSWER)), 1), [
      eventByName('net_packet_dns_response')!,
    ]);
    assert.deepEqual(got, [
      [
        'net_packet_dns_response',
        {
          metadata: {
            src_ip: '::1',
            dst_ip: '::1',
            src_port: 53,
            dst_port: 40000,
            protocol: 17,
            packet_len: 8 + ANSWER.length,
            iface: 'any',
          },
          dns_response: [
            {
              query_data: { query: 'ktrail.test', query_type: 'A', query_class: 'IN' },
              dns_answer: [
                { answer_type: 'CNAME', ttl: 60, answer: 'www.ktrail.test' },
                { answer_type: 'A', ttl: 300, answer: '10.1.2.3' },
              ],
            },
          ],
        },
      ],
    ]);
  });

  it('a DNS message over TCP is read after its two-byte length', () => {
    const seg = tcp(53, 40001, 0x18, [...u16(QUERY.length), ...QUERY]);
    const got = derive(base(ipv4(6, LOOP4, LOOP4, seg), 1), [eventByName('net_packet_dns_request')!]);
    assert.deepEqual(got[0]![1]['dns_questions'], [
      { query: 'ktrail.test', query_type: 'A', query_class: 'IN' },
    ]);
    assert.equal((got[0]![1]['metadata'] as { protocol: number }).protocol, 6);
  });

  it('a response cut by the capture shows the answers read, marked truncated, and is counted', () => {
    const full = ipv6(17, LOOP6, LOOP6, udp(53, 40000, ANSWER));
    const counts = newNetCounts();
    const got = derive(
      base(full.subarray(0, full.length - 4), 1, full.length, true),
      [eventByName('net_packet_dns_response')!],
      counts,
    );
    assert.deepEqual(got[0]![1]['dns_response'], {
      problem: 'truncated',
      value: [
        {
          query_data: { query: 'ktrail.test', query_type: 'A', query_class: 'IN' },
          dns_answer: [{ answer_type: 'CNAME', ttl: 60, answer: 'www.ktrail.test' }],
        },
      ],
    });
    assert.deepEqual([...counts.truncated], [['net_packet_dns_response', 1]]);
    assert.deepEqual([...counts.malformed], []);
  });

  it('an HTTP request over TCP gives tcp, http and http_request; not http_response', () => {
    const req = ascii('GET /hello?x=1 HTTP/1.1\r\nHost: ktrail.test\r\nUser-Agent: ktrail-e2e\r\n\r\n');
    const got = derive(base(ipv4(6, LOOP4, LOOP4, tcp(40002, 8080, 0x18, req)), 2));
    assert.deepEqual(
      got.map(([n]) => n),
      ['net_packet_ipv4', 'net_packet_tcp', 'net_packet_http', 'net_packet_http_request'],
    );
    const byName = Object.fromEntries(got);
    assert.deepEqual(byName['net_packet_tcp']!['proto_tcp'], {
      srcPort: 40002,
      dstPort: 8080,
      seq: 1000,
      ack: 0,
      dataOffset: 5,
      FIN: 0,
      SYN: 0,
      RST: 0,
      PSH: 1,
      ACK: 1,
      URG: 0,
      ECE: 0,
      CWR: 0,
      NS: 0,
      window: 65495,
      checksum: 0xfe30,
      urgent: 0,
    });
    assert.deepEqual(byName['net_packet_http_request'], {
      metadata: {
        src_ip: '127.0.0.1',
        dst_ip: '127.0.0.1',
        src_port: 40002,
        dst_port: 8080,
        protocol: 6,
        packet_len: 40 + req.length,
        iface: 'any',
      },
      http_request: {
        method: 'GET',
        protocol: 'HTTP/1.1',
        host: 'ktrail.test',
        uri_path: '/hello',
        headers: { 'User-Agent': ['ktrail-e2e'] },
        content_length: 0,
      },
    });
    assert.deepEqual(byName['net_packet_http']!['proto_http'], {
      direction: 'request',
      method: 'GET',
      protocol: 'HTTP/1.1',
      host: 'ktrail.test',
      uri_path: '/hello',
      status: '',
      status_code: 0,
      headers: { 'User-Agent': ['ktrail-e2e'] },
      content_length: 0,
    });
  });

  it('an HTTP response gives http_response; a malformed head gives nothing and is counted', () => {
    const res = ascii('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello');
    const got = derive(base(ipv4(6, LOOP4, LOOP4, tcp(8080, 40002, 0x18, res)), 1), [
      eventByName('net_packet_http_request')!,
      eventByName('net_packet_http_response')!,
    ]);
    assert.deepEqual(got, [
      [
        'net_packet_http_response',
        {
          metadata: {
            src_ip: '127.0.0.1',
            dst_ip: '127.0.0.1',
            src_port: 8080,
            dst_port: 40002,
            protocol: 6,
            packet_len: 40 + res.length,
            iface: 'any',
          },
          http_response: {
            status: '200 OK',
            status_code: 200,
            protocol: 'HTTP/1.1',
            headers: { 'Content-Length': ['5'] },
            content_length: 5,
          },
        },
      ],
    ]);
    const counts = newNetCounts();
    const bad = ascii('GET /%zz HTTP/1.1\r\n\r\n');
    assert.deepEqual(
      derive(
        base(ipv4(6, LOOP4, LOOP4, tcp(40002, 8080, 0x18, bad)), 2),
        [eventByName('net_packet_http_request')!],
        counts,
      ),
      [],
    );
    assert.deepEqual([...counts.malformed], [['net_packet_http_request', 1]]);
  });

  it('ICMP echo and ICMPv6 echo, and gopacket type-code names', () => {
    const echo = [8, 0, ...u16(0xf7ff), ...u16(0x4b54), ...u16(7), 1, 2, 3, 4];
    assert.deepEqual(derive(base(ipv4(1, LOOP4, LOOP4, echo), 2), [eventByName('net_packet_icmp')!]), [
      [
        'net_packet_icmp',
        {
          src: '127.0.0.1',
          dst: '127.0.0.1',
          metadata: { direction: 2 },
          proto_icmp: { typeCode: 'EchoRequest', checksum: 0xf7ff, id: 0x4b54, seq: 7 },
        },
      ],
    ]);
    const echo6 = [129, 0, ...u16(0x1234), ...u16(1), ...u16(2)];
    assert.deepEqual(
      derive(base(ipv6(58, LOOP6, LOOP6, echo6), 1), [
        eventByName('net_packet_icmpv6')!,
        eventByName('net_packet_icmp')!,
      ]),
      [
        [
          'net_packet_icmpv6',
          {
            src: '::1',
            dst: '::1',
            metadata: { direction: 1 },
            proto_icmpv6: { typeCode: 'EchoReply', checksum: 0x1234 },
          },
        ],
      ],
    );
    assert.equal(icmpTypeCode(false, 3, 3), 'DestinationUnreachable(Port)');
    assert.equal(icmpTypeCode(false, 3, 99), 'DestinationUnreachable(Code: 99)');
    assert.equal(icmpTypeCode(false, 8, 1), 'EchoRequest(Code: 1)');
    assert.equal(icmpTypeCode(true, 1, 4), 'DestinationUnreachable(PortUnreachable)');
    assert.equal(icmpTypeCode(true, 200, 0), '200(0)');
  });

  it('tcp and udp over IPv6 too; no ipv4 event for an IPv6 packet', () => {
    const got = derive(base(ipv6(6, LOOP6, LOOP6, tcp(40003, 443, 0x02, [])), 2));
    assert.deepEqual(
      got.map(([n]) => n),
      ['net_packet_ipv6', 'net_packet_tcp'],
    );
    assert.deepEqual(got[0]![1]['proto_ipv6'], {
      version: 6,
      trafficClass: 0,
      flowLabel: 0x12345,
      length: 20,
      nextHeader: 'TCP',
      hopLimit: 64,
      srcIP: '::1',
      dstIP: '::1',
    });
  });
});

describe('net_tcp_connect', () => {
  const spec = eventByName('net_tcp_connect')!;
  const connect = (type: number, addr: Record<string, string>) =>
    makeEvent('security_socket_connect', { sockfd: 3, type, remote_addr: addr });

  it('is derived from a connect of a stream socket to an IPv4 or IPv6 address', () => {
    const v4 = deriveTcpConnect(
      connect(1, { sa_family: 'AF_INET', sin_port: '8080', sin_addr: '127.0.0.1' }),
      spec,
    );
    assert.deepEqual(
      v4?.args.map((a) => [a.name, a.type, a.value]),
      [
        ['dst', 'string', '127.0.0.1'],
        ['dst_port', 'int32', 8080],
        ['dst_dns', '[]string', []],
      ],
    );
    assert.equal(v4?.spec.name, 'net_tcp_connect');
    const v6 = deriveTcpConnect(
      connect(1, {
        sa_family: 'AF_INET6',
        sin6_port: '443',
        sin6_flowinfo: '0',
        sin6_addr: '::1',
        sin6_scopeid: '0',
      }),
      spec,
    );
    assert.deepEqual(
      v6?.args.map((a) => a.value),
      ['::1', 443, []],
    );
  });

  it('is not derived for datagram sockets, unix sockets or other events', () => {
    assert.equal(
      deriveTcpConnect(connect(2, { sa_family: 'AF_INET', sin_port: '53', sin_addr: '127.0.0.1' }), spec),
      undefined,
    );
    assert.equal(
      deriveTcpConnect(connect(1, { sa_family: 'AF_UNIX', sun_path: '/run/x.sock' }), spec),
      undefined,
    );
    assert.equal(deriveTcpConnect(makeEvent('security_socket_bind'), spec), undefined);
  });
});
