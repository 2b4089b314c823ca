/**
 * Pure encoders for the BPF object's configuration maps (bpf/include/wire.h, bpf/include/maps.h) and the
 * decoder of its per-CPU stats. No kernel access: everything here is unit-tested anywhere.
 */
import type { DecodeSpec, EventSpec } from '../catalog/types.js';

/** sizeof(struct syscall_cfg_t). */
export const SYSCALL_CFG_SIZE = 48;
/** sizeof(struct config_t) in maps.h. */
export const RUN_CONFIG_SIZE = 40;
/** sizeof(struct stats_t). */
export const STATS_SIZE = 32;
/** KT_MAX_ARGS, KT_MAX_SYSCALLS in wire.h. */
export const MAX_ARGS = 6;
export const MAX_SYSCALLS = 512;
/** stats_map entries (KT_MAX_EVENT_IDS in maps.h). */
export const MAX_EVENT_IDS = 1024;
/** len_arg value meaning "no length argument". */
export const NO_LEN_ARG = 0xff;

/** enum arg_kind. */
export const ArgKind = {
  none: 0,
  reg: 1,
  str: 2,
  str_arr: 3,
  sockaddr: 4,
  buf: 5,
  struct: 6,
  int_ptr: 7,
} as const;

/** enum emit_mode. */
export const EmitMode = { exit: 0, entry_exit: 1, entry: 2 } as const;

/** Kernel-side byte bounds (maps.h); larger catalog bounds are clamped there, so refuse them here. */
const KIND_MAX: Record<DecodeSpec['wire'], number> = {
  reg: 0,
  str: 4096,
  str_arr: 4096,
  sockaddr: 128,
  buf: 256,
  struct: 256,
  int_ptr: 8,
};

/** One argument slot of a syscall_cfg_t. */
export interface ArgSlot {
  readonly kind: number;
  readonly lenArg: number;
  readonly max: number;
}

/** The argument slot a field's decode spec turns into. */
export function argSlot(decode: DecodeSpec): ArgSlot {
  switch (decode.wire) {
    case 'reg':
      return { kind: ArgKind.reg, lenArg: NO_LEN_ARG, max: 0 };
    case 'str':
      return { kind: ArgKind.str, lenArg: NO_LEN_ARG, max: checkMax('str', decode.max) };
    case 'str_arr':
      return { kind: ArgKind.str_arr, lenArg: NO_LEN_ARG, max: checkMax('str_arr', decode.max) };
    case 'sockaddr':
      return { kind: ArgKind.sockaddr, lenArg: checkLenArg(decode.lenArg), max: KIND_MAX.sockaddr };
    case 'buf':
      return { kind: ArgKind.buf, lenArg: checkLenArg(decode.lenArg), max: checkMax('buf', decode.max) };
    case 'struct':
      return { kind: ArgKind.struct, lenArg: NO_LEN_ARG, max: checkMax('struct', decode.size) };
    case 'int_ptr':
      return { kind: ArgKind.int_ptr, lenArg: NO_LEN_ARG, max: checkMax('int_ptr', decode.count * 4) };
  }
}

function checkMax(wire: DecodeSpec['wire'], max: number): number {
  if (!Number.isInteger(max) || max < 1 || max > KIND_MAX[wire]) {
    throw new RangeError(`encoding a ${wire} argument: bound ${max} is outside 1..${KIND_MAX[wire]}`);
  }
  return max;
}

function checkLenArg(lenArg: number | undefined): number {
  if (lenArg === undefined) return NO_LEN_ARG;
  if (!Number.isInteger(lenArg) || lenArg < 0 || lenArg >= MAX_ARGS) {
    throw new RangeError(`encoding a length argument: index ${lenArg} is outside 0..${MAX_ARGS - 1}`);
  }
  return lenArg;
}

/** The policy fields of a syscall_cfg_t besides `selected` (src/capture/filters.ts computes them). */
export interface SyscallPolicyConfig {
  /** Policies with a filter_map entry for this event. */
  readonly filtered?: bigint;
  /** Run the scopes at exit: the syscall can change the comm, euid or mount namespace they test. */
  readonly lateScope?: boolean;
}

/**
 * Encode `spec` as the syscall_cfg_map value: `selected` is the policy bitmap (0 = not traced). Fields
 * before `returnValue` fill the argument slots in order; unused slots are ARG_NONE.
 */
export function encodeSyscallConfig(
  spec: EventSpec,
  selected: bigint,
  policy: SyscallPolicyConfig = {},
): Buffer {
  if (spec.syscall === undefined) {
    throw new TypeError(`encoding ${spec.name}: not a syscall event`);
  }
  const args = spec.fields.filter((f) => f.name !== 'returnValue');
  if (args.length > MAX_ARGS) {
    throw new RangeError(`encoding ${spec.name}: ${args.length} arguments, at most ${MAX_ARGS}`);
  }
  const b = Buffer.alloc(SYSCALL_CFG_SIZE);
  b.writeBigUInt64LE(BigInt.asUintN(64, selected), 0);
  b.writeUInt32LE(spec.id, 8);
  b.writeUInt8(EmitMode[spec.syscall.emit], 12);
  b.writeUInt8(args.length, 13);
  for (let i = 0; i < MAX_ARGS; i++) {
    const field = args[i];
    const slot =
      field === undefined ? { kind: ArgKind.none, lenArg: NO_LEN_ARG, max: 0 } : argSlot(field.decode);
    b.writeUInt8(slot.kind, 14 + i);
    b.writeUInt8(slot.lenArg, 20 + i);
    b.writeUInt16LE(slot.max, 26 + i * 2);
  }
  b.writeUInt8(policy.lateScope === true ? 1 : 0, 38);
  b.writeBigUInt64LE(BigInt.asUintN(64, policy.filtered ?? 0n), 40);
  return b;
}

/** sizeof(struct lifecycle_cfg_t) in wire.h. */
export const LIFECYCLE_CFG_SIZE = 16;

/** Lifecycle event ids and their lifecycle_cfg_map slot (enum lifecycle_slot), with the program of each. */
export const LIFECYCLE_EVENTS = [
  { id: 714, slot: 0, program: 'tp_btf__sched__sched_process_fork' },
  { id: 715, slot: 1, program: 'tp_btf__sched__sched_process_exec' },
  { id: 716, slot: 2, program: 'tp_btf__sched__sched_process_exit' },
] as const;

/** The lifecycle slot of a catalog id, or undefined when the id is not a lifecycle event. */
export function lifecycleSlot(id: number): number | undefined {
  return LIFECYCLE_EVENTS.find((e) => e.id === id)?.slot;
}

/**
 * Encode a lifecycle_cfg_map value: `selected` is the policy bitmap of the user's selection (0 = not
 * selected); `internal` asks for records the process tree needs even when not selected.
 */
export function encodeLifecycleConfig(eventId: number, selected: bigint, internal: boolean): Buffer {
  const b = Buffer.alloc(LIFECYCLE_CFG_SIZE);
  b.writeBigUInt64LE(BigInt.asUintN(64, selected), 0);
  b.writeUInt32LE(eventId, 8);
  b.writeUInt32LE(internal ? 1 : 0, 12);
  return b;
}

/** Encode the compat_nr_map value for an i386 number mapping onto x86_64 number `nr` (stored as nr + 1). */
export function encodeCompatNr(nr: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(nr + 1, 0);
  return b;
}

/** The policy fields of config_t. */
export interface RunPolicyConfig {
  /** Policies whose scope_map entry constrains anything. */
  readonly scoped?: bigint;
  /** Scoped policies with `follow`. */
  readonly follow?: bigint;
  /** ktrail's start, boot ns (`pid=new`: thread start >= this). */
  readonly startNs?: bigint;
}

/** Encode config_map[0]: ktrail's own tgid, the wakeup fill mark in bytes and the policy fields. */
export function encodeRunConfig(selfTgid: number, wakeupFill: number, policy: RunPolicyConfig = {}): Buffer {
  const b = Buffer.alloc(RUN_CONFIG_SIZE);
  b.writeUInt32LE(selfTgid, 0);
  b.writeBigUInt64LE(BigInt(wakeupFill), 8);
  b.writeBigUInt64LE(BigInt.asUintN(64, policy.scoped ?? 0n), 16);
  b.writeBigUInt64LE(BigInt.asUintN(64, policy.follow ?? 0n), 24);
  b.writeBigUInt64LE(BigInt.asUintN(64, policy.startNs ?? 0n), 32);
  return b;
}

/** A u32 map key. */
export function u32Key(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n, 0);
  return b;
}

/** struct stats_t summed over CPUs. */
export interface EventStats {
  readonly submitted: bigint;
  readonly lost: bigint;
  readonly readErrors: bigint;
  readonly filtered: bigint;
}

/** Sum a per-CPU stats_map value (`slot` bytes per CPU, the value size rounded up to 8). */
export function sumStats(perCpu: Buffer, slot = STATS_SIZE): EventStats {
  let submitted = 0n;
  let lost = 0n;
  let readErrors = 0n;
  let filtered = 0n;
  for (let off = 0; off + STATS_SIZE <= perCpu.length; off += slot) {
    submitted += perCpu.readBigUInt64LE(off);
    lost += perCpu.readBigUInt64LE(off + 8);
    readErrors += perCpu.readBigUInt64LE(off + 16);
    filtered += perCpu.readBigUInt64LE(off + 24);
  }
  return { submitted, lost, readErrors, filtered };
}
