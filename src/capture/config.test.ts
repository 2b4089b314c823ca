import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  kevent_cfg_t,
  kt_kevent,
  kt_settings_t,
  kt_traced_t,
  lifecycle_cfg_t,
  syscall_cfg_t,
} from '../abi/abi.gen.js';
import { eventByName } from '../catalog/index.js';
import type { EventSpec } from '../catalog/types.js';
import {
  argSlot,
  encodeCompatNr,
  encodeLifecycleConfig,
  encodeSettings,
  encodeSyscallConfig,
  encodeTraced,
  sumStats,
} from './config.js';

// The catalog's own definition: these tests encode and decode what the tracer really uses.
const deleteModule: EventSpec = eventByName('delete_module')!;

/** A syscall_cfg_t read back field by field with the generated offsets. */
function readSyscallConfig(b: Buffer) {
  const o = syscall_cfg_t;
  return {
    selected: b.readBigUInt64LE(o.selected),
    filtered: b.readBigUInt64LE(o.filtered),
    scoped: b.readBigUInt64LE(o.scoped),
    follow: b.readBigUInt64LE(o.follow),
    eventId: b.readUInt32LE(o.event_id),
    emit: b[o.emit],
    nargs: b[o.nargs],
    kind: [...b.subarray(o.kind, o.kind + 6)],
    lenArg: [...b.subarray(o.len_arg, o.len_arg + 6)],
    max: [0, 1, 2, 3, 4, 5].map((i) => b.readUInt16LE(o.max + 2 * i)),
    lateScope: b[o.late_scope],
  };
}

describe('encodeSyscallConfig', () => {
  it('encodes delete_module: every field at its generated offset, nothing else set', () => {
    const b = encodeSyscallConfig(deleteModule, 1n);
    assert.equal(b.length, syscall_cfg_t.SIZE);
    assert.deepEqual(readSyscallConfig(b), {
      selected: 1n,
      filtered: 0n,
      scoped: 0n,
      follow: 0n,
      eventId: 176,
      emit: 0, // EMIT_EXIT
      nargs: 2,
      kind: [2, 1, 0, 0, 0, 0], // STR, REG, NONE...
      lenArg: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
      max: [64, 0, 0, 0, 0, 0],
      lateScope: 0,
    });
    // The padding stays zero: the bytes above are all there is.
    const o = syscall_cfg_t;
    assert.deepEqual([...b.subarray(o.pad, o.SIZE)], new Array(o.SIZE - o.pad).fill(0));
  });

  it('writes the policy fields: late scope, filtered, scoped and follow policies', () => {
    const b = encodeSyscallConfig(deleteModule, 3n, {
      filtered: 0x8000000000000002n,
      lateScope: true,
      scoped: 5n,
      follow: 4n,
    });
    const r = readSyscallConfig(b);
    assert.equal(r.selected, 3n);
    assert.equal(r.lateScope, 1);
    assert.equal(r.filtered, 0x8000000000000002n);
    assert.equal(r.scoped, 5n);
    assert.equal(r.follow, 4n);
  });

  it('writes the policy bitmap and the emit mode', () => {
    const execve: EventSpec = {
      ...deleteModule,
      id: 59,
      name: 'execve',
      fields: [
        {
          name: 'pathname',
          cType: 'const char *',
          type: 'string',
          decode: { wire: 'str', max: 4096 },
          tags: [],
        },
        {
          name: 'argv',
          cType: 'const char *const *',
          type: '[]string',
          decode: { wire: 'str_arr', max: 2048 },
          tags: [],
        },
        { name: 'returnValue', cType: 'long', type: 'int64', decode: { wire: 'reg' }, tags: [] },
      ],
      syscall: { nr: 59, compatNrs: [11], emit: 'entry_exit' },
    };
    const r = readSyscallConfig(encodeSyscallConfig(execve, 0x8000000000000001n));
    assert.equal(r.selected, 0x8000000000000001n);
    assert.equal(r.eventId, 59);
    assert.equal(r.emit, 1);
    assert.deepEqual(r.kind, [2, 3, 0, 0, 0, 0]);
    assert.deepEqual(r.max.slice(0, 2), [4096, 2048]);
  });

  it('refuses a non-syscall event and out-of-range bounds', () => {
    const { syscall: _, ...noSyscall } = deleteModule;
    assert.throws(() => encodeSyscallConfig(noSyscall, 1n), /not a syscall event/);
    assert.throws(() => argSlot({ wire: 'str', max: 5000 }), /bound 5000 is outside 1\.\.4096/);
    assert.throws(() => argSlot({ wire: 'buf', lenArg: 6, max: 10 }), /index 6 is outside 0\.\.5/);
  });
});

describe('argSlot', () => {
  it('maps every wire kind', () => {
    assert.deepEqual(argSlot({ wire: 'sockaddr', lenArg: 2 }), { kind: 4, lenArg: 2, max: 128 });
    assert.deepEqual(argSlot({ wire: 'sockaddr' }), { kind: 4, lenArg: 0xff, max: 128 });
    assert.deepEqual(argSlot({ wire: 'buf', lenArg: 2, max: 256 }), { kind: 5, lenArg: 2, max: 256 });
    assert.deepEqual(argSlot({ wire: 'struct', size: 16, layout: 'timespec' }), {
      kind: 6,
      lenArg: 0xff,
      max: 16,
    });
    assert.deepEqual(argSlot({ wire: 'int_ptr', count: 2 }), { kind: 7, lenArg: 0xff, max: 8 });
  });
});

describe('run configuration', () => {
  it('encodes compat numbers as nr + 1 and the settings', () => {
    assert.deepEqual(encodeCompatNr(176), Buffer.from([177, 0, 0, 0]));
    const s = encodeSettings({ selfTgid: 4242, wakeupFill: 1 << 20, startNs: 123456789n });
    const o = kt_settings_t;
    assert.equal(s.length, o.SIZE);
    assert.equal(s.readUInt32LE(o.self_tgid), 4242);
    assert.equal(s.readBigUInt64LE(o.wakeup_fill), 1n << 20n);
    assert.equal(s.readBigUInt64LE(o.start_ns), 123456789n);
  });

  it('encodes a lifecycle configuration', () => {
    const b = encodeLifecycleConfig(715, 6n, true, { scoped: 2n, follow: 2n });
    const o = lifecycle_cfg_t;
    assert.equal(b.length, o.SIZE);
    assert.equal(b.readBigUInt64LE(o.selected), 6n);
    assert.equal(b.readBigUInt64LE(o.scoped), 2n);
    assert.equal(b.readBigUInt64LE(o.follow), 2n);
    assert.equal(b.readUInt32LE(o.event_id), 715);
    assert.equal(b.readUInt32LE(o.internal), 1);
  });

  it('sums per-CPU stats', () => {
    const b = Buffer.alloc(64);
    b.writeBigUInt64LE(3n, 0);
    b.writeBigUInt64LE(1n, 8);
    b.writeBigUInt64LE(5n, 32);
    b.writeBigUInt64LE(2n, 48);
    assert.deepEqual(sumStats(b), { submitted: 8n, lost: 1n, readErrors: 2n, filtered: 0n });
  });
});

describe('kernel events in a syscall configuration', () => {
  it('writes each kernel event slot: id, kind, policies and where the paths are', () => {
    const openat = eventByName('openat')!;
    const fileOpen = eventByName('security_file_open')!;
    const source = fileOpen.kernel!.sources.find((s) => s.syscall === 'openat')!;
    const b = encodeSyscallConfig(openat, 0n, {}, [{ event: fileOpen, source, selected: 5n, filtered: 4n }]);
    const o = syscall_cfg_t;
    const k = kevent_cfg_t;
    assert.equal(b.readBigUInt64LE(o.selected), 0n);
    assert.equal(b[o.kev_entry], 0);
    assert.equal(b.readBigUInt64LE(o.kev + k.selected), 5n);
    assert.equal(b.readBigUInt64LE(o.kev + k.filtered), 4n);
    assert.equal(b.readUInt32LE(o.kev + k.event_id), 732);
    assert.equal(b[o.kev + k.kind], kt_kevent.KT_KE_FILE_OPEN);
    assert.deepEqual(
      [b[o.kev + k.path_arg], b[o.kev + k.dirfd_arg], b[o.kev + k.path2_arg], b[o.kev + k.dirfd2_arg]],
      [1, 0, 0xff, 0xff],
    );
    // The second slot stays empty.
    assert.equal(b[o.kev + kevent_cfg_t.SIZE + k.kind], kt_kevent.KT_KE_NONE);
  });

  it('marks kernel events built at entry, and refuses more than two or a mix', () => {
    const mprotect = eventByName('mprotect')!;
    const fm = eventByName('security_file_mprotect')!;
    const alert = eventByName('mem_prot_alert')!;
    const slot = (event: typeof fm, atEntry = true) => ({
      event,
      source: { syscall: 'mprotect', atEntry },
      selected: 1n,
      filtered: 0n,
    });
    const b = encodeSyscallConfig(mprotect, 0n, {}, [slot(fm), slot(alert)]);
    assert.equal(b[syscall_cfg_t.kev_entry], 1);
    assert.throws(
      () => encodeSyscallConfig(mprotect, 0n, {}, [slot(fm), slot(alert), slot(fm)]),
      /at most 2/,
    );
    assert.throws(() => encodeSyscallConfig(mprotect, 0n, {}, [slot(fm), slot(alert, false)]), /cannot mix/);
  });

  it('encodes the traced bitmap', () => {
    const b = encodeTraced([0, 63, 64, 511]);
    assert.equal(b.length, kt_traced_t.SIZE);
    assert.equal(b.readBigUInt64LE(0), (1n << 63n) | 1n);
    assert.equal(b.readBigUInt64LE(8), 1n);
    assert.equal(b.readBigUInt64LE(56), 1n << 63n);
    assert.throws(() => encodeTraced([512]), /512 is outside 0\.\.511/);
  });
});
