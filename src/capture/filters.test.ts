import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { filter_t, scope_t } from '../abi/abi.gen.js';
import { eventByName } from '../catalog/index.js';
import type { EventSpec } from '../catalog/types.js';
import { policyFromFlags } from '../policy/cli-policy.js';
import { compilePolicies, type KernelScope } from '../policy/compile.js';
import { testCatalog } from '../policy/testing.js';
import {
  encodeEventFilter,
  encodeFilterKey,
  encodeKernelPlan,
  encodeScope,
  encodeScopeNsKey,
  lateScope,
  ScopeFlag,
} from './filters.js';

function spec(name: string): EventSpec {
  const e = eventByName(name);
  if (e === undefined) throw new Error(`catalog lacks ${name}`);
  return e;
}

const u64 = (v: bigint): number[] => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return [...b];
};
const name16 = (s: string): number[] => [...Buffer.concat([Buffer.from(s), Buffer.alloc(16 - s.length)])];

const scope: KernelScope = {
  policy: 3,
  uid: { min: 1000n, max: 1999n },
  pid: null,
  comm: ['rmmod', 'modprobe'],
  mntns: [4026531841n],
  pidns: null,
  newPid: false,
  follow: true,
};

describe('encodeScope', () => {
  it('encodes a uid range, a comm set, a mntns set and follow byte for byte', () => {
    const e = encodeScope(scope);
    const flags = ScopeFlag.uid | ScopeFlag.comm | ScopeFlag.mntns | ScopeFlag.follow;
    assert.equal(e.flags, 0x4d);
    assert.equal(e.value.length, scope_t.SIZE);
    const expected = [
      ...u64(1000n), // uid_min
      ...u64(1999n), // uid_max
      ...u64(0n), // pid_min
      ...u64(0n), // pid_max
      ...name16('rmmod'),
      ...name16('modprobe'),
      ...Array(6 * 16).fill(0), // comm[2..8)
      flags,
      0,
      0,
      0, // flags
      2,
      0,
      0,
      0, // ncomm
    ];
    assert.deepEqual([...e.value], expected);
    assert.deepEqual(e.ns, [
      Buffer.from([3, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00, 0xf0, 0, 0, 0, 0]), // {policy 3, mnt, 4026531841}
    ]);
  });

  it('marks an empty range as never matching and leaves unsafe comm names to userspace', () => {
    const e = encodeScope({
      ...scope,
      uid: { min: 0n, max: -1n },
      comm: ['a\ufffd'],
      mntns: null,
      follow: false,
    });
    assert.equal(e.flags, ScopeFlag.never);
    assert.deepEqual(e.ns, []);
    const long = encodeScope({ ...scope, comm: ['exactly16bytes!!'], mntns: null });
    assert.equal(long.flags, ScopeFlag.uid | ScopeFlag.follow);
  });

  it('leaves a namespace set that does not fit the map to userspace', () => {
    const e = encodeScope({ ...scope, mntns: [1n, 2n] }, 1);
    assert.equal(e.flags & ScopeFlag.mntns, 0);
    assert.deepEqual(e.ns, []);
  });
});

describe('encodeEventFilter', () => {
  it('encodes a delete_module name prefix, a flags compare and a retval compare byte for byte', () => {
    const dm = spec('delete_module');
    const b = encodeEventFilter(dm, {
      policy: 0,
      strings: [{ arg: 0, kind: 'prefix', value: 'keep' }],
      compares: [
        { target: 1, type: 'int32', op: '=', value: 0xa00n },
        { target: 'retval', type: 'int64', op: '<', value: 0n },
      ],
    });
    assert.ok(b !== undefined);
    assert.equal(b.length, filter_t.SIZE);
    const expected = [
      0x1 | 0x2 | 0x8, // flags: string, compare 0, compare 2 (retval)
      0, // str_arg: name
      1, // str_kind: prefix
      4, // str_len
      0,
      0,
      0,
      0, // pad
      ...Buffer.from('keep'),
      ...Array(60).fill(0), // str[4..64)
      ...u64(0xa00n),
      1, // target: flags register
      3, // type: int32
      0, // op: =
      0,
      0,
      0,
      0,
      0, // cmp[0]
      ...Array(16).fill(0), // cmp[1] unused
      ...u64(0n),
      0xff, // target: retval
      1, // type: int64
      2, // op: <
      0,
      0,
      0,
      0,
      0, // cmp[2]
    ];
    assert.deepEqual([...b], expected);
    assert.deepEqual(encodeFilterKey(176, 2), Buffer.from([176, 0, 0, 0, 2, 0, 0, 0]));
  });

  it('turns compares the register cannot reach into constants', () => {
    const dm = spec('delete_module');
    // flags is int32: `!= 2^70` always holds (dropped), `> 2^70` never does.
    const always = encodeEventFilter(dm, {
      policy: 0,
      strings: [],
      compares: [{ target: 1, type: 'int32', op: '!=', value: 1n << 70n }],
    });
    assert.equal(always, undefined);
    const never = encodeEventFilter(dm, {
      policy: 0,
      strings: [],
      compares: [{ target: 1, type: 'int32', op: '>', value: 1n << 70n }],
    });
    assert.deepEqual([never?.[0], never?.[72 + 10]], [0x2, 6]);
  });

  it('leaves string matches the kernel cannot run exactly to userspace', () => {
    const dm = spec('delete_module');
    const f = (value: string, arg = 0) =>
      encodeEventFilter(dm, { policy: 0, strings: [{ arg, kind: 'exact', value }], compares: [] });
    assert.equal(f('x'.repeat(65)), undefined);
    assert.equal(f('bad\ufffd'), undefined);
    assert.equal(f('keep', 1), undefined); // flags is a register, not a string
    assert.equal(f('x'.repeat(64))?.[3], 64);
  });
});

describe('encodeKernelPlan', () => {
  it('encodes a compiled plan: scoped and follow masks, scopes, filters per event', () => {
    const p = policyFromFlags(
      {
        events: ['delete_module.data.name=keep*', 'delete_module.retval<0'],
        scope: ['comm=rmmod', 'follow'],
      },
      testCatalog,
    );
    const c = compilePolicies([p.policy]);
    const dm = spec('delete_module');
    const enc = encodeKernelPlan(c.kernel, [dm]);
    assert.equal(enc.scoped, 1n);
    assert.equal(enc.follow, 1n);
    assert.equal(enc.comm, true);
    assert.equal(enc.scopes.length, 1);
    assert.deepEqual(enc.scopes[0]?.key, Buffer.from([0, 0, 0, 0]));
    assert.equal(enc.scopes[0]?.value.readUInt32LE(scope_t.flags), ScopeFlag.comm | ScopeFlag.follow);
    assert.deepEqual([...enc.filtered], [[176, 1n]]);
    assert.equal(enc.filters.length, 1);
    const v = enc.filters[0]?.value;
    assert.deepEqual([v?.[0], v?.[2], v?.[3], v?.subarray(8, 12).toString()], [0x9, 1, 4, 'keep']);
    // Events kept scope-only (detection rules) get no filters.
    assert.equal(encodeKernelPlan(c.kernel, [dm], () => false).filters.length, 0);
  });

  it('leaves global policies out of the scoped mask', () => {
    const p = policyFromFlags({ events: ['delete_module'], scope: [] }, testCatalog);
    const enc = encodeKernelPlan(compilePolicies([p.policy]).kernel, [spec('delete_module')]);
    assert.deepEqual([enc.scoped, enc.follow, enc.scopes.length, enc.filters.length], [0n, 0n, 0, 0]);
  });

  it('scopes at exit the syscalls that change comm, euid or mount namespace', () => {
    assert.equal(lateScope(spec('execve'), false), true);
    assert.equal(lateScope(spec('delete_module'), true), false);
    assert.equal(lateScope(spec('write'), false), false);
    assert.equal(lateScope(spec('write'), true), true);
    assert.deepEqual(
      encodeScopeNsKey(1, 1, 7n),
      Buffer.from([1, 0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0]),
    );
  });
});
