/**
 * End to end for the network events: real packets through the cgroup_skb programs, attributed to the tasks
 * that own their sockets, decoded into Tracee's net_packet_* events and net_tcp_connect.
 *
 * Every exchange is made by build/helpers/netlab in a network namespace of its own (lo only, fixed ports,
 * gone when the helper ends): a client process and, in a child of its own, a server.
 *
 * 1. `-e network_events,net_tcp_connect`: DNS over UDP (IPv4, IPv6) and TCP, HTTP, ICMP and ICMPv6 echo, TCP
 *    connects (accepted on IPv4 and IPv6, one refused). Each event is checked value by value against what the
 *    helper sent: addresses, ports, lengths, DNS questions and answers, HTTP request and response heads, ICMP
 *    types, ids, sequence numbers and checksums, TCP flags; and each is the process's that owns the socket
 *    (client or server), with the syscall of an egress packet. Values the kernel picks (IPv4 ids, TCP sequence
 *    numbers, the IPv6 flow label, offloaded checksums) are checked for type only.
 * 2. Captured bytes are bounded: a 4857-byte DNS answer and a 5.1 KB HTTP request head are cut at 4096 bytes;
 *    the events show what was read, marked truncated, and the summary counts them.
 * 3. The default set has Tracee's seven network events and only those.
 * 4. No network program is attached unless a network event is selected; none is left after a run.
 * 5. Where cgroup v2 is not mounted (a private mount namespace that unmounted it), ktrail mounts it for a
 *    moment to attach and leaves no mount and no directory behind.
 * Root only; skips otherwise.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  jsonEvents,
  type Lab,
  liveSkipReason,
  netlab,
  ourProgramsAfterExit,
  type Run,
  traceWhile,
} from './run-ktrail.js';

type Json = Record<string, unknown>;
interface Arg {
  readonly name: string;
  readonly type: string;
  readonly value: unknown;
  readonly problem?: string;
}

/** A value the kernel picks (an IPv4 id, a TCP sequence number): only its type is checked. */
const NUM = Symbol('a number');

const args = (e: Json): Record<string, unknown> =>
  Object.fromEntries(
    (e['args'] as Arg[]).map((a) => [
      a.name,
      a.problem === undefined ? a.value : { problem: a.problem, value: a.value },
    ]),
  );

/** `got` with NUM where `want` says NUM (then any number is accepted), compared deeply with `want`. */
function like(got: unknown, want: unknown, what: string): void {
  const norm = (g: unknown, w: unknown): unknown => {
    if (w === NUM) return typeof g === 'number' ? NUM : g;
    if (Array.isArray(w) && Array.isArray(g)) return g.map((x, i) => norm(x, w[i]));
    if (w !== null && typeof w === 'object' && g !== null && typeof g === 'object')
      return Object.fromEntries(Object.entries(g as Json).map(([k, v]) => [k, norm(v, (w as Json)[k])]));
    return g;
  };
  assert.deepEqual(norm(got, want), want, `${what}: ${JSON.stringify(got)}`);
}

/** [eventName, direction or '-', syscall] of each event, in order. */
const shape = (evs: readonly Json[]) =>
  evs.map((e) => {
    const m = (e['args'] as Arg[]).find((a) => a.name === 'metadata')?.value as
      | { direction?: number }
      | undefined;
    return [e['eventName'], m?.direction ?? '-', e['syscall']];
  });

/** The Internet checksum of `b` (16-bit words, big endian). */
function csum(b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

const ECHO_DATA = [...Buffer.from('ktrail!!')];
/** An ICMP echo message of `type` (id 0x4b54, seq 1, "ktrail!!") with a zero checksum. */
const echo = (type: number) => [type, 0, 0, 0, 0x4b, 0x54, 0, 1, ...ECHO_DATA];
const LOOP6 = [...new Array(15).fill(0), 1];
/** The ICMPv6 checksum of an echo of `type` from ::1 to ::1 (the pseudo-header first). */
const csum6 = (type: number) => csum([...LOOP6, ...LOOP6, 0, 0, 0, 16, 0, 0, 0, 58, ...echo(type)]);

const REQUEST = 'GET /hello?x=1 HTTP/1.1\r\nHost: ktrail.test\r\nUser-Agent: ktrail-e2e\r\n\r\n';
const RESPONSE = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello';
/** IPv4 and TCP headers of an established loopback connection (timestamps: a 32-byte TCP header). */
const TCP4 = 20 + 32;

const skip = liveSkipReason();

describe('network events, live', { skip }, () => {
  let run: Run = { stdout: '', stderr: '', code: null };
  let events: Json[] = [];
  const lab: Record<string, Lab> = {};
  let big: Run = { stdout: '', stderr: '', code: null };
  const bigLab: Record<string, Lab> = {};
  let def: Run = { stdout: '', stderr: '', code: null };
  const defLab: Record<string, Lab> = {};
  let idle: string[] = ['not run'];

  before(async () => {
    run = await traceWhile(['-e', 'network_events,net_tcp_connect', '-o', 'json'], async () => {
      for (const a of ['dns', 'dns6', 'dns_tcp', 'http', 'ping', 'ping6', 'tcp']) lab[a] = await netlab(a);
    });
    events = jsonEvents(run);
    big = await traceWhile(
      ['-e', 'net_packet_dns_response,net_packet_http_request', '-o', 'json'],
      async () => {
        for (const a of ['dns_big', 'http_big']) bigLab[a] = await netlab(a);
      },
    );
    def = await traceWhile(['-o', 'json'], async () => {
      for (const a of ['dns', 'http', 'ping', 'tcp']) defLab[a] = await netlab(a);
    });
    const quiet = await traceWhile(['-e', 'delete_module', '-o', 'json'], async () => {
      idle = spawnSync('bpftool', ['cgroup', 'tree'], { encoding: 'utf8' }).stdout.split('\n');
    });
    assert.equal(quiet.code, 0, quiet.stderr);
  });

  /** The events of process `pid`, in seq order (a packet's events share its seq: catalog order then). */
  const of = (pid: number, pred: (e: Json) => boolean = () => true, from = events) =>
    from.filter((e) => e['hostProcessId'] === pid && pred(e));
  const named = (n: string) => (e: Json) => e['eventName'] === n;

  it('ran and lost nothing', () => {
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /ktrail: tracing 13 events/);
    assert.match(run.stderr, /SIGINT: \d+ events, 0 lost/);
  });

  it('DNS over UDP: the query and the answer, each sent by its process and received by the other', () => {
    const { pid, server } = lab['dns']!;
    assert.ok(of(pid).every((e) => e['processName'] === 'kt-dns-client'));
    assert.ok(of(server).every((e) => e['processName'] === 'kt-dns-server'));
    const order = [
      ['net_packet_ipv4', 2, 'sendto'],
      ['net_packet_udp', 2, 'sendto'],
      ['net_packet_dns', 2, 'sendto'],
      ['net_packet_dns_request', '-', 'sendto'],
      ['net_packet_ipv4', 1, ''],
      ['net_packet_udp', 1, ''],
      ['net_packet_dns', 1, ''],
      ['net_packet_dns_response', '-', ''],
    ];
    assert.deepEqual(shape(of(pid)), order);
    assert.deepEqual(shape(of(server)), [
      ...order.slice(4, 7).map(([n]) => [n, 1, '']),
      ['net_packet_dns_request', '-', ''],
      ...order.slice(0, 3).map(([n]) => [n, 2, 'sendto']),
      ['net_packet_dns_response', '-', 'sendto'],
    ]);
    const query = {
      src_ip: '127.0.0.1',
      dst_ip: '127.0.0.1',
      src_port: 40053,
      dst_port: 53,
      protocol: 17,
      iface: 'any',
    };
    const question = [{ query: 'ktrail.test', query_type: 'A', query_class: 'IN' }];
    for (const p of [pid, server])
      assert.deepEqual(args(of(p, named('net_packet_dns_request'))[0]!), {
        metadata: { ...query, packet_len: 57 },
        dns_questions: question,
      });
    const answer = {
      metadata: { ...query, src_port: 53, dst_port: 40053, packet_len: 102 },
      dns_response: [
        {
          query_data: question[0],
          dns_answer: [
            { answer_type: 'CNAME', ttl: 60, answer: 'www.ktrail.test' },
            { answer_type: 'A', ttl: 300, answer: '10.1.2.3' },
          ],
        },
      ],
    };
    for (const p of [pid, server])
      assert.deepEqual(args(of(p, named('net_packet_dns_response'))[0]!), answer);
    like(
      args(of(pid, named('net_packet_ipv4'))[0]!),
      {
        src: '127.0.0.1',
        dst: '127.0.0.1',
        metadata: { direction: 2 },
        proto_ipv4: {
          version: 4,
          IHL: 5,
          TOS: 0,
          length: 57,
          id: NUM,
          flags: 2,
          fragOffset: 0,
          TTL: 64,
          protocol: 'UDP',
          checksum: NUM,
          srcIP: '127.0.0.1',
          dstIP: '127.0.0.1',
        },
      },
      'ipv4',
    );
    like(
      args(of(pid, named('net_packet_udp'))[1]!),
      {
        src: '127.0.0.1',
        dst: '127.0.0.1',
        src_port: 53,
        dst_port: 40053,
        metadata: { direction: 1 },
        proto_udp: { srcPort: 53, dstPort: 40053, length: 82, checksum: NUM },
      },
      'udp',
    );
    const record = (name: string, type: string, ttl: number, data: Json) => ({
      name,
      type,
      class: 'IN',
      TTL: ttl,
      IP: '',
      NS: '',
      CNAME: '',
      PTR: '',
      TXTs: [],
      SOA: { MName: '', RName: '', serial: 0, refresh: 0, retry: 0, expire: 0, minimum: 0 },
      SRV: { priority: 0, weight: 0, port: 0, name: '' },
      MX: { preference: 0, name: '' },
      OPT: [],
      URI: { priority: 0, weight: 0, target: '' },
      TXT: '',
      ...data,
    });
    assert.deepEqual(args(of(pid, named('net_packet_dns'))[1]!), {
      src: '127.0.0.1',
      dst: '127.0.0.1',
      src_port: 53,
      dst_port: 40053,
      metadata: { direction: 1 },
      proto_dns: {
        ID: 0x4b54,
        QR: 1,
        opCode: 'query',
        AA: 1,
        TC: 0,
        RD: 1,
        RA: 1,
        Z: 0,
        responseCode: 'no error',
        QDCount: 1,
        ANCount: 2,
        NSCount: 0,
        ARCount: 0,
        questions: [{ name: 'ktrail.test', type: 'A', class: 'IN' }],
        answers: [
          record('ktrail.test', 'CNAME', 60, { CNAME: 'www.ktrail.test' }),
          record('ktrail.test', 'A', 300, { IP: '10.1.2.3' }),
        ],
        authorities: [],
        additionals: [],
      },
    });
  });

  it('DNS over IPv6 and over TCP (after the two-byte length)', () => {
    const v6 = of(lab['dns6']!.pid, named('net_packet_dns_request'));
    assert.deepEqual(args(v6[0]!)['metadata'], {
      src_ip: '::1',
      dst_ip: '::1',
      src_port: 40054,
      dst_port: 53,
      protocol: 17,
      packet_len: 37,
      iface: 'any',
    });
    like(
      args(of(lab['dns6']!.pid, named('net_packet_ipv6'))[0]!)['proto_ipv6'],
      {
        version: 6,
        trafficClass: 0,
        flowLabel: NUM,
        length: 37,
        nextHeader: 'UDP',
        hopLimit: 64,
        srcIP: '::1',
        dstIP: '::1',
      },
      'ipv6',
    );
    const { pid, server } = lab['dns_tcp']!;
    assert.deepEqual(args(of(pid, named('net_packet_dns_request'))[0]!)['metadata'], {
      src_ip: '127.0.0.1',
      dst_ip: '127.0.0.1',
      src_port: 40055,
      dst_port: 53,
      protocol: 6,
      packet_len: TCP4 + 2 + 29,
      iface: 'any',
    });
    const answers = of(server, named('net_packet_dns_response'));
    assert.deepEqual(
      answers.map((e) => (args(e)['dns_response'] as { dns_answer: unknown }[])[0]!.dns_answer),
      [
        [
          { answer_type: 'CNAME', ttl: 60, answer: 'www.ktrail.test' },
          { answer_type: 'A', ttl: 300, answer: '10.1.2.3' },
        ],
      ],
    );
    assert.deepEqual(shape(of(pid, named('net_tcp_connect'))), [['net_tcp_connect', '-', 'connect']]);
  });

  it('HTTP: the request head and the response head, at the client and at the server', () => {
    const { pid, server } = lab['http']!;
    const http = (e: Json) => String(e['eventName']).startsWith('net_packet_http');
    assert.deepEqual(shape(of(pid, http)), [
      ['net_packet_http', 2, 'sendto'],
      ['net_packet_http_request', '-', 'sendto'],
      ['net_packet_http', 1, ''],
      ['net_packet_http_response', '-', ''],
    ]);
    assert.deepEqual(shape(of(server, http)), [
      ['net_packet_http', 1, ''],
      ['net_packet_http_request', '-', ''],
      ['net_packet_http', 2, 'sendto'],
      ['net_packet_http_response', '-', 'sendto'],
    ]);
    const req = {
      metadata: {
        src_ip: '127.0.0.1',
        dst_ip: '127.0.0.1',
        src_port: 40080,
        dst_port: 8080,
        protocol: 6,
        packet_len: TCP4 + REQUEST.length,
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
    };
    const res = {
      metadata: { ...req.metadata, src_port: 8080, dst_port: 40080, packet_len: TCP4 + RESPONSE.length },
      http_response: {
        status: '200 OK',
        status_code: 200,
        protocol: 'HTTP/1.1',
        headers: { 'Content-Length': ['5'], 'Content-Type': ['text/plain'] },
        content_length: 5,
      },
    };
    for (const p of [pid, server]) {
      assert.deepEqual(args(of(p, named('net_packet_http_request'))[0]!), req);
      assert.deepEqual(args(of(p, named('net_packet_http_response'))[0]!), res);
    }
    assert.deepEqual(args(of(server, named('net_packet_http'))[1]!), {
      src: '127.0.0.1',
      dst: '127.0.0.1',
      src_port: 8080,
      dst_port: 40080,
      metadata: { direction: 2 },
      proto_http: {
        direction: 'response',
        method: '',
        protocol: 'HTTP/1.1',
        host: '',
        uri_path: '',
        status: '200 OK',
        status_code: 200,
        headers: { 'Content-Length': ['5'], 'Content-Type': ['text/plain'] },
        content_length: 5,
      },
    });
  });

  it("ping 127.0.0.1 and ::1: the echo request sent and the reply received, the pinger's both", () => {
    const icmp = of(lab['ping']!.pid, named('net_packet_icmp'));
    assert.deepEqual(
      icmp.map((e) => [e['processName'], e['syscall'], args(e)]),
      [
        [
          'kt-ping',
          'sendto',
          {
            src: '127.0.0.1',
            dst: '127.0.0.1',
            metadata: { direction: 2 },
            proto_icmp: { typeCode: 'EchoRequest', checksum: csum(echo(8)), id: 0x4b54, seq: 1 },
          },
        ],
        [
          'kt-ping',
          '',
          {
            src: '127.0.0.1',
            dst: '127.0.0.1',
            metadata: { direction: 1 },
            proto_icmp: { typeCode: 'EchoReply', checksum: csum(echo(0)), id: 0x4b54, seq: 1 },
          },
        ],
      ],
    );
    const icmp6 = of(lab['ping6']!.pid, named('net_packet_icmpv6'));
    assert.deepEqual(
      icmp6.map((e) => [e['processName'], e['syscall'], args(e)]),
      [
        [
          'kt-ping6',
          'sendto',
          {
            src: '::1',
            dst: '::1',
            metadata: { direction: 2 },
            proto_icmpv6: { typeCode: 'EchoRequest', checksum: csum6(128) },
          },
        ],
        [
          'kt-ping6',
          '',
          {
            src: '::1',
            dst: '::1',
            metadata: { direction: 1 },
            proto_icmpv6: { typeCode: 'EchoReply', checksum: csum6(129) },
          },
        ],
      ],
    );
    // The replies left from the kernel's own ICMP sockets: counted, not reported.
    const m = /(\d+) packets of sockets no task was seen using \((\d+) in, (\d+) out\)/.exec(run.stderr);
    assert.ok(m !== null && Number(m[3]) >= 2, run.stderr);
  });

  it('TCP connects: net_tcp_connect for each (the refused one too) and the handshake segments', () => {
    const { pid, server } = lab['tcp']!;
    assert.deepEqual(
      of(pid, named('net_tcp_connect')).map((e) => [e['syscall'], args(e)]),
      [
        ['connect', { dst: '127.0.0.1', dst_port: 9000, dst_dns: [] }],
        ['connect', { dst: '::1', dst_port: 9000, dst_dns: [] }],
        ['connect', { dst: '127.0.0.1', dst_port: 9001, dst_dns: [] }],
      ],
    );
    const tcp = (p: number, sport: number, dport: number) =>
      of(
        p,
        (e) =>
          e['eventName'] === 'net_packet_tcp' &&
          args(e)['src_port'] === sport &&
          args(e)['dst_port'] === dport,
      );
    const flags = (e: Json) => {
      const t = args(e)['proto_tcp'] as Record<string, number>;
      return ['FIN', 'SYN', 'RST', 'PSH', 'ACK'].filter((f) => t[f] === 1).join('+');
    };
    const syn = args(tcp(pid, 40100, 9000)[0]!);
    like(
      syn,
      {
        src: '127.0.0.1',
        dst: '127.0.0.1',
        src_port: 40100,
        dst_port: 9000,
        metadata: { direction: 2 },
        proto_tcp: {
          srcPort: 40100,
          dstPort: 9000,
          seq: NUM,
          ack: 0,
          dataOffset: 10,
          FIN: 0,
          SYN: 1,
          RST: 0,
          PSH: 0,
          ACK: 0,
          URG: 0,
          ECE: 0,
          CWR: 0,
          NS: 0,
          window: NUM,
          checksum: NUM,
          urgent: 0,
        },
      },
      'syn',
    );
    // The client's SYN, then its ACK; the server's SYN-ACK leaves from a socket not accepted yet: the listener's,
    // whose stamp was taken at listen (the syscall an egress packet names when its owner is not sending it).
    assert.deepEqual(tcp(pid, 40100, 9000).slice(0, 2).map(flags), ['SYN', 'ACK']);
    assert.deepEqual(tcp(pid, 9000, 40100).slice(0, 1).map(flags), ['SYN+ACK']);
    assert.deepEqual(
      tcp(server, 9000, 40100)
        .slice(0, 1)
        .map((e) => [flags(e), e['syscall'], e['processName']]),
      [['SYN+ACK', 'listen', 'kt-tcp-server']],
    );
    assert.deepEqual(tcp(server, 40101, 9000).slice(0, 1).map(flags), ['SYN']);
    assert.equal(args(tcp(pid, 40101, 9000)[0]!)['dst'], '::1');
    // The refused connect: the SYN out, the kernel's RST in.
    const refused = of(
      pid,
      (e) => e['eventName'] === 'net_packet_tcp' && [args(e)['src_port'], args(e)['dst_port']].includes(9001),
    );
    assert.deepEqual(refused.map(flags), ['SYN', 'RST+ACK']);
  });

  it('bounded bytes: an answer and a request head longer than 4096 bytes show what was read, marked truncated, and are counted', () => {
    assert.equal(big.code, 0, big.stderr);
    const evs = jsonEvents(big);
    for (const p of [bigLab['dns_big']!.pid, bigLab['dns_big']!.server]) {
      const r = of(p, named('net_packet_dns_response'), evs);
      assert.equal(r.length, 1);
      const v = args(r[0]!)['dns_response'] as { problem: string; value: { dns_answer: unknown[] }[] };
      assert.equal(v.problem, 'truncated');
      // 4096 bytes: 28 of IP and UDP headers, 29 of DNS header and question, then 252 whole 16-byte answers.
      const answers = v.value[0]!.dns_answer;
      assert.equal(answers.length, 252);
      assert.deepEqual(
        [answers[0], answers[251]],
        [
          { answer_type: 'A', ttl: 300, answer: '10.0.1.0' },
          { answer_type: 'A', ttl: 300, answer: '10.0.1.251' },
        ],
      );
      assert.equal((args(r[0]!)['metadata'] as { packet_len: number }).packet_len, 4857);
    }
    for (const p of [bigLab['http_big']!.pid, bigLab['http_big']!.server]) {
      const r = of(p, named('net_packet_http_request'), evs);
      assert.equal(r.length, 1);
      assert.deepEqual(args(r[0]!)['http_request'], {
        problem: 'truncated',
        value: {
          method: 'GET',
          protocol: 'HTTP/1.1',
          host: 'ktrail.test',
          uri_path: '/hello',
          headers: { 'User-Agent': ['ktrail-e2e'] },
          content_length: 0,
        },
      });
    }
    assert.match(big.stderr, /, 4 DNS\/HTTP packets longer than the 4096 bytes kept/);
    assert.match(
      big.stderr,
      /, network events cut short: net_packet_dns_response 2, net_packet_http_request 2/,
    );
  });

  it("the default set has Tracee's seven network events and no other packet event", () => {
    assert.equal(def.code, 0, def.stderr);
    const evs = jsonEvents(def);
    const names = (l: Lab) =>
      [
        ...new Set(
          [...of(l.pid, () => true, evs), ...of(l.server, () => true, evs)].map((e) =>
            String(e['eventName']),
          ),
        ),
      ]
        .filter((n) => n.startsWith('net_'))
        .sort();
    assert.deepEqual(names(defLab['dns']!), ['net_packet_dns_request', 'net_packet_dns_response']);
    assert.deepEqual(names(defLab['http']!), [
      'net_packet_http_request',
      'net_packet_http_response',
      'net_tcp_connect',
    ]);
    assert.deepEqual(names(defLab['ping']!), ['net_packet_icmp']);
    assert.deepEqual(names(defLab['tcp']!), ['net_tcp_connect']);
  });

  it('attaches no network program unless a network event is selected, and leaves none after', async () => {
    assert.ok(!idle.includes('not run'));
    assert.deepEqual(
      idle.filter((l) => /cgroup_(skb|sock)__net/.test(l)),
      [],
    );
    assert.deepEqual(await ourProgramsAfterExit(), []);
    const tree = spawnSync('bpftool', ['cgroup', 'tree'], { encoding: 'utf8' }).stdout;
    assert.doesNotMatch(tree, /__net__/);
  });
});

describe('network events without a cgroup v2 mount', { skip }, () => {
  it('mounts cgroup v2 for a moment to attach, unmounts it, and reports packets', async () => {
    const before = readdirSync(tmpdir()).filter((n) => n.startsWith('ktrail-cgroup2-'));
    let mounts: string[] = ['not read'];
    let lab: Lab | undefined;
    // ktrail runs in a private mount namespace where no cgroup2 file system is mounted.
    const wrapper = [
      'unshare',
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      'for m in $(grep \' - cgroup2 \' /proc/self/mountinfo | cut -d\' \' -f5); do umount "$m" || exit 9; done; exec "$0" "$@"',
    ];
    const r = await traceWhile(
      ['-e', 'net_packet_icmp', '-o', 'json'],
      async () => {
        const pid = spawnSync('pgrep', ['-f', '-n', 'dist/src/cli/main.js -e net_packet_icmp'], {
          encoding: 'utf8',
        });
        const ktrail = pid.stdout.trim();
        mounts = readFileSync(`/proc/${ktrail}/mountinfo`, 'utf8')
          .split('\n')
          .filter((l) => l.includes(' - cgroup2 '));
        lab = await netlab('ping');
        await sleep(100);
      },
      400,
      wrapper,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(mounts, [], "no cgroup2 mount in ktrail's namespace while it runs");
    const icmp = jsonEvents(r).filter((e) => e['hostProcessId'] === lab?.pid);
    assert.deepEqual(
      icmp.map((e) => (args(e)['proto_icmp'] as { typeCode: string }).typeCode),
      ['EchoRequest', 'EchoReply'],
    );
    assert.deepEqual(
      readdirSync(tmpdir()).filter((n) => n.startsWith('ktrail-cgroup2-')),
      before,
    );
    assert.deepEqual(await ourProgramsAfterExit(), []);
  });
});
