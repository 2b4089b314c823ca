import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventByName } from '../catalog/index.js';
import type { EventSpec } from '../catalog/types.js';
import {
  argSlot,
  encodeCompatNr,
  encodeRunConfig,
  encodeSyscallConfig,
  SYSCALL_CFG_SIZE,
  sumStats,
} from './config.js';

// The catalog's own definition: these tests encode and decode what the tracer really uses.
const deleteModule: EventSpec = eventByName('delete_module')!;

describe('encodeSyscallConfig', () => {
  it('encodes delete_module byte for byte', () => {
    const b = encodeSyscallConfig(deleteModule, 1n);
    assert.equal(b.length, SYSCALL_CFG_SIZE);
    // prettier-ignore
    const expected = Buffer.from([
      1,
      0,
      0,
      0,
      0,
      0,
      0,
      0, // selected
      176,
      0,
      0,
      0, // event_id
      0, // emit = EMIT_EXIT
      2, // nargs
      2,
      1,
      0,
      0,
      0,
      0, // kind: STR, REG, NONE...
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff, // len_arg
      64,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0, // max[0] = 64
      0, // late_scope
      0, // pad
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0, // filtered
    ]);
    assert.deepEqual(b, expected);
  });

  it('writes the policy fields: late scope and the filtered policies', () => {
    const b = encodeSyscallConfig(deleteModule, 3n, { filtered: 0x8000000000000002n, lateScope: true });
    assert.equal(b.readBigUInt64LE(0), 3n);
    assert.equal(b[38], 1);
    assert.equal(b[39], 0);
    assert.equal(b.readBigUInt64LE(40), 0x8000000000000002n);
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
    const b = encodeSyscallConfig(execve, 0x8000000000000001n);
    assert.equal(b.readBigUInt64LE(0), 0x8000000000000001n);
    assert.equal(b.readUInt32LE(8), 59);
    assert.equal(b[12], 1);
    assert.deepEqual([...b.subarray(14, 20)], [2, 3, 0, 0, 0, 0]);
    assert.equal(b.readUInt16LE(26), 4096);
    assert.equal(b.readUInt16LE(28), 2048);
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
  it('encodes compat numbers as nr + 1 and the run config', () => {
    assert.deepEqual(encodeCompatNr(176), Buffer.from([177, 0, 0, 0]));
    const c = encodeRunConfig(4242, 1 << 20);
    assert.deepEqual(
      c,
      Buffer.concat([
        Buffer.from([0x92, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0]),
        Buffer.alloc(24),
      ]),
    );
    const p = encodeRunConfig(1, 4096, { scoped: 0b101n, follow: 0b100n, startNs: 123456789n });
    assert.equal(p.length, 40);
    assert.equal(p.readBigUInt64LE(16), 5n);
    assert.equal(p.readBigUInt64LE(24), 4n);
    assert.equal(p.readBigUInt64LE(32), 123456789n);
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
