import assert from 'node:assert/strict';
import { test } from 'node:test';
import { arg_kind, blob_hdr_t, event_hdr_t as HDR, kt_hdr_flag } from '../abi/abi.gen.js';
import { eventByName } from '../catalog/index.js';
import type { EventSpec } from '../catalog/types.js';
import { cleanPath, Decoder, decodeSockaddr, decodeStringList, narrowRegister } from './decode.js';

// The catalog's own definition: these tests encode and decode what the tracer really uses.
const deleteModule: EventSpec = eventByName('delete_module')!;

/** Builds a record the way bpf/ktrail.bpf.c lays it out. */
function record(name: Uint8Array | null, status = 0): Uint8Array {
  const body = name ?? new Uint8Array(0);
  const size = HDR.SIZE + blob_hdr_t.SIZE + body.length;
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(HDR.ts, 5_000_000_000n, true);
  dv.setBigUint64(HDR.seq, 42n, true);
  dv.setBigUint64(HDR.duration_ns, 2140n, true);
  dv.setBigUint64(HDR.start_time, 4_000_000_000n, true);
  dv.setBigUint64(HDR.cgroup_id, 8412n, true);
  dv.setBigUint64(HDR.matched, 1n, true);
  dv.setBigInt64(HDR.retval, -38n, true);
  dv.setBigUint64(HDR.args, 0x7ffd0000n, true);
  dv.setBigUint64(HDR.args + 8, 0xa00n, true);
  dv.setUint32(HDR.event_id, 176, true);
  dv.setUint32(HDR.syscall_nr, 176, true);
  dv.setUint32(HDR.cpu, 1, true);
  for (const [off, v] of [
    [HDR.host_pid, 4242],
    [HDR.host_tid, 4243],
    [HDR.host_ppid, 4100],
    [HDR.pid, 42],
    [HDR.tid, 43],
    [HDR.ppid, 1],
    [HDR.uid, 0],
    [HDR.gid, 0],
    [HDR.mnt_ns, 4026531841],
    [HDR.pid_ns, 4026531836],
    [HDR.size, size],
  ] as const) {
    dv.setUint32(off, v, true);
  }
  b.set(new TextEncoder().encode('rmmod'), HDR.comm);
  b.set(new TextEncoder().encode('node-1'), HDR.uts);
  dv.setUint16(HDR.SIZE, body.length, true);
  dv.setUint8(HDR.SIZE + 2, status);
  dv.setUint8(HDR.SIZE + 3, 2);
  b.set(body, HDR.SIZE + blob_hdr_t.SIZE);
  return b;
}

const decoder = () =>
  new Decoder({
    eventById: (id) => (id === 176 ? deleteModule : undefined),
    bootToEpochNs: 1_700_000_000_000_000_000n,
  });

test('a delete_module record decodes to exact values', () => {
  const ev = decoder().decodeRecord(record(new TextEncoder().encode('foo')));
  assert.ok(ev);
  assert.equal(ev.timestamp, 1_700_000_005_000_000_000n);
  assert.equal(ev.threadStartTime, 1_700_000_004_000_000_000n);
  assert.equal(ev.seq, 42n);
  assert.equal(ev.durationNs, 2140n);
  assert.equal(ev.returnValue, -38);
  assert.equal(ev.processName, 'rmmod');
  assert.equal(ev.hostName, 'node-1');
  assert.equal(ev.hostProcessId, 4242);
  assert.equal(ev.hostThreadId, 4243);
  assert.equal(ev.processId, 42);
  assert.equal(ev.threadId, 43);
  assert.equal(ev.syscall, 'delete_module');
  assert.equal(ev.cgroupId, 8412n);
  assert.equal(ev.mountNamespace, 4026531841);
  assert.deepEqual(ev.args, [
    { name: 'name', type: 'string', value: 'foo' },
    { name: 'flags', type: 'int32', value: 2560 },
  ]);
});

test('a NULL name pointer decodes as an empty value marked null', () => {
  const ev = decoder().decodeRecord(record(null, 1));
  assert.deepEqual(ev?.args[0], { name: 'name', type: 'string', value: '', problem: 'null' });
});

test('batches of length-prefixed records; bad records are counted, not thrown', () => {
  const a = record(new TextEncoder().encode('a'));
  const bad = record(new TextEncoder().encode('b')).subarray(0, 100);
  const batch = new Uint8Array(4 + a.length + 4 + bad.length + 4 + a.length);
  const dv = new DataView(batch.buffer);
  let off = 0;
  for (const r of [a, bad, a]) {
    dv.setUint32(off, r.length, true);
    batch.set(r, off + 4);
    off += 4 + r.length;
  }
  const d = decoder();
  const out = d.decodeBatch(batch);
  assert.equal(out.length, 2);
  assert.equal(d.errors.short_record, 1);
});

test('register narrowing follows the field type', () => {
  assert.equal(narrowRegister(0xffffffffffffffdan, 'int64'), -38);
  assert.equal(narrowRegister(0xffffffffn, 'int32'), -1);
  assert.equal(narrowRegister(0x1ffffffffn, 'uint32'), 0xffffffff);
  assert.equal(narrowRegister(0xffffffffffffffffn, 'trace.Pointer'), 0xffffffffffffffffn);
});

test('socket addresses decode as Tracee prints them', () => {
  const in4 = new Uint8Array([2, 0, 0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(decodeSockaddr(in4), { sa_family: 'AF_INET', sin_port: '8080', sin_addr: '127.0.0.1' });
  const un = new Uint8Array([1, 0, ...new TextEncoder().encode('/run/x.sock'), 0, 0]);
  assert.deepEqual(decodeSockaddr(un), { sa_family: 'AF_UNIX', sun_path: '/run/x.sock' });
  const in6 = new Uint8Array(28);
  in6.set([10, 0, 0, 80], 0);
  in6[23] = 1;
  assert.deepEqual(decodeSockaddr(in6), {
    sa_family: 'AF_INET6',
    sin6_port: '80',
    sin6_flowinfo: '0',
    sin6_addr: '::1',
    sin6_scopeid: '0',
  });
});

/** The catalog's sched_process_exit and a three-field exec-like spec (one of each lifecycle blob kind). */
const exitSpec: EventSpec = {
  id: 716,
  name: 'sched_process_exit',
  version: '1.0.0',
  kind: 'lifecycle',
  description: '',
  sets: ['proc', 'proc_life'],
  fields: [
    { name: 'exit_code', cType: 'int', type: 'int32', decode: { wire: 'reg' }, tags: ['K'] },
    { name: 'signal_code', cType: 'int', type: 'int32', decode: { wire: 'reg' }, tags: ['K'] },
    { name: 'process_group_exit', cType: 'bool', type: 'bool', decode: { wire: 'reg' }, tags: ['K'] },
  ],
  probes: [],
};
const execLike: EventSpec = {
  ...exitSpec,
  id: 715,
  name: 'sched_process_exec',
  fields: [
    {
      name: 'pathname',
      cType: 'const char *',
      type: 'string',
      decode: { wire: 'str', max: 4096 },
      tags: ['K'],
    },
    { name: 'start', cType: 'u64', type: 'time.Time', decode: { wire: 'reg' }, tags: ['K'] },
    {
      name: 'argv',
      cType: 'const char **',
      type: '[]string',
      decode: { wire: 'str_arr', max: 4096 },
      tags: ['U'],
    },
  ],
};

/** A lifecycle record: header (no args[]) then one blob per field: [kind, status, bytes]. */
function lifecycleRecord(eventId: number, flags: number, blobs: [number, number, Uint8Array][]): Uint8Array {
  const payload = blobs.reduce((n, [, , b]) => n + blob_hdr_t.SIZE + b.length, 0);
  const base = record(null);
  const b = new Uint8Array(HDR.SIZE + payload);
  b.set(base.subarray(0, HDR.SIZE));
  const dv = new DataView(b.buffer);
  dv.setUint32(HDR.event_id, eventId, true);
  dv.setUint32(HDR.flags, flags, true);
  dv.setUint32(HDR.size, b.length, true);
  dv.setBigUint64(HDR.args, 0n, true);
  dv.setBigUint64(HDR.args + 8, 0n, true);
  dv.setBigUint64(HDR.leader_start_time, 3_000_000_000n, true);
  dv.setBigUint64(HDR.parent_start_time, 1_000_000_000n, true);
  let off = HDR.SIZE;
  for (const [kind, status, body] of blobs) {
    dv.setUint16(off, body.length, true);
    dv.setUint8(off + 2, status);
    dv.setUint8(off + 3, kind);
    b.set(body, off + blob_hdr_t.SIZE);
    off += blob_hdr_t.SIZE + body.length;
  }
  return b;
}

function u64(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
  return b;
}

const lcDecoder = () =>
  new Decoder({
    eventById: (id) =>
      id === 716 ? exitSpec : id === 715 ? execLike : id === 176 ? deleteModule : undefined,
    bootToEpochNs: 1_700_000_000_000_000_000n,
  });

test('a lifecycle record carries every field as a blob; integers are 8-byte REG blobs', () => {
  const rec = lifecycleRecord(716, 0, [
    [arg_kind.ARG_REG, 0, u64(3n)],
    [arg_kind.ARG_REG, 0, u64(0n)],
    [arg_kind.ARG_REG, 0, u64(1n)],
  ]);
  const ev = lcDecoder().decodeRecord(rec);
  assert.ok(ev);
  assert.deepEqual(
    ev.args.map((a) => [a.name, a.value]),
    [
      ['exit_code', 3],
      ['signal_code', 0],
      ['process_group_exit', true],
    ],
  );
  assert.equal(ev.internal, undefined);
  assert.equal(ev.durationNs, undefined);
  assert.equal(ev.leaderStartTime, 1_700_000_003_000_000_000n);
  assert.equal(ev.parentStartTime, 1_700_000_001_000_000_000n);
});

test('lifecycle strings, boot-clock times and NUL-separated argv; KT_F_INTERNAL marks internal records', () => {
  const enc = new TextEncoder();
  const rec = lifecycleRecord(715, kt_hdr_flag.KT_F_INTERNAL, [
    [arg_kind.ARG_STR, 0, enc.encode('/usr/bin/kmod')],
    [arg_kind.ARG_REG, 0, u64(4_000_000_000n)],
    [arg_kind.ARG_STR_LIST, 3, enc.encode('rmmod\0-f\0x\0ab')],
  ]);
  const ev = lcDecoder().decodeRecord(rec);
  assert.ok(ev);
  assert.equal(ev.internal, true);
  assert.deepEqual(
    ev.args.map((a) => [a.name, a.value, a.problem]),
    [
      ['pathname', '/usr/bin/kmod', undefined],
      ['start', 1_700_000_004_000_000_000n, undefined],
      ['argv', ['rmmod', '-f', 'x', 'ab'], 'truncated'],
    ],
  );
});

test('a lifecycle record missing a blob is counted as bad_blob', () => {
  const d = lcDecoder();
  const rec = lifecycleRecord(716, 0, [[arg_kind.ARG_REG, 0, u64(3n)]]);
  assert.equal(d.decodeRecord(rec), undefined);
  assert.equal(d.errors.bad_blob, 1);
});

test('decodeStringList splits on NUL and keeps a cut last string', () => {
  const enc = new TextEncoder();
  assert.deepEqual(decodeStringList(enc.encode('a\0\0b\0')), ['a', '', 'b']);
  assert.deepEqual(decodeStringList(enc.encode('abc')), ['abc']);
  assert.deepEqual(decodeStringList(new Uint8Array(0)), []);
});

test('cleanPath removes ., .. and doubled slashes lexically, never above the root', () => {
  assert.equal(cleanPath('/etc/cron.d/../sudoers'), '/etc/sudoers');
  assert.equal(cleanPath('/work//./a/b/../../c'), '/work/c');
  assert.equal(cleanPath('/../../etc/shadow'), '/etc/shadow');
  assert.equal(cleanPath('/'), '/');
  assert.equal(cleanPath('/tmp/x/'), '/tmp/x');
});
