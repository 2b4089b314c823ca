/**
 * Pure encoders of a KernelPlan (src/policy/compile.ts) into the policy maps of the BPF object
 * (bpf/include/maps.h: scope_map, scope_ns_map, filter_map, and the policy fields of syscall_cfg_t and
 * lifecycle_cfg_t). Sizes and offsets come from src/abi/abi.gen.ts. No kernel access.
 *
 * Soundness: the kernel may only drop records no policy can match (src/policy/match.ts re-checks every
 * record). So whenever a planned filter cannot be run exactly as userspace runs it (an argument that is not
 * a register, a string userspace would decode differently, a set larger than a map), the encoder leaves it
 * out, which only lets more records through.
 */
import {
  filter_cmp_t,
  filter_key_t,
  filter_t,
  kt_cmp_op,
  kt_cmp_target,
  kt_cmp_type,
  kt_filter_flag,
  kt_policy_limit,
  kt_scope_flag,
  kt_str_kind,
  kt_wire_limit,
  scope_ns_key_t,
  scope_t,
} from '../abi/abi.gen.js';
import type { EventSpec, TraceeType } from '../catalog/types.js';
import type { KernelCompare, KernelEventFilter, KernelPlan, KernelScope, Range } from '../policy/compile.js';
import type { Op } from '../policy/filter.js';
import { u32Key } from './config.js';

const { KT_MAX_POLICIES, KT_SCOPE_COMMS, KT_FILTER_STR_MAX, KT_MAX_SCOPE_NS, KT_MAX_FILTERS } =
  kt_policy_limit;
const { KT_MAX_ARGS, KT_COMM_LEN } = kt_wire_limit;
const { KT_FL_STR, KT_FL_CMP0 } = kt_filter_flag;
const flCmp = (i: number): number => KT_FL_CMP0 << i;

/** scope_t flags (enum kt_scope_flag) by short name. */
export const ScopeFlag = {
  uid: kt_scope_flag.KT_SC_UID,
  pid: kt_scope_flag.KT_SC_PID,
  comm: kt_scope_flag.KT_SC_COMM,
  mntns: kt_scope_flag.KT_SC_MNTNS,
  pidns: kt_scope_flag.KT_SC_PIDNS,
  newPid: kt_scope_flag.KT_SC_NEW_PID,
  follow: kt_scope_flag.KT_SC_FOLLOW,
  never: kt_scope_flag.KT_SC_NEVER,
} as const;

/** enum kt_cmp_op of each filter operator. */
const OP_CODE: Record<Op, number> = {
  '=': kt_cmp_op.KT_OP_EQ,
  '!=': kt_cmp_op.KT_OP_NE,
  '<': kt_cmp_op.KT_OP_LT,
  '>': kt_cmp_op.KT_OP_GT,
  '<=': kt_cmp_op.KT_OP_LE,
  '>=': kt_cmp_op.KT_OP_GE,
};
/** enum kt_cmp_type for the register types narrowRegister (src/decode) knows; others stay in userspace. */
const CMP_TYPE: Partial<Record<TraceeType, { code: number; signed: boolean }>> = {
  uint64: { code: kt_cmp_type.KT_T_U64, signed: false },
  'trace.Pointer': { code: kt_cmp_type.KT_T_U64, signed: false },
  int64: { code: kt_cmp_type.KT_T_S64, signed: true },
  uint32: { code: kt_cmp_type.KT_T_U32, signed: false },
  int32: { code: kt_cmp_type.KT_T_S32, signed: true },
  uint16: { code: kt_cmp_type.KT_T_U16, signed: false },
  uint8: { code: kt_cmp_type.KT_T_U8, signed: false },
  bool: { code: kt_cmp_type.KT_T_BOOL, signed: false },
};

/**
 * Syscalls that can change what scopes test (comm, euid, mount namespace) between entry and exit, where the
 * record's context is read: their scopes run at exit (syscall_cfg_t.late_scope). The write family renames
 * a task through /proc/self/comm, so it joins when some kernel scope tests comm.
 */
const LATE_SCOPE = new Set([
  'execve',
  'execveat',
  'setuid',
  'setreuid',
  'setresuid',
  'prctl',
  'unshare',
  'setns',
]);
const LATE_SCOPE_COMM = new Set(['write', 'pwrite64', 'writev', 'pwritev', 'pwritev2']);

const U64_MAX = (1n << 64n) - 1n;
const S64_MIN = -(1n << 63n);
const S64_MAX = (1n << 63n) - 1n;

/** A map entry as bytes. */
export interface MapEntry {
  readonly key: Buffer;
  readonly value: Buffer;
}

/** Everything the kernel side needs from a plan. */
export interface EncodedPlan {
  /** config_t.scoped: policies whose kernel scope constrains anything. */
  readonly scoped: bigint;
  /** config_t.follow: scoped policies with `follow`. */
  readonly follow: bigint;
  /** scope_map entries (policy index → scope_t), scoped policies only. */
  readonly scopes: readonly MapEntry[];
  /** scope_ns_map entries (value: one byte 1). */
  readonly ns: readonly MapEntry[];
  /** filter_map entries. */
  readonly filters: readonly MapEntry[];
  /** Per event id: syscall_cfg_t.filtered (policies with a filter_map entry for the event). */
  readonly filtered: ReadonlyMap<number, bigint>;
  /** True when some kernel scope tests comm (the write family then scopes at exit too). */
  readonly comm: boolean;
}

function utf8(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

/** True when the kernel's byte compare gives userspace's answer for `s` (see filters.h: BOM, U+FFFD, NUL). */
function byteSafe(s: string): boolean {
  return !s.includes('\ufffd') && !s.includes('\0') && !s.startsWith('\ufeff');
}

/** Writes an inclusive range as u64 min/max; returns false when it is empty (then the scope never matches). */
function writeRange(b: Buffer, off: number, r: Range): boolean {
  const min = r.min < 0n ? 0n : r.min;
  if (r.max < min || min > U64_MAX) return false;
  b.writeBigUInt64LE(min, off);
  b.writeBigUInt64LE(r.max > U64_MAX ? U64_MAX : r.max, off + 8);
  return true;
}

/** Key of scope_ns_map: kind 0 = mount namespace, 1 = pid namespace. */
export function encodeScopeNsKey(policy: number, kind: 0 | 1, ns: bigint): Buffer {
  const o = scope_ns_key_t;
  const b = Buffer.alloc(o.SIZE);
  b.writeUInt32LE(policy, o.policy);
  b.writeUInt32LE(kind, o.kind);
  b.writeBigUInt64LE(ns, o.ns);
  return b;
}

/**
 * Encode one policy's scope as a scope_t and its namespace keys. `nsRoom` is how many scope_ns_map entries
 * are still free: a set that does not fit is left to userspace.
 */
export function encodeScope(
  s: KernelScope,
  nsRoom: number = KT_MAX_SCOPE_NS,
): { value: Buffer; flags: number; ns: Buffer[] } {
  const o = scope_t;
  const b = Buffer.alloc(o.SIZE);
  let flags = 0;
  if (s.uid !== null) flags |= writeRange(b, o.uid_min, s.uid) ? ScopeFlag.uid : ScopeFlag.never;
  if (s.pid !== null) flags |= writeRange(b, o.pid_min, s.pid) ? ScopeFlag.pid : ScopeFlag.never;
  if (s.comm !== null && s.comm.length > 0 && s.comm.length <= KT_SCOPE_COMMS) {
    const names = s.comm.map(utf8);
    if (s.comm.every(byteSafe) && names.every((n) => n.length < KT_COMM_LEN)) {
      names.forEach((n, i) => {
        n.copy(b, o.comm + i * KT_COMM_LEN);
      });
      b.writeUInt32LE(names.length, o.ncomm);
      flags |= ScopeFlag.comm;
    }
  }
  const ns: Buffer[] = [];
  const nsSet = (set: readonly bigint[] | null, kind: 0 | 1, flag: number) => {
    if (set === null) return;
    // Namespace inode numbers are u32: a value outside never matches, in userspace as here.
    const keys = [...new Set(set.filter((v) => v >= 0n && v <= 0xffffffffn))].map((v) =>
      encodeScopeNsKey(s.policy, kind, v),
    );
    if (ns.length + keys.length > nsRoom) return;
    ns.push(...keys);
    flags |= flag;
  };
  nsSet(s.mntns, 0, ScopeFlag.mntns);
  nsSet(s.pidns, 1, ScopeFlag.pidns);
  if (s.newPid) flags |= ScopeFlag.newPid;
  if (s.follow) flags |= ScopeFlag.follow;
  b.writeUInt32LE(flags, o.flags);
  return { value: b, flags, ns };
}

/** Key of filter_map. */
export function encodeFilterKey(eventId: number, policy: number): Buffer {
  const b = Buffer.alloc(filter_key_t.SIZE);
  b.writeUInt32LE(eventId, filter_key_t.event_id);
  b.writeUInt32LE(policy, filter_key_t.policy);
  return b;
}

/**
 * A compare's constant as the kernel stores it, or 'always'/'never' when the value lies outside what the
 * narrowed register can compare against (then the answer does not depend on the register).
 */
function compareValue(c: KernelCompare, signed: boolean): bigint | 'always' | 'never' {
  const lo = signed ? S64_MIN : 0n;
  const hi = signed ? S64_MAX : U64_MAX;
  if (c.value >= lo && c.value <= hi) return c.value;
  const below = c.value < lo; // every register value is above the constant
  switch (c.op) {
    case '!=':
      return 'always';
    case '=':
      return 'never';
    case '<':
    case '<=':
      return below ? 'never' : 'always';
    case '>':
    case '>=':
      return below ? 'always' : 'never';
  }
}

/**
 * Encode the kernel filters of one (event, policy) as a filter_t, or undefined when nothing of them can run
 * in the kernel exactly (the policy then passes this event in the kernel).
 */
export function encodeEventFilter(spec: EventSpec, f: KernelEventFilter): Buffer | undefined {
  // Syscall records: targets are argument registers. Kernel events: fields numbered in the record's blobs,
  // compares on integer fields and string matches on paths the kernel resolved (a joined path passes).
  // Lifecycle records get no kernel filters.
  const kernel = spec.kernel !== undefined;
  if (spec.syscall === undefined && !kernel) return undefined;
  const maxTarget = kernel ? kt_policy_limit.KT_KFILTER_FIELDS : KT_MAX_ARGS;
  const o = filter_t;
  const b = Buffer.alloc(o.SIZE);
  let flags = 0;
  const fields = spec.fields.filter((x) => x.name !== 'returnValue');
  for (const m of f.strings) {
    if (flags & KT_FL_STR) break;
    const field = fields[m.arg];
    const bytes = utf8(m.value);
    if (
      m.arg >= maxTarget ||
      (kernel && field?.tags.includes('U')) ||
      field?.decode.wire !== 'str' ||
      (m.kind !== 'exact' && m.kind !== 'prefix') ||
      bytes.length > KT_FILTER_STR_MAX ||
      !byteSafe(m.value)
    )
      continue;
    b.writeUInt8(m.arg, o.str_arg);
    b.writeUInt8(m.kind === 'exact' ? kt_str_kind.KT_STR_EXACT : kt_str_kind.KT_STR_PREFIX, o.str_kind);
    b.writeUInt8(bytes.length, o.str_len);
    bytes.copy(b, o.str);
    flags |= KT_FL_STR;
  }
  let argSlot = 0;
  for (const c of f.compares) {
    let slot: number;
    let type: { code: number; signed: boolean } | undefined;
    if (c.target === 'retval') {
      if (kernel) continue; // a kernel event has no return value of its own
      slot = 2;
      type = CMP_TYPE.int64;
    } else {
      const field = fields[c.target];
      if (argSlot > 1 || c.target >= maxTarget || field?.decode.wire !== 'reg') continue;
      slot = argSlot;
      type = CMP_TYPE[field.type];
    }
    if (type === undefined || flags & flCmp(slot)) continue;
    const v = compareValue(c, type.signed);
    if (v === 'always') continue;
    if (c.target !== 'retval') argSlot++;
    const off = o.cmp + slot * filter_cmp_t.SIZE;
    if (v === 'never') b.writeUInt8(kt_cmp_op.KT_OP_NEVER, off + filter_cmp_t.op);
    else {
      b.writeBigUInt64LE(BigInt.asUintN(64, v), off + filter_cmp_t.value);
      b.writeUInt8(OP_CODE[c.op], off + filter_cmp_t.op);
    }
    b.writeUInt8(c.target === 'retval' ? kt_cmp_target.KT_CMP_RETVAL : c.target, off + filter_cmp_t.target);
    b.writeUInt8(type.code, off + filter_cmp_t.type);
    flags |= flCmp(slot);
  }
  if (flags === 0) return undefined;
  b.writeUInt8(flags, o.flags);
  return b;
}

/** Whether syscall `spec` scopes at exit (syscall_cfg_t.late_scope) under a plan that tests comm or not. */
export function lateScope(spec: EventSpec, comm: boolean): boolean {
  return LATE_SCOPE.has(spec.name) || (comm && LATE_SCOPE_COMM.has(spec.name));
}

/**
 * Encode `plan` for the traced `events`. Filters are written only for events in `filterable` (default: all
 * of `events`); the others get scopes only.
 */
export function encodeKernelPlan(
  plan: KernelPlan,
  events: readonly EventSpec[],
  filterable: (id: number) => boolean = () => true,
): EncodedPlan {
  if (plan.scopes.length > KT_MAX_POLICIES) {
    throw new RangeError(`encoding policies: ${plan.scopes.length} policies, at most ${KT_MAX_POLICIES}`);
  }
  let scoped = 0n;
  let follow = 0n;
  let comm = false;
  const scopes: MapEntry[] = [];
  const ns: MapEntry[] = [];
  for (const s of plan.scopes) {
    const e = encodeScope(s, KT_MAX_SCOPE_NS - ns.length);
    if ((e.flags & ~ScopeFlag.follow) === 0) continue; // matches every process: nothing to check
    const bit = 1n << BigInt(s.policy);
    scoped |= bit;
    if (e.flags & ScopeFlag.follow) follow |= bit;
    if (e.flags & ScopeFlag.comm) comm = true;
    scopes.push({ key: u32Key(s.policy), value: e.value });
    for (const k of e.ns) ns.push({ key: k, value: Buffer.from([1]) });
  }
  const filters: MapEntry[] = [];
  const filtered = new Map<number, bigint>();
  for (const spec of events) {
    const ke = plan.events.get(spec.id);
    if (ke === undefined || !filterable(spec.id)) continue;
    let mask = 0n;
    for (const f of ke.filters) {
      if (filters.length >= KT_MAX_FILTERS) break;
      const value = encodeEventFilter(spec, f);
      if (value === undefined) continue;
      filters.push({ key: encodeFilterKey(spec.id, f.policy), value });
      mask |= 1n << BigInt(f.policy);
    }
    if (mask !== 0n) filtered.set(spec.id, mask);
  }
  return { scoped, follow, scopes, ns, filters, filtered, comm };
}
