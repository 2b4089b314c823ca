import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kt_ring_small, kt_setting_flag, kt_settings_t, kt_traced_t, syscall_cfg_t } from '../abi/abi.gen.js';
import { eventByName } from '../catalog/index.js';
import type { EventSpec } from '../catalog/types.js';
import { argSlot, encodeSettings, encodeSyscallConfig, encodeTraced, ringSmall } from './config.js';
import type { FeatureReport } from './features.js';
import { fastPathFlags } from './session.js';

const spec = (name: string): EventSpec => {
  const e = eventByName(name);
  assert.ok(e, name);
  return e;
};
const slots = (name: string) =>
  spec(name)
    .fields.filter((f) => f.name !== 'returnValue')
    .map((f) => argSlot(f.decode));

describe('records built in place in the ring (syscall_cfg_t.ring_small)', () => {
  const { KT_RS_NONE, KT_RS_HDR, KT_RS_ONE_ARG } = kt_ring_small;

  it('takes register-only calls and one bounded pointer argument', () => {
    assert.deepEqual(ringSmall(slots('setuid')), { mode: KT_RS_HDR, arg: 0 });
    assert.deepEqual(ringSmall(slots('delete_module')), { mode: KT_RS_ONE_ARG, arg: 0 });
    const b = encodeSyscallConfig(spec('delete_module'), 1n);
    assert.equal(b[syscall_cfg_t.ring_small], KT_RS_ONE_ARG);
    assert.equal(b[syscall_cfg_t.ring_arg], 0);
  });

  it('leaves paths, two pointers and unbounded strings to the scratch area', () => {
    assert.equal(ringSmall(slots('openat')).mode, KT_RS_NONE); // a 4096-byte path
    assert.equal(ringSmall(slots('execve')).mode, KT_RS_NONE); // string arrays
    const str = (max: number) => ({ kind: 2, lenArg: 0xff, max });
    const reg = { kind: 1, lenArg: 0xff, max: 0 };
    assert.equal(ringSmall([str(8), str(8)]).mode, KT_RS_NONE);
    assert.equal(ringSmall([str(0)]).mode, KT_RS_NONE);
    // The blob header (4 bytes) and the 2 bytes a string read may add must fit KT_RING_SMALL.
    const max = kt_ring_small.KT_RING_SMALL - 4 - 2;
    assert.deepEqual(ringSmall([reg, str(max)]), { mode: KT_RS_ONE_ARG, arg: 1 });
    assert.equal(ringSmall([reg, str(max + 1)]).mode, KT_RS_NONE);
    assert.equal(ringSmall([{ kind: 6, lenArg: 0xff, max: 16 }]).mode, KT_RS_ONE_ARG); // a struct
    assert.equal(ringSmall([{ kind: 4, lenArg: 2, max: 128 }]).mode, KT_RS_NONE); // sockaddr
  });
});

describe('the traced bitmaps', () => {
  it('lets the first test pass the i386 numbers of traced syscalls, and only those', () => {
    const b = encodeTraced([176], [129]);
    const word = (base: number, nr: number) =>
      (b.readBigUInt64LE(base + Math.floor(nr / 64) * 8) >> BigInt(nr % 64)) & 1n;
    assert.equal(word(kt_traced_t.bits, 176), 1n);
    assert.equal(word(kt_traced_t.bits, 129), 0n); // x86_64 129 (rt_sigqueueinfo) is not traced
    assert.equal(word(kt_traced_t.raw, 176), 1n);
    assert.equal(word(kt_traced_t.raw, 129), 1n);
    assert.throws(() => encodeTraced([1], [512]), /i386 syscalls: 512 is outside 0\.\.511/);
  });
});

describe('fast paths', () => {
  const F = kt_setting_flag;
  const all =
    F.KT_SET_TASK_STORAGE |
    F.KT_SET_DIRECT_TASK |
    F.KT_SET_WAKE_CROSSING |
    F.KT_SET_RING_RESERVE |
    F.KT_SET_STR_ONCE;
  const features = (over: Partial<FeatureReport> = {}): FeatureReport => ({
    root: true,
    btf: true,
    ringbuf: true,
    rawTracepoint: true,
    tpBtf: true,
    taskStorage: true,
    fentry: false,
    kprobes: false,
    tracefs: true,
    reasons: {},
    ...over,
  });

  it('are all on where the kernel has what they need, and each can be turned off', () => {
    assert.equal(fastPathFlags(features()), all);
    assert.equal(fastPathFlags(features({ taskStorage: false })), all & ~F.KT_SET_TASK_STORAGE);
    assert.equal(fastPathFlags(features({ tpBtf: false })), all & ~F.KT_SET_DIRECT_TASK);
    assert.equal(fastPathFlags(features(), { ringReserve: false }), all & ~F.KT_SET_RING_RESERVE);
    assert.equal(fastPathFlags(features(), { wakeOnCrossing: false }), all & ~F.KT_SET_WAKE_CROSSING);
    assert.equal(fastPathFlags(features(), { strOnce: false }), all & ~F.KT_SET_STR_ONCE);
    assert.equal(fastPathFlags(features(), { taskStorage: false, directTask: false }), all & ~3);
  });

  it('travel in the settings', () => {
    const s = encodeSettings({ selfTgid: 1, wakeupFill: 4096, startNs: 0n, flags: all });
    assert.equal(s.readUInt32LE(kt_settings_t.flags), all);
    assert.equal(
      encodeSettings({ selfTgid: 1, wakeupFill: 4096, startNs: 0n }).readUInt32LE(kt_settings_t.flags),
      0,
    );
  });
});
