import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeDns, dnsRcodeName, dnsTypeName } from './dns.js';
import { ascii, dnsHeader, dnsName, rr, u16, u32 } from './testing.js';

const Q = [...dnsName('ktrail.test'), ...u16(1), ...u16(1)];
/** A pointer to the question's name (offset 12). */
const PTR = [0xc0, 0x0c];

describe('decodeDns', () => {
  it('decodes a query: header bits, counts, one question', () => {
    const d = decodeDns(Uint8Array.from([...dnsHeader(0x1234, 0x01, 0x00, 1, 0, 0, 0), ...Q]));
    assert.equal(d.ok, true);
    assert.ok(d.ok);
    assert.deepEqual(d.message, {
      id: 0x1234,
      qr: 0,
      opcode: 0,
      aa: 0,
      tc: 0,
      rd: 1,
      ra: 0,
      z: 0,
      rcode: 0,
      qdcount: 1,
      ancount: 0,
      nscount: 0,
      arcount: 0,
      questions: [{ name: 'ktrail.test', type: 1, class: 1 }],
      answers: [],
      authorities: [],
      additionals: [],
    });
  });

  it('decodes every record type it knows, compressed names, and the extended response code of OPT', () => {
    const msg = [
      ...dnsHeader(7, 0x85, 0x83, 1, 6, 1, 1), // QR, AA, RD / RA, NXDOMAIN
      ...Q,
      ...rr(PTR, 5, 1, 60, dnsName('www.ktrail.test')), // CNAME
      ...rr(PTR, 1, 1, 300, [10, 1, 2, 3]), // A
      ...rr(PTR, 28, 1, 301, [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1]), // AAAA
      ...rr(PTR, 15, 1, 302, [...u16(10), ...dnsName('mail')]), // MX mail
      ...rr(PTR, 16, 1, 303, [5, ...ascii('hello'), 2, ...ascii('hi')]), // TXT
      ...rr(PTR, 33, 1, 304, [...u16(1), ...u16(2), ...u16(443), ...PTR]), // SRV -> ktrail.test
      ...rr(PTR, 6, 1, 305, [
        ...dnsName('ns'),
        ...dnsName('admin'),
        ...u32(9),
        ...u32(8),
        ...u32(7),
        ...u32(6),
        ...u32(5),
      ]),
      ...rr([0], 41, 1232, 0x01000000, [...u16(10), ...u16(2), ...ascii('ab')]), // OPT: ext rcode 1 -> 16|3
    ];
    const d = decodeDns(Uint8Array.from(msg));
    assert.ok(d.ok);
    const m = d.message;
    assert.deepEqual([m.qr, m.opcode, m.aa, m.tc, m.rd, m.ra, m.z, m.rcode], [1, 0, 1, 0, 1, 1, 0, 19]);
    assert.deepEqual(
      m.answers.map((r) => [r.name, dnsTypeName(r.type), r.ttl, r.ip, r.cname, r.mx, r.txts, r.txt, r.srv]),
      [
        [
          'ktrail.test',
          'CNAME',
          60,
          '',
          'www.ktrail.test',
          { preference: 0, name: '' },
          [],
          '',
          { priority: 0, weight: 0, port: 0, name: '' },
        ],
        [
          'ktrail.test',
          'A',
          300,
          '10.1.2.3',
          '',
          { preference: 0, name: '' },
          [],
          '',
          { priority: 0, weight: 0, port: 0, name: '' },
        ],
        [
          'ktrail.test',
          'AAAA',
          301,
          '2001:db8::1',
          '',
          { preference: 0, name: '' },
          [],
          '',
          { priority: 0, weight: 0, port: 0, name: '' },
        ],
        [
          'ktrail.test',
          'MX',
          302,
          '',
          '',
          { preference: 10, name: 'mail' },
          [],
          '',
          { priority: 0, weight: 0, port: 0, name: '' },
        ],
        [
          'ktrail.test',
          'TXT',
          303,
          '',
          '',
          { preference: 0, name: '' },
          ['hello', 'hi'],
          '\u0005hello\u0002hi',
          { priority: 0, weight: 0, port: 0, name: '' },
        ],
        [
          'ktrail.test',
          'SRV',
          304,
          '',
          '',
          { preference: 0, name: '' },
          [],
          '',
          { priority: 1, weight: 2, port: 443, name: 'ktrail.test' },
        ],
      ],
    );
    assert.deepEqual(m.authorities[0]!.soa, {
      mname: 'ns',
      rname: 'admin',
      serial: 9,
      refresh: 8,
      retry: 7,
      expire: 6,
      minimum: 5,
    });
    assert.deepEqual(m.additionals[0]!.opt, [{ code: 10, data: 'ab' }]);
    assert.equal(m.additionals[0]!.name, '');
    // The OPT TTL's top byte extends RCODE: (1 << 4) | 3 = 19.
    assert.equal(dnsRcodeName(m.rcode), 'Bad TKEY Mode');
    assert.equal(dnsRcodeName(24), 'Unknown');
    assert.equal(dnsRcodeName(3), 'Non-Existent Domain');
    assert.equal(dnsRcodeName(2), 'Server Failure ');
  });

  it('says a message cut in its answers is short and keeps what it read', () => {
    const full = [
      ...dnsHeader(9, 0x81, 0x80, 1, 2, 0, 0),
      ...Q,
      ...rr(PTR, 1, 1, 300, [10, 1, 2, 3]),
      ...rr(PTR, 1, 1, 300, [10, 1, 2, 4]),
    ];
    const d = decodeDns(Uint8Array.from(full.slice(0, full.length - 3)));
    assert.equal(d.ok, false);
    assert.ok(!d.ok && d.short);
    assert.deepEqual(
      d.message?.answers.map((r) => r.ip),
      ['10.1.2.3'],
    );
    assert.deepEqual(decodeDns(Uint8Array.from([1, 2, 3])), { ok: false, short: true, message: undefined });
  });

  it('refuses pointer loops and label types it does not know', () => {
    const loop = [...dnsHeader(1, 0, 0, 1, 0, 0, 0), 0xc0, 12, 0, 1, 0, 1];
    assert.deepEqual(decodeDns(Uint8Array.from(loop)), {
      ok: false,
      short: false,
      error: 'too many compression pointers',
    });
    const ext = [...dnsHeader(1, 0, 0, 1, 0, 0, 0), 0x40, 1, 0, 0, 1, 0, 1];
    assert.deepEqual(decodeDns(Uint8Array.from(ext)), { ok: false, short: false, error: 'label type 0x40' });
  });
});
