/**
 * The userspace evaluator: which policies match one decoded event. It implements every filter of
 * CompiledPolicies exactly (the kernel runs a relaxation, see compile.ts), so its answer is the event's
 * `matchedPolicies`. Pure apart from the callbacks in MatchContext; never throws.
 */
import { type ArgValue, findArg, type TraceEvent } from '../decode/event.js';
import type { CompiledPolicies, EventFilterSet } from './compile.js';
import type { ContextField } from './event-filter.js';
import {
  matchNumber,
  matchPattern,
  matchString,
  type NumberFilter,
  type StringFilter,
  type ValueFilter,
} from './filter.js';
import type { ScopeSpec } from './scope.js';

/** Container facts from the enrichment layer; absent fields compare as ''. */
export interface ContainerInfo {
  readonly image?: string;
  readonly imageDigest?: string;
  readonly name?: string;
  readonly podName?: string;
  readonly podNamespace?: string;
  readonly podUid?: string;
  readonly podSandbox?: boolean;
}

/** What the evaluator needs from the process tree and the container layer. All optional. */
export interface MatchContext {
  /**
   * `follow`: true when an ancestor of `hostPid` matched policy `policy`'s scope by itself. The process tree
   * records such matches from matchScopes(). Without it, `follow` adds nothing.
   */
  readonly isDescendantOfMatch?: (hostPid: number, policy: number) => boolean;
  /** `tree=PID`: true when `hostPid` descends from `rootPid`. Without it, only `rootPid` itself matches. */
  readonly isDescendantOf?: (hostPid: number, rootPid: number) => boolean;
  /** `pid=new`: the process started after ktrail. Default: threadStartTime >= startedAtNs (false without it). */
  readonly isNewProcess?: (ev: TraceEvent) => boolean;
  /** ktrail's start, ns since the epoch, for the default isNewProcess. */
  readonly startedAtNs?: bigint;
  /** `container=new`: the container started after ktrail. Without it no container is new. */
  readonly isNewContainer?: (containerId: string) => boolean;
  /**
   * `container`: the container has started (or ran before ktrail), as opposed to a runtime still setting it
   * up. Without it every container counts as started.
   */
  readonly isStartedContainer?: (containerId: string) => boolean;
  /** Container facts for the containerImage/Name/pod filters (default: the event's own `container`). */
  readonly containerInfo?: (ev: TraceEvent) => ContainerInfo | undefined;
}

const bit = (i: number): bigint => 1n << BigInt(i);

/** Bitmaps of a policy set that every event needs, made once per set (bigint arithmetic allocates). */
interface Masks {
  /** Policies without a scope: they admit every process. */
  readonly unscoped: bigint;
  /** bit(i) for each policy. */
  readonly bits: readonly bigint[];
}

const masksOf = new WeakMap<CompiledPolicies, Masks>();

function masks(c: CompiledPolicies): Masks {
  let m = masksOf.get(c);
  if (m === undefined) {
    const n = c.policies.length;
    m = {
      unscoped: (bit(n) - 1n) & ~c.user.scopedMask,
      bits: Array.from({ length: n }, (_, i) => bit(i)),
    };
    masksOf.set(c, m);
  }
  return m;
}

function num(v: number | bigint): bigint {
  return typeof v === 'bigint' ? v : BigInt(Math.trunc(v));
}

function strMatch(f: StringFilter, v: string): boolean {
  return matchString(f, v);
}

function numMatch(f: NumberFilter, v: number | bigint): boolean {
  return matchNumber(f, num(v));
}

function isNewProcess(ev: TraceEvent, ctx: MatchContext): boolean {
  if (ctx.isNewProcess !== undefined) return ctx.isNewProcess(ev);
  return ctx.startedAtNs !== undefined && ev.threadStartTime >= ctx.startedAtNs;
}

/** True when the event's own process satisfies every constraint of `s` (follow not considered). */
export function scopeMatches(s: ScopeSpec, ev: TraceEvent, ctx: MatchContext = {}): boolean {
  const pid = ev.hostProcessId;
  if (!s.uid.every((f) => numMatch(f, ev.userId))) return false;
  if (!s.pid.every((f) => numMatch(f, pid))) return false;
  if (!s.mntns.every((f) => numMatch(f, ev.mountNamespace))) return false;
  if (!s.pidns.every((f) => numMatch(f, ev.pidNamespace))) return false;
  if (!s.comm.every((f) => strMatch(f, ev.processName))) return false;
  if (!s.uts.every((f) => strMatch(f, ev.hostName))) return false;
  if (s.newPid && !isNewProcess(ev, ctx)) return false;
  for (const f of s.tree) {
    const inTree = f.values.some((root) => {
      const r = Number(root);
      return r === pid || (ctx.isDescendantOf?.(pid, r) ?? false);
    });
    if (inTree !== (f.op === '=')) return false;
  }
  for (const f of s.exec) {
    const hit =
      (f.mntns === undefined || BigInt(ev.mountNamespace) === f.mntns) &&
      f.filter.patterns.some((p) => matchPattern(p, ev.executablePath));
    if (hit !== (f.filter.op === '=')) return false;
  }
  const inContainer = ev.containerId !== '' && (ctx.isStartedContainer?.(ev.containerId) ?? true);
  for (const c of s.container) {
    const isNew = inContainer && (ctx.isNewContainer?.(ev.containerId) ?? false);
    let ok: boolean;
    switch (c.mode) {
      case 'container':
        ok = inContainer;
        break;
      case 'host':
        ok = !inContainer;
        break;
      case 'new':
        ok = isNew;
        break;
      case 'not-new':
        ok = inContainer && !isNew;
        break;
      case 'id':
        ok = strMatch(c.filter, ev.containerId);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

function contextValue(
  field: ContextField,
  ev: TraceEvent,
  ctx: MatchContext,
): number | bigint | string | boolean {
  const info = () => (ctx.containerInfo === undefined ? ev.container : ctx.containerInfo(ev));
  switch (field) {
    case 'timestamp':
      return ev.timestamp;
    case 'processorId':
      return ev.processorId;
    case 'processId':
      return ev.processId;
    case 'threadId':
      return ev.threadId;
    case 'parentProcessId':
      return ev.parentProcessId;
    case 'hostThreadId':
      return ev.hostThreadId;
    case 'hostProcessId':
      return ev.hostProcessId;
    case 'hostParentProcessId':
      return ev.hostParentProcessId;
    case 'userId':
      return ev.userId;
    case 'mountNamespace':
      return ev.mountNamespace;
    case 'pidNamespace':
      return ev.pidNamespace;
    case 'processName':
      return ev.processName;
    case 'hostName':
      return ev.hostName;
    case 'cgroupId':
      return ev.cgroupId;
    case 'host':
      return ev.containerId === '';
    case 'container':
      return ev.containerId !== '';
    case 'containerId':
      return ev.containerId;
    case 'containerImage':
      return info()?.image ?? '';
    case 'containerImageDigest':
      return info()?.imageDigest ?? '';
    case 'containerName':
      return info()?.name ?? '';
    case 'podName':
      return info()?.podName ?? '';
    case 'podNamespace':
      return info()?.podNamespace ?? '';
    case 'podUid':
      return info()?.podUid ?? '';
    case 'podSandbox':
      return info()?.podSandbox ?? false;
    case 'syscall':
      return ev.syscall;
  }
}

function valueMatches(f: ValueFilter, v: ArgValue | number | bigint | string | boolean): boolean {
  if (f.kind === 'bool') return (v === true || v === 1 || v === 1n) === f.value;
  if (f.kind === 'string') {
    if (typeof v === 'string') return strMatch(f, v);
    if (Array.isArray(v)) {
      // []string: '=' when any element matches, '!=' when none does.
      const any = (v as readonly unknown[]).some(
        (x) => typeof x === 'string' && f.patterns.some((p) => matchPattern(p, x)),
      );
      return f.op === '=' ? any : !any;
    }
    return false;
  }
  if (typeof v === 'number' || typeof v === 'bigint') return numMatch(f, v);
  if (typeof v === 'boolean') return numMatch(f, v ? 1 : 0);
  return false;
}

function filtersMatch(set: EventFilterSet, ev: TraceEvent, ctx: MatchContext): boolean {
  for (const a of set.args) {
    const arg = findArg(ev, a.field, a.index);
    if (arg === undefined || !valueMatches(a.filter, arg.value)) return false;
  }
  for (const r of set.retval) if (ev.atEntry || !numMatch(r.filter, ev.returnValue)) return false;
  for (const c of set.context) if (!valueMatches(c.filter, contextValue(c.field, ev, ctx))) return false;
  return true;
}

/**
 * The bitmap of policies whose scope the event's process satisfies by itself (follow not considered).
 * Unscoped policies match every process. The pipeline records follow marks from this.
 */
export function ownScopes(c: CompiledPolicies, ev: TraceEvent, ctx: MatchContext = {}): bigint {
  const m = masks(c);
  if (c.user.scopedMask === 0n) return m.unscoped;
  const n = c.policies.length;
  let out = m.unscoped;
  for (let i = 0; i < n; i++) {
    const b = m.bits[i]!;
    if ((c.user.scopedMask & b) === 0n) continue;
    const s = c.user.scopes[i];
    if (s !== undefined && scopeMatches(s, ev, ctx)) out |= b;
  }
  return out;
}

/**
 * The bitmap of policies whose scope admits the event's process: its own scope (`own`, from ownScopes when
 * the caller has it) or, for policies with `follow`, an ancestor that matched by itself. Evaluate it once per
 * event and pass it to matchEvent; detection rules see the events of these policies.
 */
export function matchScopes(
  c: CompiledPolicies,
  ev: TraceEvent,
  ctx: MatchContext = {},
  own = ownScopes(c, ev, ctx),
): bigint {
  let out = own;
  if (c.user.followMask === 0n) return out;
  const missing = c.user.followMask & ~own;
  if (missing === 0n || ctx.isDescendantOfMatch === undefined) return out;
  for (let i = 0; i < c.policies.length; i++) {
    const b = bit(i);
    if ((missing & b) !== 0n && ctx.isDescendantOfMatch(ev.hostProcessId, i)) out |= b;
  }
  return out;
}

/**
 * The bitmap of policies that match `ev` (bit i = policy i): the policy selects the event, its scope admits
 * the process (`scopes`, from matchScopes), and every filter of its rule for this event matches. 0n for
 * events no policy selects. A return-value filter never matches an event emitted at entry.
 */
export function matchEvent(
  c: CompiledPolicies,
  ev: TraceEvent,
  ctx: MatchContext = {},
  scopes?: bigint,
): bigint {
  const e = c.events.get(ev.spec.id);
  if (e === undefined) return 0n;
  let candidates = e.selectedMask & (scopes ?? matchScopes(c, ev, ctx));
  if (candidates === 0n) return 0n;
  const filters = c.user.filters.get(ev.spec.id);
  if (filters === undefined) return candidates;
  for (const [i, set] of filters) {
    const b = bit(i);
    if ((candidates & b) !== 0n && !filtersMatch(set, ev, ctx)) candidates &= ~b;
  }
  return candidates;
}
