/**
 * Pure encoders for the BPF object's configuration (bpf/include/wire.h, bpf/include/maps.h) and the decoder of
 * its per-CPU stats. Every size, offset and constant comes from src/abi/abi.gen.ts. No kernel access:
 * everything here is unit-tested anywhere.
 */
import {
  arg_kind,
  blob_hdr_t,
  emit_mode,
  kevent_cfg_t,
  kt_kevent,
  kt_map_limit,
  kt_net_cfg_t,
  kt_net_class,
  kt_ring_small,
  kt_settings_t,
  kt_traced_t,
  kt_wire_limit,
  lifecycle_cfg_t,
  lifecycle_slot,
  net_stats_t,
  stats_t,
  syscall_cfg_t,
} from '../abi/abi.gen.js';
import type { DecodeSpec, EventSpec, KernelEventSource, PacketClass } from '../catalog/types.js';

const { KT_MAX_ARGS, KT_NO_LEN_ARG, KT_NO_ARG, KT_KEVENTS, KT_MAX_SYSCALLS } = kt_wire_limit;

/** The wire kind of each catalog decode kind (enum arg_kind). */
const KIND: Record<DecodeSpec['wire'], number> = {
  reg: arg_kind.ARG_REG,
  str: arg_kind.ARG_STR,
  str_arr: arg_kind.ARG_STR_ARR,
  sockaddr: arg_kind.ARG_SOCKADDR,
  buf: arg_kind.ARG_BUF,
  struct: arg_kind.ARG_STRUCT,
  int_ptr: arg_kind.ARG_INT_PTR,
  none: arg_kind.ARG_NONE,
};

/** Kernel-side byte bounds (maps.h); larger catalog bounds would be clamped there, so refuse them here. */
const KIND_MAX: Record<DecodeSpec['wire'], number> = {
  reg: 0,
  str: kt_map_limit.KT_STR_MAX,
  str_arr: kt_map_limit.KT_STR_MAX,
  sockaddr: kt_map_limit.KT_SOCKADDR_MAX,
  buf: kt_map_limit.KT_BUF_MAX,
  struct: kt_map_limit.KT_BUF_MAX,
  int_ptr: kt_map_limit.KT_BUF_MAX,
  none: 0,
};

/** One argument slot of a syscall_cfg_t. */
export interface ArgSlot {
  readonly kind: number;
  readonly lenArg: number;
  readonly max: number;
}

const NO_ARG: ArgSlot = { kind: arg_kind.ARG_NONE, lenArg: KT_NO_LEN_ARG, max: 0 };

/** The argument slot a field's decode spec turns into. */
export function argSlot(decode: DecodeSpec): ArgSlot {
  const kind = KIND[decode.wire];
  switch (decode.wire) {
    case 'reg':
      return { kind, lenArg: KT_NO_LEN_ARG, max: 0 };
    case 'str':
    case 'str_arr':
      return { kind, lenArg: KT_NO_LEN_ARG, max: checkMax(decode.wire, decode.max) };
    case 'sockaddr':
      return { kind, lenArg: checkLenArg(decode.lenArg), max: KIND_MAX.sockaddr };
    case 'buf':
      return { kind, lenArg: checkLenArg(decode.lenArg), max: checkMax('buf', decode.max) };
    case 'struct':
      return { kind, lenArg: KT_NO_LEN_ARG, max: checkMax('struct', decode.size) };
    case 'int_ptr':
      return { kind, lenArg: KT_NO_LEN_ARG, max: checkMax('int_ptr', decode.count * 4) };
    case 'none':
      throw new TypeError('encoding an argument: a field built in userspace never travels on the wire');
  }
}

function checkMax(wire: DecodeSpec['wire'], max: number): number {
  if (!Number.isInteger(max) || max < 1 || max > KIND_MAX[wire]) {
    throw new RangeError(`encoding a ${wire} argument: bound ${max} is outside 1..${KIND_MAX[wire]}`);
  }
  return max;
}

function checkLenArg(lenArg: number | undefined): number {
  if (lenArg === undefined) return KT_NO_LEN_ARG;
  if (!Number.isInteger(lenArg) || lenArg < 0 || lenArg >= KT_MAX_ARGS) {
    throw new RangeError(`encoding a length argument: index ${lenArg} is outside 0..${KT_MAX_ARGS - 1}`);
  }
  return lenArg;
}

/** The policy fields of a syscall_cfg_t or lifecycle_cfg_t besides `selected` (src/capture/filters.ts). */
export interface PolicyConfig {
  /** Policies with a filter_map entry for this event (syscalls only). */
  readonly filtered?: bigint;
  /** Run the scopes at exit: the syscall can change the comm, euid or mount namespace they test. */
  readonly lateScope?: boolean;
  /** Policies whose scope_map entry constrains anything (the same for every event). */
  readonly scoped?: bigint;
  /** Scoped policies with `follow` (the same for every event). */
  readonly follow?: bigint;
}

/** enum emit_mode member of each catalog emission mode. */
const EMIT = { exit: 'EMIT_EXIT', entry_exit: 'EMIT_ENTRY_EXIT', entry: 'EMIT_ENTRY' } as const;

const u64 = (v: bigint | undefined): bigint => BigInt.asUintN(64, v ?? 0n);

/** A kernel event a syscall gives (kevent_cfg_t): which one, built how, for which policies. */
export interface KernelEventSlot {
  /** The kernel event (a catalog event with `kernel` facts). */
  readonly event: EventSpec;
  /** Its source entry for this syscall: where the syscall keeps the paths. */
  readonly source: KernelEventSource;
  /** Policies selecting the kernel event. */
  readonly selected: bigint;
  /** Policies with in-kernel filters on it. */
  readonly filtered: bigint;
}

const argIndex = (i: number | undefined): number => (i === undefined ? KT_NO_ARG : i);

/**
 * Whether a syscall record can be built in place in the ring (syscall_cfg_t.ring_small): with register
 * arguments only, or with one pointer argument whose blob (header, bytes, and the 2 bytes a string read may
 * write past its bound) always fits KT_RING_SMALL. A string without a bound (max 0) never fits.
 */
export function ringSmall(slots: readonly ArgSlot[]): { mode: number; arg: number } {
  const { KT_RS_NONE, KT_RS_HDR, KT_RS_ONE_ARG, KT_RING_SMALL } = kt_ring_small;
  const pointers = slots
    .map((s, i) => ({ s, i }))
    .filter(({ s }) => s.kind !== arg_kind.ARG_NONE && s.kind !== arg_kind.ARG_REG);
  if (pointers.length === 0) return { mode: KT_RS_HDR, arg: 0 };
  if (pointers.length > 1) return { mode: KT_RS_NONE, arg: 0 };
  const { s, i } = pointers[0]!;
  const room = KT_RING_SMALL - blob_hdr_t.SIZE;
  const fits =
    s.kind === arg_kind.ARG_STR
      ? s.max > 0 && s.max + 2 <= room
      : (s.kind === arg_kind.ARG_BUF || s.kind === arg_kind.ARG_STRUCT || s.kind === arg_kind.ARG_INT_PTR) &&
        s.max <= room;
  return fits ? { mode: KT_RS_ONE_ARG, arg: i } : { mode: KT_RS_NONE, arg: 0 };
}

/**
 * Encode `spec` as the syscall_cfg_map value: `selected` is the policy bitmap of the syscall's own event
 * (0 = not selected; the syscall is still traced for its kernel events). Fields before `returnValue` fill the
 * argument slots in order; unused slots are ARG_NONE. `kernel` lists at most KT_KEVENTS kernel events.
 */
export function encodeSyscallConfig(
  spec: EventSpec,
  selected: bigint,
  policy: PolicyConfig = {},
  kernel: readonly KernelEventSlot[] = [],
): Buffer {
  if (spec.syscall === undefined) {
    throw new TypeError(`encoding ${spec.name}: not a syscall event`);
  }
  const args = spec.fields.filter((f) => f.name !== 'returnValue');
  if (args.length > KT_MAX_ARGS) {
    throw new RangeError(`encoding ${spec.name}: ${args.length} arguments, at most ${KT_MAX_ARGS}`);
  }
  const o = syscall_cfg_t;
  const b = Buffer.alloc(o.SIZE);
  b.writeBigUInt64LE(u64(selected), o.selected);
  b.writeBigUInt64LE(u64(policy.filtered), o.filtered);
  b.writeBigUInt64LE(u64(policy.scoped), o.scoped);
  b.writeBigUInt64LE(u64(policy.follow), o.follow);
  b.writeUInt32LE(spec.id, o.event_id);
  b.writeUInt8(emit_mode[EMIT[spec.syscall.emit]], o.emit);
  b.writeUInt8(args.length, o.nargs);
  for (let i = 0; i < KT_MAX_ARGS; i++) {
    const field = args[i];
    const slot = field === undefined ? NO_ARG : argSlot(field.decode);
    b.writeUInt8(slot.kind, o.kind + i);
    b.writeUInt8(slot.lenArg, o.len_arg + i);
    b.writeUInt16LE(slot.max, o.max + i * 2);
  }
  b.writeUInt8(policy.lateScope === true ? 1 : 0, o.late_scope);
  const small = ringSmall(args.map((f) => argSlot(f.decode)));
  b.writeUInt8(small.mode, o.ring_small);
  b.writeUInt8(small.arg, o.ring_arg);
  if (kernel.length > KT_KEVENTS) {
    throw new RangeError(`encoding ${spec.name}: ${kernel.length} kernel events, at most ${KT_KEVENTS}`);
  }
  const entry = kernel.filter((k) => k.source.atEntry === true).length;
  if (entry !== 0 && entry !== kernel.length) {
    throw new RangeError(`encoding ${spec.name}: kernel events built at entry and at exit cannot mix`);
  }
  b.writeUInt8(entry > 0 ? 1 : 0, o.kev_entry);
  kernel.forEach((k, i) => {
    const facts = k.event.kernel;
    if (facts === undefined)
      throw new TypeError(`encoding ${spec.name}: ${k.event.name} is not a kernel event`);
    const c = kevent_cfg_t;
    const at = o.kev + i * c.SIZE;
    b.writeBigUInt64LE(u64(k.selected), at + c.selected);
    b.writeBigUInt64LE(u64(k.filtered), at + c.filtered);
    b.writeUInt32LE(k.event.id, at + c.event_id);
    b.writeUInt8(kt_kevent[`KT_KE_${facts.kind}`], at + c.kind);
    b.writeUInt8(argIndex(k.source.path), at + c.path_arg);
    b.writeUInt8(argIndex(k.source.dirfd), at + c.dirfd_arg);
    b.writeUInt8(argIndex(k.source.path2), at + c.path2_arg);
    b.writeUInt8(argIndex(k.source.dirfd2), at + c.dirfd2_arg);
  });
  return b;
}

/**
 * The `.data.traced` bitmaps (struct kt_traced_t): in `bits`, bit nr for each traced x86_64 syscall number;
 * in `raw`, the same bits plus one per i386 number (`compatNrs`) whose x86_64 syscall is traced: the ids the
 * programs' first test lets through.
 */
export function encodeTraced(nrs: Iterable<number>, compatNrs: Iterable<number> = []): Buffer {
  const b = Buffer.alloc(kt_traced_t.SIZE);
  const set = (base: number, nr: number, what: string) => {
    if (!Number.isInteger(nr) || nr < 0 || nr >= KT_MAX_SYSCALLS)
      throw new RangeError(`encoding the traced ${what}: ${nr} is outside 0..${KT_MAX_SYSCALLS - 1}`);
    const word = base + Math.floor(nr / 64) * 8;
    b.writeBigUInt64LE(b.readBigUInt64LE(word) | (1n << BigInt(nr % 64)), word);
  };
  for (const nr of nrs) {
    set(kt_traced_t.bits, nr, 'syscalls');
    set(kt_traced_t.raw, nr, 'syscalls');
  }
  for (const nr of compatNrs) set(kt_traced_t.raw, nr, 'i386 syscalls');
  return b;
}

/** The lifecycle events by name, their lifecycle_cfg_map slot (enum lifecycle_slot) and program. */
export const LIFECYCLE_EVENTS = [
  {
    name: 'sched_process_fork',
    slot: lifecycle_slot.KT_LC_FORK,
    program: 'tp_btf__sched__sched_process_fork',
  },
  {
    name: 'sched_process_exec',
    slot: lifecycle_slot.KT_LC_EXEC,
    program: 'tp_btf__sched__sched_process_exec',
  },
  {
    name: 'sched_process_exit',
    slot: lifecycle_slot.KT_LC_EXIT,
    program: 'tp_btf__sched__sched_process_exit',
  },
  {
    name: 'cgroup_mkdir',
    slot: lifecycle_slot.KT_LC_CGROUP_MKDIR,
    program: 'tp_btf__cgroup__cgroup_mkdir',
  },
  {
    name: 'cgroup_rmdir',
    slot: lifecycle_slot.KT_LC_CGROUP_RMDIR,
    program: 'tp_btf__cgroup__cgroup_rmdir',
  },
] as const;

/** The lifecycle events that keep ktrail's container state (src/containers), as opposed to its process tree. */
export const CGROUP_LIFECYCLE: ReadonlySet<string> = new Set(['cgroup_mkdir', 'cgroup_rmdir']);

/**
 * Encode a lifecycle_cfg_map value: `selected` is the policy bitmap of the user's selection (0 = not
 * selected); `internal` asks for records the process tree needs even when not selected.
 */
export function encodeLifecycleConfig(
  eventId: number,
  selected: bigint,
  internal: boolean,
  policy: PolicyConfig = {},
): Buffer {
  const o = lifecycle_cfg_t;
  const b = Buffer.alloc(o.SIZE);
  b.writeBigUInt64LE(u64(selected), o.selected);
  b.writeBigUInt64LE(u64(policy.scoped), o.scoped);
  b.writeBigUInt64LE(u64(policy.follow), o.follow);
  b.writeUInt32LE(eventId, o.event_id);
  b.writeUInt32LE(internal ? 1 : 0, o.internal);
  return b;
}

/** Encode the compat_nr_map value for an i386 number mapping onto x86_64 number `nr` (stored as nr + 1). */
export function encodeCompatNr(nr: number): Buffer {
  return u32Key(nr + 1);
}

/** The run's settings (struct kt_settings_t, the .rodata.settings section), written before load. */
export interface RunSettings {
  /** ktrail's own tgid: never traced. */
  readonly selfTgid: number;
  /** Wake the poller once this many bytes wait in the ring. */
  readonly wakeupFill: number;
  /** ktrail's start, boot ns (`pid=new`: thread start >= this). */
  readonly startNs: bigint;
  /** The fast paths the programs take (enum kt_setting_flag bits; default none). */
  readonly flags?: number;
}

export function encodeSettings(s: RunSettings): Buffer {
  const o = kt_settings_t;
  const b = Buffer.alloc(o.SIZE);
  b.writeBigUInt64LE(BigInt(s.wakeupFill), o.wakeup_fill);
  b.writeBigUInt64LE(u64(s.startNs), o.start_ns);
  b.writeUInt32LE(s.selfTgid, o.self_tgid);
  b.writeUInt32LE(s.flags ?? 0, o.flags);
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
export function sumStats(perCpu: Buffer, slot = Math.ceil(stats_t.SIZE / 8) * 8): EventStats {
  let submitted = 0n;
  let lost = 0n;
  let readErrors = 0n;
  let filtered = 0n;
  for (let off = 0; off + stats_t.SIZE <= perCpu.length; off += slot) {
    submitted += perCpu.readBigUInt64LE(off + stats_t.submitted);
    lost += perCpu.readBigUInt64LE(off + stats_t.lost);
    readErrors += perCpu.readBigUInt64LE(off + stats_t.read_errors);
    filtered += perCpu.readBigUInt64LE(off + stats_t.filtered);
  }
  return { submitted, lost, readErrors, filtered };
}

/** The packet classes (enum kt_net_class bits) the packet events of `events` need; 0 when there are none. */
export function netClasses(events: readonly EventSpec[]): number {
  let bits = 0;
  for (const e of events)
    for (const c of e.packet?.classes ?? []) bits |= kt_net_class[`KT_NET_${c}` as `KT_NET_${PacketClass}`];
  return bits;
}

/** The `.data.net` section (struct kt_net_cfg_t): the policies on packet records and the classes reported. */
export function encodeNetConfig(selected: bigint, classes: number): Buffer {
  const o = kt_net_cfg_t;
  const b = Buffer.alloc(o.SIZE);
  b.writeBigUInt64LE(u64(selected), o.selected);
  b.writeUInt32LE(classes >>> 0, o.classes);
  return b;
}

/** struct net_stats_t summed over CPUs: packets the kernel met but could not report whole. */
export interface NetStats {
  /** Packets of a wanted class whose socket no task was seen using, by direction. */
  readonly unattributedIngress: bigint;
  readonly unattributedEgress: bigint;
  /** DNS and HTTP packets longer than the bytes kept of them. */
  readonly truncated: bigint;
  /** Packets met while both record areas of their CPU were in use (not reported). */
  readonly busy: bigint;
}

export function sumNetStats(perCpu: Buffer, slot = Math.ceil(net_stats_t.SIZE / 8) * 8): NetStats {
  const o = net_stats_t;
  let i = 0n;
  let e = 0n;
  let t = 0n;
  let b = 0n;
  for (let off = 0; off + o.SIZE <= perCpu.length; off += slot) {
    i += perCpu.readBigUInt64LE(off + o.unattributed_ingress);
    e += perCpu.readBigUInt64LE(off + o.unattributed_egress);
    t += perCpu.readBigUInt64LE(off + o.truncated);
    b += perCpu.readBigUInt64LE(off + o.busy);
  }
  return { unattributedIngress: i, unattributedEgress: e, truncated: t, busy: b };
}
