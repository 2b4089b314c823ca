import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ipText, parsePacket } from './packet.js';
import { ipv4, LOOP4, udp } from './testing.js';

describe('parsePacket', () => {
  it("writes addresses as Go's net.IP does", () => {
    const v6 = (groups: number[]) => Uint8Array.from(groups.flatMap((g) => [g >> 8, g & 0xff]));
    assert.equal(ipText(v6([0, 0, 0, 0, 0, 0, 0, 1])), '::1');
    assert.equal(ipText(v6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1])), '2001:db8::1:0:0:1');
    assert.equal(ipText(v6([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1])), '2001:db8:0:1:1:1:1:1');
    assert.equal(ipText(v6([0, 0, 0, 0, 0, 0xffff, 0x7f00, 1])), '127.0.0.1');
    assert.equal(ipText(Uint8Array.from([10, 0, 0, 1])), '10.0.0.1');
    assert.equal(ipText(Uint8Array.from([1, 2, 3])), '?010203');
  });

  it('stops at the IP header for a later fragment, and says when the capture was shorter', () => {
    const frag = ipv4(17, LOOP4, LOOP4, udp(1, 2, []));
    frag[6] = 0x00;
    frag[7] = 0x10; // fragment offset 16
    const p = parsePacket(frag);
    assert.deepEqual([p?.ip.version, p?.l4, p?.cut], [4, undefined, false]);
    const cut = parsePacket(ipv4(17, LOOP4, LOOP4, udp(1000, 53, [1, 2, 3]), 100));
    assert.equal(cut?.cut, true);
    assert.deepEqual(cut?.l4, { kind: 'udp', srcPort: 1000, dstPort: 53, length: 11, checksum: 0xfe33 });
    assert.deepEqual([...(cut?.payload ?? [])], [1, 2, 3]);
  });

  it('refuses what is not an IPv4 or IPv6 header', () => {
    assert.equal(parsePacket(Uint8Array.from([0x45, 0, 0])), undefined);
    assert.equal(parsePacket(Uint8Array.from([0x70, ...new Array(40).fill(0)])), undefined);
    const badIhl = ipv4(17, LOOP4, LOOP4, []);
    badIhl[0] = 0x44;
    assert.equal(parsePacket(badIhl), undefined);
  });
});
