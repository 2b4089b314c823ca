import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blob_hdr_t, event_hdr_t as HDR } from '../abi/abi.gen.js';
import type { EventSpec, TraceeType } from '../catalog/types.js';
import { Decoder, narrowRegister } from './decode.js';
import { batch } from './testing.js';

const TYPES: TraceeType[] = ['int32', 'uint32', 'int64', 'uint64', 'bool', 'uint16'];

const regs: EventSpec = {
  id: 900,
  name: 'regs',
  version: '1.0.0',
  kind: 'syscall',
  description: '',
  sets: [],
  probes: [],
  fields: [
    ...TYPES.map((type, i) => ({
      name: `a${i}`,
      cType: 'long',
      type,
      decode: { wire: 'reg' as const },
      tags: [],
    })),
    { name: 'p', cType: 'const char *', type: 'string', decode: { wire: 'str', max: 64 }, tags: [] },
    { name: 'returnValue', cType: 'long', type: 'int64', decode: { wire: 'reg' }, tags: [] },
  ],
  syscall: { nr: 900, compatNrs: [], emit: 'exit' },
};

function record(o: {
  tid: number;
  comm: string;
  path: string;
  args: bigint[];
  ret: bigint;
  start: bigint;
}): Uint8Array {
  const body = new TextEncoder().encode(o.path);
  const size = HDR.SIZE + blob_hdr_t.SIZE + body.length;
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(HDR.ts, 7n, true);
  dv.setBigUint64(HDR.start_time, o.start, true);
  dv.setBigUint64(HDR.leader_start_time, o.start, true);
  dv.setBigUint64(HDR.cgroup_id, 2n ** 63n + 5n, true);
  dv.setBigUint64(HDR.matched, 300n, true);
  dv.setBigUint64(HDR.retval, o.ret, true);
  for (const [i, a] of o.args.entries()) dv.setBigUint64(HDR.args + i * 8, a, true);
  dv.setUint32(HDR.event_id, 900, true);
  dv.setUint32(HDR.syscall_nr, 900, true);
  dv.setUint32(HDR.host_tid, o.tid, true);
  dv.setUint32(HDR.size, size, true);
  b.set(new TextEncoder().encode(o.comm), HDR.comm);
  b.set(new TextEncoder().encode('host'), HDR.uts);
  dv.setUint16(HDR.SIZE, body.length, true);
  dv.setUint8(HDR.SIZE + 3, 2);
  b.set(body, HDR.SIZE + blob_hdr_t.SIZE);
  return b;
}

const decoder = () => new Decoder({ eventById: (id) => (id === 900 ? regs : undefined), bootToEpochNs: 10n });

test('registers narrow exactly as narrowRegister, at the number/bigint edges', () => {
  const edges = [
    0n,
    1n,
    0x7fffffffn,
    0x80000000n,
    0xffffffffn,
    0x1fffffffffffffn, // 2^53 - 1
    0x20000000000000n, // 2^53
    0xffe0000000000001n, // -(2^53 - 1)
    0xffe0000000000000n, // -2^53
    0xffffffffffffffdan, // -38
    0xffffffffffffffffn,
    0x8000000000000000n,
  ];
  const d = decoder();
  for (const e of edges) {
    const ev = d.decodeRecord(
      record({ tid: 1, comm: 'c', path: '/p', args: TYPES.map(() => e), ret: e, start: 1n }),
    );
    assert.ok(ev);
    for (const [i, type] of TYPES.entries())
      assert.deepEqual(ev.args[i]?.value, narrowRegister(e, type), `${type} ${e}`);
    assert.deepEqual(ev.returnValue, narrowRegister(e, 'int64'));
  }
});

test('values a thread repeats are shared; changed words decode again; batch memory may be reused', () => {
  const d = decoder();
  const mk = (comm: string, path: string, start: bigint) =>
    record({ tid: 77, comm, path, args: [1n], ret: 0n, start });
  const buf = batch([mk('alpha', '/bin/a', 100n), mk('alpha', '/bin/a', 100n), mk('beta', '/bin/b', 200n)]);
  const [a, b, c] = d.decodeBatch(buf);
  assert.ok(a && b && c);
  assert.equal(a.processName, 'alpha');
  assert.equal(a.threadStartTime, 110n);
  assert.equal(a.cgroupId, 2n ** 63n + 5n);
  assert.equal(a.matched, 300n);
  assert.equal(a.args[6]?.value, '/bin/a');
  assert.equal(b.processName, 'alpha');
  assert.equal(c.processName, 'beta');
  assert.equal(c.threadStartTime, 210n);
  assert.equal(c.leaderStartTime, 210n);
  assert.equal(c.args[6]?.value, '/bin/b');
  // The ring reader reuses its memory: overwrite the batch, the cached strings must not follow it.
  buf.fill(0);
  const [again] = d.decodeBatch(batch([mk('alpha', '/bin/x', 100n)]));
  assert.equal(again?.processName, 'alpha');
  assert.equal(again?.args[6]?.value, '/bin/x');
  assert.equal(a.args[6]?.value, '/bin/a');
});
