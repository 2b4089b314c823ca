/**
 * Compiles parsed policies (flags or files) into one plain value for both halves of ktrail:
 * - `events`: per event id, the u64 bitmap of the policies that select it;
 * - `user`: every scope and event filter, exactly as written: match.ts evaluates all of them, so userspace is
 *   always right on its own (it computes `matchedPolicies`);
 * - `kernel`: the subset of those filters the BPF side can run for a stated KernelCaps, as map-ready values,
 *   plus a placement report naming, per filter, where it runs and why.
 *
 * Soundness rule: the kernel part is a relaxation. A filter the kernel cannot run is left out of the kernel
 * part (the kernel lets the event through for that policy) and userspace re-checks it; the kernel never drops
 * an event some policy would match. Pure and immutable; safe to share.
 */
import type { TraceeType } from '../catalog/types.js';
import { KtrailError } from '../errors.js';
import type { ArgFilter, ContextFilter, RetvalFilter } from './event-filter.js';
import type { NumberFilter, Op } from './filter.js';
import { isEmptyScope, type ScopeSpec } from './scope.js';
import { type Action, MAX_POLICIES, type PolicySpec } from './spec.js';

export interface PolicyInfo {
  /** Bit position in every bitmap. */
  readonly index: number;
  readonly name: string;
  readonly description: string;
  /** File path, or '--events/--scope'. */
  readonly origin: string;
  readonly defaultActions: readonly Action[];
}

/** Per (event, policy): the filters of that rule; all must match. */
export interface EventFilterSet {
  readonly args: readonly ArgFilter[];
  readonly retval: readonly RetvalFilter[];
  readonly context: readonly ContextFilter[];
  /** The rule's actions, or the policy's defaultActions when the rule has none. */
  readonly actions: readonly Action[];
}

export interface CompiledEvent {
  readonly id: number;
  readonly name: string;
  /** Bit i set: policy i selects this event. */
  readonly selectedMask: bigint;
  /** Bit i set: policy i has filters on this event (see `user.filters`). */
  readonly filteredMask: bigint;
}

export interface UserFilters {
  /** Scope per policy index. */
  readonly scopes: readonly ScopeSpec[];
  /** Policies whose scope constrains anything (others match every process). */
  readonly scopedMask: bigint;
  /** Policies with `follow`. */
  readonly followMask: bigint;
  /** event id → policy index → filters. Only pairs with at least one filter appear. */
  readonly filters: ReadonlyMap<number, ReadonlyMap<number, EventFilterSet>>;
}

/** What the BPF side can filter (bpf/include/common/filters.h). */
export interface KernelCaps {
  readonly scope: {
    readonly uidRange: boolean;
    readonly pidRange: boolean;
    /** Exact comm set; null when unsupported. `maxBytes` counts the NUL (TASK_COMM_LEN). */
    readonly commSet: { readonly maxEntries: number; readonly maxBytes: number } | null;
    readonly mntnsSet: boolean;
    readonly pidnsSet: boolean;
    readonly follow: boolean;
    readonly newPid: boolean;
  };
  readonly event: {
    /** String argument matches per (event, policy); null when unsupported. */
    readonly stringMatch: {
      readonly count: number;
      readonly maxBytes: number;
      readonly kinds: readonly ('exact' | 'prefix' | 'suffix')[];
    } | null;
    /** Numeric compares on integer argument registers per (event, policy). */
    readonly argCompares: number;
    /** Compares on the return value per (event, policy). */
    readonly retvalCompares: number;
    readonly ops: readonly Op[];
  };
}

/** The kernel side as planned for issue 4. */
export const KERNEL_CAPS: KernelCaps = {
  scope: {
    uidRange: true,
    pidRange: true,
    commSet: { maxEntries: 8, maxBytes: 16 },
    mntnsSet: true,
    pidnsSet: true,
    follow: true,
    newPid: true,
  },
  event: {
    stringMatch: { count: 1, maxBytes: 64, kinds: ['exact', 'prefix'] },
    argCompares: 2,
    retvalCompares: 1,
    ops: ['=', '!=', '<', '>', '<=', '>='],
  },
};

/** Inclusive unsigned range; [0, 2^32-1] means "no constraint". */
export interface Range {
  readonly min: bigint;
  readonly max: bigint;
}

export interface KernelScope {
  readonly policy: number;
  readonly uid: Range | null;
  /** Host pids. */
  readonly pid: Range | null;
  /** Exact comm names, each shorter than maxBytes; null = any. */
  readonly comm: readonly string[] | null;
  readonly mntns: readonly bigint[] | null;
  readonly pidns: readonly bigint[] | null;
  readonly newPid: boolean;
  readonly follow: boolean;
}

export interface KernelCompare {
  /** Argument index (register), or 'retval'. */
  readonly target: number | 'retval';
  /** How the register is narrowed before comparing (int32 sign-extends, uint32 truncates). */
  readonly type: TraceeType;
  readonly op: Op;
  readonly value: bigint;
}

export interface KernelStringMatch {
  readonly arg: number;
  readonly kind: 'exact' | 'prefix' | 'suffix';
  readonly value: string;
}

export interface KernelEventFilter {
  readonly policy: number;
  /** At most `caps.event.stringMatch.count` string matches; all must hold. */
  readonly strings: readonly KernelStringMatch[];
  readonly compares: readonly KernelCompare[];
}

export interface KernelEvent {
  readonly selectedMask: bigint;
  /** Only policies with at least one kernel filter on this event. */
  readonly filters: readonly KernelEventFilter[];
  /**
   * Bit i set: some filter of policy i for this event (scope or event filter) runs only in userspace, so the
   * kernel's "yes" for policy i is provisional. Userspace evaluates everything regardless.
   */
  readonly userMask: bigint;
}

export interface Placement {
  readonly policy: number;
  /** Event name for event filters; undefined for scope filters. */
  readonly event?: string;
  /** The filter as the user wrote it. */
  readonly filter: string;
  readonly where: 'kernel' | 'user';
  /** Why it runs in userspace (empty for kernel placements). */
  readonly reason: string;
}

export interface KernelPlan {
  readonly caps: KernelCaps;
  readonly scopes: readonly KernelScope[];
  readonly events: ReadonlyMap<number, KernelEvent>;
  readonly placements: readonly Placement[];
}

export interface CompiledPolicies {
  readonly policies: readonly PolicyInfo[];
  readonly events: ReadonlyMap<number, CompiledEvent>;
  readonly user: UserFilters;
  readonly kernel: KernelPlan;
}

const bit = (i: number): bigint => 1n << BigInt(i);

/**
 * Compiles up to 64 policies; policy i gets bit i. `caps` describes the kernel side (default KERNEL_CAPS).
 * @throws KtrailError POLICY_INVALID when there are more than 64 policies.
 */
export function compilePolicies(
  specs: readonly PolicySpec[],
  caps: KernelCaps = KERNEL_CAPS,
): CompiledPolicies {
  if (specs.length > MAX_POLICIES) {
    throw new KtrailError(
      'POLICY_INVALID',
      `compiling policies: policies maximum exceeded [${MAX_POLICIES}]`,
      {
        hint: `merge policies so that at most ${MAX_POLICIES} remain`,
      },
    );
  }
  const policies: PolicyInfo[] = specs.map((p, index) => ({
    index,
    name: p.name,
    description: p.description,
    origin: p.origin,
    defaultActions: p.defaultActions,
  }));
  const events = new Map<number, { id: number; name: string; selectedMask: bigint; filteredMask: bigint }>();
  const filters = new Map<number, Map<number, EventFilterSet>>();
  let scopedMask = 0n;
  let followMask = 0n;
  specs.forEach((p, i) => {
    if (!isEmptyScope(p.scope)) scopedMask |= bit(i);
    if (p.scope.follow) followMask |= bit(i);
    for (const r of p.rules) {
      const e = events.get(r.event.id) ?? {
        id: r.event.id,
        name: r.event.name,
        selectedMask: 0n,
        filteredMask: 0n,
      };
      e.selectedMask |= bit(i);
      if (r.filters.length > 0) {
        e.filteredMask |= bit(i);
        const byPolicy = filters.get(r.event.id) ?? new Map<number, EventFilterSet>();
        byPolicy.set(i, {
          args: r.filters.filter((f): f is ArgFilter => f.kind === 'arg'),
          retval: r.filters.filter((f): f is RetvalFilter => f.kind === 'retval'),
          context: r.filters.filter((f): f is ContextFilter => f.kind === 'context'),
          actions: r.actions.length > 0 ? r.actions : p.defaultActions,
        });
        filters.set(r.event.id, byPolicy);
      }
      events.set(r.event.id, e);
    }
  });
  const sorted = new Map([...events.entries()].sort((a, b) => a[0] - b[0]));
  const user: UserFilters = { scopes: specs.map((p) => p.scope), scopedMask, followMask, filters };
  const base = { policies, events: sorted as ReadonlyMap<number, CompiledEvent>, user };
  return { ...base, kernel: planKernel(base, caps) };
}

const U32_MAX = (1n << 32n) - 1n;
const PID_MAX = 4194304n;

/** The range a single-valued numeric filter stands for, or null when it is not a range (`!=`, several values). */
function asRange(f: NumberFilter, max: bigint): Range | null {
  const v = f.values[0];
  if (v === undefined || f.values.length !== 1) return null;
  switch (f.op) {
    case '=':
      return { min: v, max: v };
    case '<':
      return { min: 0n, max: v - 1n };
    case '<=':
      return { min: 0n, max: v };
    case '>':
      return { min: v + 1n, max };
    case '>=':
      return { min: v, max };
    default:
      return null;
  }
}

const bmin = (a: bigint, b: bigint): bigint => (a < b ? a : b);
const bmax = (a: bigint, b: bigint): bigint => (a > b ? a : b);

function utf8Len(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/**
 * Decides, for each filter, whether the kernel described by `caps` can run it, and builds the kernel values.
 * Pure: call it again with other caps to see what a different kernel side would do.
 */
export function planKernel(
  c: Pick<CompiledPolicies, 'policies' | 'events' | 'user'>,
  caps: KernelCaps,
): KernelPlan {
  const placements: Placement[] = [];
  let userScopeMask = 0n;
  const place = (policy: number, filter: string, reason: string, event?: string) => {
    placements.push({
      policy,
      ...(event === undefined ? {} : { event }),
      filter,
      where: reason === '' ? 'kernel' : 'user',
      reason,
    });
    if (reason !== '' && event === undefined) userScopeMask |= bit(policy);
  };

  const scopes = c.user.scopes.map((s, policy): KernelScope => {
    const range = (
      list: readonly NumberFilter[],
      allowed: boolean,
      max: bigint,
      what: string,
    ): Range | null => {
      let r: Range | null = null;
      for (const f of list) {
        const fr = allowed ? asRange(f, max) : null;
        if (fr === null) {
          place(
            policy,
            f.source,
            allowed
              ? `the kernel takes a ${what} range; sets and '!=' run in userspace`
              : `no ${what} filter in the kernel`,
          );
          continue;
        }
        r = r === null ? fr : { min: bmax(fr.min, r.min), max: bmin(fr.max, r.max) };
        place(policy, f.source, '');
      }
      return r;
    };
    const uid = range(s.uid, caps.scope.uidRange, U32_MAX, 'uid');
    const pid = range(s.pid, caps.scope.pidRange, PID_MAX, 'pid');

    let comm: string[] | null = null;
    for (const f of s.comm) {
      const cs = caps.scope.commSet;
      const reason =
        cs === null
          ? 'no comm filter in the kernel'
          : comm !== null
            ? 'the kernel takes one comm set per policy'
            : f.op !== '='
              ? "the kernel takes comm '=' sets only"
              : f.patterns.some((p) => p.kind !== 'exact')
                ? 'the kernel matches whole comm names only'
                : f.patterns.length > cs.maxEntries
                  ? `the kernel's comm set holds ${cs.maxEntries} names`
                  : f.patterns.some((p) => utf8Len(p.text) >= cs.maxBytes)
                    ? `a comm name has at most ${cs.maxBytes - 1} bytes (longer names never match in the kernel)`
                    : '';
      if (reason === '') comm = f.patterns.map((p) => p.text);
      place(policy, f.source, reason);
    }
    const nsSet = (list: readonly NumberFilter[], ok: boolean, what: string): bigint[] | null => {
      let set: bigint[] | null = null;
      for (const f of list) {
        const reason = !ok
          ? `no ${what} filter in the kernel`
          : set !== null
            ? `the kernel takes one ${what} set per policy`
            : f.op !== '='
              ? `the kernel takes ${what} '=' sets only`
              : '';
        if (reason === '') set = [...f.values];
        place(policy, f.source, reason);
      }
      return set;
    };
    const mntns = nsSet(s.mntns, caps.scope.mntnsSet, 'mntns');
    const pidns = nsSet(s.pidns, caps.scope.pidnsSet, 'pidns');
    for (const f of s.tree) place(policy, f.source, 'process trees are tracked in userspace');
    for (const f of s.uts) place(policy, f.source, 'no uts filter in the kernel');
    for (const f of s.exec) place(policy, f.filter.source, 'executable paths are matched in userspace');
    for (const f of s.container) place(policy, f.source, 'containers are resolved in userspace');
    const newPid = s.newPid && caps.scope.newPid;
    const follow = s.follow && caps.scope.follow;
    for (const flag of s.flags) {
      if (flag.startsWith('pid'))
        place(policy, flag, caps.scope.newPid ? '' : 'no new-process flag in the kernel');
      else if (flag === 'follow')
        place(policy, flag, caps.scope.follow ? '' : 'no follow support in the kernel');
    }
    return { policy, uid, pid, comm, mntns, pidns, newPid, follow };
  });

  const kernelEvents = new Map<number, KernelEvent>();
  for (const [id, e] of c.events) {
    const list: KernelEventFilter[] = [];
    let userMask = e.selectedMask & userScopeMask;
    const byPolicy = c.user.filters.get(id);
    for (const [policy, set] of byPolicy ?? []) {
      const strings: KernelStringMatch[] = [];
      const compares: KernelCompare[] = [];
      let argSlots = caps.event.argCompares;
      let retSlots = caps.event.retvalCompares;
      const user = (filter: string, reason: string) => {
        place(policy, filter, reason, e.name);
        userMask |= bit(policy);
      };
      for (const a of set.args) {
        const f = a.filter;
        if (f.kind === 'string') {
          const sm = caps.event.stringMatch;
          const p = f.patterns[0];
          const reason =
            sm === null
              ? 'no string filters in the kernel'
              : a.type !== 'string'
                ? 'string lists are matched in userspace'
                : strings.length >= sm.count
                  ? `the kernel takes ${sm.count} string match per event and policy`
                  : f.op !== '=' || f.patterns.length !== 1 || p === undefined
                    ? "the kernel takes one '=' value per string match"
                    : !(sm.kinds as readonly string[]).includes(p.kind)
                      ? `the kernel matches ${sm.kinds.join('/')} strings, not ${p.kind}`
                      : utf8Len(p.text) > sm.maxBytes
                        ? `the kernel compares at most ${sm.maxBytes} bytes`
                        : '';
          if (reason === '' && p !== undefined && p.kind !== 'contains') {
            strings.push({ arg: a.index, kind: p.kind, value: p.text });
            place(policy, f.source, '', e.name);
          } else user(f.source, reason);
          continue;
        }
        const v = f.values[0];
        const reason =
          argSlots < 1
            ? `the kernel takes ${caps.event.argCompares} numeric argument compares per event and policy`
            : f.values.length !== 1 || v === undefined
              ? 'the kernel compares one value; alternatives run in userspace'
              : !caps.event.ops.includes(f.op)
                ? `no '${f.op}' compare in the kernel`
                : '';
        if (reason === '' && v !== undefined) {
          argSlots--;
          compares.push({ target: a.index, type: a.type, op: f.op, value: v });
          place(policy, f.source, '', e.name);
        } else user(f.source, reason);
      }
      for (const r of set.retval) {
        const f = r.filter;
        const v = f.values[0];
        const reason =
          retSlots < 1
            ? `the kernel takes ${caps.event.retvalCompares} return-value compare per event and policy`
            : f.values.length !== 1 || v === undefined
              ? 'the kernel compares one value; alternatives run in userspace'
              : !caps.event.ops.includes(f.op)
                ? `no '${f.op}' compare in the kernel`
                : '';
        if (reason === '' && v !== undefined) {
          retSlots--;
          compares.push({ target: 'retval', type: 'int64', op: f.op, value: v });
          place(policy, f.source, '', e.name);
        } else user(f.source, reason);
      }
      for (const x of set.context) user(x.filter.source, 'event context filters run in userspace');
      if (strings.length > 0 || compares.length > 0) list.push({ policy, strings, compares });
    }
    kernelEvents.set(id, { selectedMask: e.selectedMask, filters: list, userMask });
  }
  return { caps, scopes, events: kernelEvents, placements };
}
