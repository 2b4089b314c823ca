/**
 * The live capture handle. `openCapture` probes the kernel, opens build/bpf/ktrail.bpf.o, checks its maps
 * against the ABI this build was generated for (src/abi/abi.gen.ts), writes the run's settings (read-only
 * data), sizes the ring, loads, writes the configuration maps, attaches the two syscall programs (plus the
 * sched_process_* ones when lifecycle events are selected or the process tree is on, the packet programs when
 * a packet event is: cgroup_skb and cgroup/sock_create on the cgroup v2 root, their BTF tracepoints) and starts
 * the ring poller. With a compiled KernelPlan (CaptureSpec.kernelPlan), the policy maps are filled too, and the kernel
 * drops records no policy can match (scopes at sys_enter, argument and return-value filters at sys_exit),
 * counting them in stats().events[id].filtered.
 * Records arrive in batches (one Buffer holding many records, each prefixed by its u32 length) through the
 * `onBatch` callback. `close()` detaches, drains the ring one last time and frees everything.
 *
 * Concurrency: one Capture per process at a time is the tested case; all methods run on the main thread.
 * Lifetime: a failure before everything is attached closes what was opened, so no half-started tracer
 * stays in the kernel. Native failures are NativeError (src/errors.ts).
 */
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  maps as ABI_MAPS,
  kt_map_limit,
  kt_net_limit,
  kt_setting_flag,
  kt_wire_limit,
  sections,
} from '../abi/abi.gen.js';
import { eventById, eventByName } from '../catalog/index.js';
import type { EventSpec } from '../catalog/types.js';
import { KtrailError } from '../errors.js';
import { loadNative, type NativeAddon, type NativeBpfObject, packageRoot } from '../native/binding.js';
import type { KernelPlan } from '../policy/compile.js';
import { requireCapabilities } from './capabilities.js';
import {
  CGROUP_LIFECYCLE,
  type EventStats,
  encodeCompatNr,
  encodeLifecycleConfig,
  encodeNetConfig,
  encodeSettings,
  encodeSyscallConfig,
  encodeTraced,
  type KernelEventSlot,
  LIFECYCLE_EVENTS,
  type NetStats,
  netClasses,
  sumNetStats,
  sumStats,
  u32Key,
} from './config.js';
import { describeMissing, type FeatureReport, missingRequired, probeFeatures } from './features.js';
import { type EncodedPlan, encodeKernelPlan, lateScope } from './filters.js';
import { withCgroup2Root } from './net-support.js';

/**
 * The syscall programs of ktrail.bpf.o, enter then exit: BTF-typed (direct loads from the registers) and
 * raw tracepoint (probe reads) variants of the same code; `bpftool prog show` lists them cut to 15 chars.
 */
const SYSCALL_PROGRAMS = {
  btf: ['tp_btf__syscalls__sys_enter', 'tp_btf__syscalls__sys_exit'],
  raw: ['raw_tp__syscalls__sys_enter', 'raw_tp__syscalls__sys_exit'],
} as const;
const RING_MAP = 'events_map';
/** Entry/exit pairing: task-local storage, or the LRU hash fallback (maps.h). */
const ENTRY_STORAGE = 'task_entry_storage';
const ENTRY_HASH = 'task_entry_map';
const SETTINGS = '.rodata.settings';
const TRACED = '.data.traced';
/**
 * The packet programs (bpf/include/common/net.h), in attach order: the socket owner stamps first (connect and
 * listen, sends and receives), then socket creation, then the packet hooks, so that a packet meets an owner.
 */
const NET_TRACEPOINTS = [
  'tp_btf__sock__inet_sock_set_state',
  'tp_btf__sock__sock_send_length',
  'tp_btf__sock__sock_recv_length',
] as const;
const NET_CGROUP_PROGRAMS = [
  'cgroup_sock__net__sock_create',
  'cgroup_skb__net__egress',
  'cgroup_skb__net__ingress',
] as const;
const NET_DATA = '.data.net';
const NET_EVENT_ID: number = kt_net_limit.KT_NET_EVENT_ID;

/** True for the packet events (catalog events with `packet` facts): reported from net_packet_base records. */
function isPacketEvent(e: EventSpec): boolean {
  return e.packet !== undefined;
}

/** The policies selecting any of the packet events of `events` (the `matched` of packet records). */
function netSelected(events: readonly EventSpec[], selectedOf: (id: number) => bigint): bigint {
  let m = 0n;
  for (const e of events) if (isPacketEvent(e)) m |= selectedOf(e.id);
  return m;
}

/** One syscall as configured: its own event's selection and the kernel events it gives. */
interface SyscallPlan {
  readonly spec: EventSpec;
  readonly selected: bigint;
  readonly kernel: KernelEventSlot[];
}

/**
 * The syscalls to configure, by x86_64 number: every traced syscall event, and every syscall a traced kernel
 * event is built around (with its own event unselected unless it is traced too).
 */
export function syscallPlan(
  events: readonly EventSpec[],
  selectedOf: (id: number) => bigint,
  filteredOf: (id: number) => bigint,
): Map<number, SyscallPlan> {
  const out = new Map<number, SyscallPlan>();
  const entry = (sys: EventSpec, selected: bigint): SyscallPlan => {
    const nr = sys.syscall!.nr;
    let p = out.get(nr);
    if (p === undefined) {
      p = { spec: sys, selected, kernel: [] };
      out.set(nr, p);
    }
    return p;
  };
  for (const e of events) if (e.syscall !== undefined) entry(e, selectedOf(e.id));
  for (const e of events) {
    if (e.kernel === undefined) continue;
    for (const source of e.kernel.sources) {
      const sys = eventByName(source.syscall);
      if (sys?.syscall === undefined)
        throw new TypeError(`${e.name}: ${source.syscall} is not a syscall event`);
      entry(sys, 0n).kernel.push({
        event: e,
        source,
        selected: selectedOf(e.id),
        filtered: filteredOf(e.id),
      });
    }
  }
  return out;
}

/** The `.data.traced` value for a syscall plan: the traced x86_64 numbers and their i386 numbers. */
function tracedValue(plan: ReadonlyMap<number, SyscallPlan>): Buffer {
  const compat = [...plan.values()].flatMap((p) =>
    (p.spec.syscall?.compatNrs ?? []).filter((c) => c < kt_wire_limit.KT_MAX_SYSCALLS),
  );
  return encodeTraced(plan.keys(), compat);
}

/**
 * The kernel fast paths of a capture (bpf/include/maps.h enum kt_setting_flag). Each is on by default where
 * the kernel allows it; turning one off makes the programs take the slower path they keep as a fallback, so
 * that a benchmark can measure what each buys side by side. Output is the same either way.
 */
export interface FastPaths {
  /** Attach the BTF-typed (tp_btf) syscall programs where the kernel allows; off: the raw_tp fallback. */
  readonly btfPrograms?: boolean;
  /** Pair a syscall's entry and exit in task-local storage (needs FeatureReport.taskStorage); off: an LRU hash. */
  readonly taskStorage?: boolean;
  /** Read the task's fields of each record with direct loads (tp_btf programs only); off: probe reads. */
  readonly directTask?: boolean;
  /** Wake the consumer once per crossing of the wakeup mark; off: on every record past the mark. */
  readonly wakeOnCrossing?: boolean;
  /** Build small syscall records in place in the ring; off: in a per-CPU scratch area, then copied. */
  readonly ringReserve?: boolean;
  /** Read a path the syscall record and security_file_open both carry once; off: once for each. */
  readonly strOnce?: boolean;
}

/** The kt_settings_t.flags word for `wanted` on a kernel with `features`. */
export function fastPathFlags(features: FeatureReport, wanted: FastPaths = {}): number {
  const F = kt_setting_flag;
  let flags = 0;
  if (features.taskStorage && wanted.taskStorage !== false) flags |= F.KT_SET_TASK_STORAGE;
  if (features.tpBtf && wanted.directTask !== false) flags |= F.KT_SET_DIRECT_TASK;
  if (wanted.wakeOnCrossing !== false) flags |= F.KT_SET_WAKE_CROSSING;
  if (wanted.ringReserve !== false) flags |= F.KT_SET_RING_RESERVE;
  if (wanted.strOnce !== false) flags |= F.KT_SET_STR_ONCE;
  return flags;
}
const DEFAULT_RING_BYTES = 8 << 20;
const PAGE = 4096;

/** The lifecycle events with their catalog ids, in slot order. */
const LIFECYCLE = LIFECYCLE_EVENTS.map((l) => ({ ...l, id: eventByName(l.name)!.id }));

/** Whether lifecycle slot `l` is wanted internally: the process tree's or the container state's records. */
function internalFor(l: (typeof LIFECYCLE)[number], spec: CaptureSpec): boolean {
  return CGROUP_LIFECYCLE.has(l.name) ? spec.containers === true : spec.processTree === true;
}

/** True when `id` is one of the lifecycle events (sched_process_*, cgroup_*). */
function isLifecycleEvent(id: number): boolean {
  return LIFECYCLE.some((l) => l.id === id);
}

export interface CaptureSpec {
  /**
   * Events to trace: syscall events (id < 512), the lifecycle events sched_process_fork/exec/exit, kernel
   * events (catalog events with `kernel` facts: security_file_open, ...) and packet events (with `packet`
   * facts: net_packet_dns, ...). Packet events arrive as net_packet_base records (id 700) of the packets of the
   * classes they need, which the caller derives them from (src/net); their programs need CAP_NET_ADMIN and the
   * cgroup v2 root (mounted, or mounted for a moment with CAP_SYS_ADMIN: src/capture/net-support.ts).
   */
  readonly events: readonly EventSpec[];
  /**
   * Also emit sched_process_fork/exec/exit records for the process tree (src/enrich) when they are not
   * selected; those arrive flagged KT_F_INTERNAL (TraceEvent.internal) and must not be printed. Default false.
   */
  readonly processTree?: boolean;
  /**
   * Also emit cgroup_mkdir/cgroup_rmdir records for the container state (src/containers) when they are not
   * selected, flagged KT_F_INTERNAL like the process tree's. Default false.
   */
  readonly containers?: boolean;
  /**
   * The kernel half of compiled policies (CompiledPolicies.kernel). Each event's `selected` becomes its
   * selectedMask and the scopes and filters go into the policy maps, so the kernel drops what no policy can
   * match and each record's `matched` holds the policies the kernel kept (userspace must re-check them:
   * the kernel runs a relaxation). Events of `events` absent from the plan get every policy, scopes only.
   * Without a plan, every record carries policy bit 0.
   */
  readonly kernelPlan?: KernelPlan;
  /**
   * Event ids whose records are wanted whenever some policy's scope matches, whatever the policies select
   * and filter (events detection rules read); with kernelPlan only.
   */
  readonly scopeOnlyEvents?: readonly number[];
  /** ktrail's start, boot ns, for `pid=new` scopes (default: the boot clock when openCapture runs). */
  readonly startBootNs?: bigint;
  /** The BPF object (default build/bpf/ktrail.bpf.o under the package root). */
  readonly objectPath?: string;
  /** Kernel fast paths to turn off (all on by default where the kernel allows them); for benchmarks. */
  readonly fastPaths?: FastPaths;
  /** Ring buffer bytes: a power of two, at least one page (default 8 MiB). */
  readonly ringBytes?: number;
  /** Wake the poller once this many bytes wait (default ringBytes / 8). */
  readonly wakeupBytes?: number;
  /** Poll timeout, ms (default 10): bounds the delay of a trickle of records. */
  readonly pollTimeoutMs?: number;
  /** Hand a batch over at this size (default 256 KiB). */
  readonly batchBytes?: number;
  /** Native batches queued for JS before the poller blocks (default 16). */
  readonly queueDepth?: number;
  /**
   * Receives each batch on the main thread, records back to back, each prefixed by its u32 length. The
   * buffer is only valid during the call. A throwing consumer is reported through onError.
   */
  readonly onBatch: (batch: Buffer) => void;
  /** Poller failures and consumer exceptions (default: written to stderr). */
  readonly onError?: (err: Error) => void;
}

export interface CaptureStats {
  /** Per event id, summed over CPUs. */
  readonly events: ReadonlyMap<number, EventStats>;
  /** Batches and bytes delivered to JS so far. */
  readonly batches: number;
  readonly bytes: number;
}

/** The kernel's loss counters of `stats`, by event name, in id order; events without loss are left out. */
export function lostByName(stats: CaptureStats): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const [id, s] of [...stats.events].sort((a, b) => a[0] - b[0]))
    if (s.lost > 0n) out.set(eventById(id)?.name ?? String(id), s.lost);
  return out;
}

/** A running capture. Create with openCapture. */
export class Capture {
  /** Feature probe results taken at start (fentry is not probed there: false). */
  readonly features: FeatureReport;
  /** Milliseconds from openCapture() to the programs attached and the poller running. */
  readonly startupMs: number;
  readonly #obj: NativeBpfObject;
  #eventIds: readonly number[];
  readonly #spec: CaptureSpec;
  readonly #attached: readonly string[];
  /** The packet programs are attached: packet events may be selected, net_stats_map is read. */
  readonly #net: boolean;
  /** What the policy maps hold now (updatePlan replaces it). */
  #target: PolicyTarget;
  #closing: Promise<void> | undefined;
  #closed = false;
  #batches = 0;
  #bytes = 0;

  /** @internal use openCapture */
  constructor(
    obj: NativeBpfObject,
    spec: CaptureSpec,
    features: FeatureReport,
    startedAt: number,
    attached: readonly string[],
  ) {
    this.#obj = obj;
    this.#spec = spec;
    this.#attached = attached;
    this.#net = attached.includes(NET_CGROUP_PROGRAMS[2]);
    this.features = features;
    this.#target = {
      events: spec.events,
      kernelPlan: spec.kernelPlan,
      scopeOnlyEvents: spec.scopeOnlyEvents,
    };
    this.#eventIds = [
      ...new Set([
        ...spec.events.filter((e) => !isPacketEvent(e)).map((e) => e.id),
        ...LIFECYCLE.filter((l) => internalFor(l, spec)).map((e) => e.id),
        ...(this.#net ? [NET_EVENT_ID] : []),
      ]),
    ];
    obj.startRing(RING_MAP, (err, batch) => this.#deliver(err, batch), {
      timeoutMs: spec.pollTimeoutMs ?? 10,
      batchBytes: spec.batchBytes ?? 256 * 1024,
      queueDepth: spec.queueDepth ?? 16,
    });
    this.startupMs = performance.now() - startedAt;
  }

  #fail(err: Error): void {
    if (this.#spec.onError !== undefined) this.#spec.onError(err);
    else process.stderr.write(`ktrail: ${err.message}\n`);
  }

  #deliver(err: Error | null, batch: Buffer | undefined): void {
    if (err !== null) {
      this.#fail(err);
      return;
    }
    if (batch === undefined) return;
    this.#batches++;
    this.#bytes += batch.length;
    try {
      this.#spec.onBatch(batch);
    } catch (e) {
      // A throwing consumer must not kill the poller; report it like a poller failure.
      this.#fail(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** Kernel counters per selected event plus delivery counters. Valid until close() returns. */
  stats(): CaptureStats {
    const events = new Map<number, EventStats>();
    if (!this.#closed) {
      const slot = Math.ceil(this.#obj.mapInfo('stats_map').valueSize / 8) * 8;
      for (const id of this.#eventIds) {
        const v = this.#obj.mapLookup('stats_map', u32Key(id));
        if (v !== null) events.set(id, sumStats(v, slot));
      }
    }
    return { events, batches: this.#batches, bytes: this.#bytes };
  }

  /**
   * The packet counters (unattributed, truncated, busy), summed over CPUs; undefined when no packet program is
   * attached or after close. The packet records themselves are counted in stats().events[700].
   */
  netStats(): NetStats | undefined {
    if (this.#closed || !this.#net) return undefined;
    const v = this.#obj.mapLookup('net_stats_map', u32Key(0));
    return v === null
      ? undefined
      : sumNetStats(v, Math.ceil(this.#obj.mapInfo('net_stats_map').valueSize / 8) * 8);
  }

  /** Bytes waiting in the ring (records not yet read by the poller) and the ring's size; zeros after close. */
  ringFill(): { used: number; size: number } {
    if (this.#closed) return { used: 0, size: 0 };
    return this.#obj.ringFill(RING_MAP);
  }

  /**
   * The attached programs' kernel run counters: total ns spent in each and its runs. They only count while
   * the sysctl kernel.bpf_stats_enabled is 1 (benchmarks turn it on); empty after close.
   */
  programStats(): { name: string; runTimeNs: number; runCount: number }[] {
    if (this.#closed) return [];
    return this.#obj
      .programs()
      .filter((p) => this.#attached.includes(p.name))
      .map((p) => ({ name: p.name, runTimeNs: p.runTimeNs ?? 0, runCount: p.runCount ?? 0 }));
  }

  /**
   * Replace what is traced and the policy maps (scope_map, scope_ns_map, filter_map, the policy fields of
   * syscall_cfg_map and lifecycle_cfg_map) without detaching anything: the same object, ring and seq_map stay,
   * so sequence numbers continue. Three steps, so that no record a policy of the old or the new set would
   * keep is dropped by the kernel on the way:
   *   1. every event of the old and the new set passes the kernel for every policy (no scope, no filter);
   *   2. `settled()` runs: the caller waits there until the records made under the old maps are consumed and
   *      switches userspace to the new policies (the pipeline re-checks every record exactly);
   *   3. the maps are rewritten for `next`; follow marks are carried over through `next.followRemap` (old
   *      policy bits → new ones; marks it maps to 0 are dropped) and syscalls no longer traced are switched off.
   * Follow marks a process would have earned during the swap (milliseconds) are not made. Events must be
   * syscalls or lifecycle events whose programs were loaded at start (CaptureSpec.processTree loads all three).
   * Throws KtrailError USAGE for such an event before touching a map; a map failure after step 1 leaves
   * the relaxed maps of step 1 in place (sound: userspace still filters) and rethrows. Main thread only; not
   * concurrently with itself.
   */
  async updatePlan(next: PolicyUpdate, settled: () => Promise<void>): Promise<void> {
    if (this.#closed || this.#closing !== undefined)
      throw new KtrailError('USAGE', 'updating the plan: the capture is closed');
    const loaded = LIFECYCLE.filter((l) => this.#attached.includes(l.program));
    for (const e of next.events) {
      const ok = isLifecycleEvent(e.id)
        ? loaded.some((l) => l.id === e.id)
        : isPacketEvent(e)
          ? this.#net
          : isCapturedSyscall(e) || (e.kernel !== undefined && e.id < kt_map_limit.KT_MAX_EVENT_IDS);
      if (!ok)
        throw new KtrailError('USAGE', `updating the plan: ${e.name} cannot be added to a running capture`, {
          hint: 'restart ktrail to trace it',
        });
    }
    const obj = this.#obj;
    const spec = this.#spec;
    const before = policyMaps(this.#target);
    const after = policyMaps(next);
    // 1. Relax: the union passes (the syscalls and kernel events of both plans, every policy), nothing is
    // scoped, filtered or followed.
    const union = new Map<number, EventSpec>();
    for (const e of [...this.#target.events, ...next.events]) union.set(e.id, e);
    const relaxed = syscallPlan(
      [...union.values()].filter((e) => !isPacketEvent(e)),
      () => ALL_POLICIES,
      () => 0n,
    );
    if (this.#net)
      obj.mapUpdate(NET_DATA, u32Key(0), encodeNetConfig(ALL_POLICIES, netClasses([...union.values()])));
    for (const [nr, sc] of relaxed) {
      const sel = union.has(sc.spec.id) ? ALL_POLICIES : 0n;
      obj.mapUpdate('syscall_cfg_map', u32Key(nr), encodeSyscallConfig(sc.spec, sel, {}, sc.kernel));
      for (const c of sc.spec.syscall?.compatNrs ?? [])
        if (c < kt_wire_limit.KT_MAX_SYSCALLS) obj.mapUpdate('compat_nr_map', u32Key(c), encodeCompatNr(nr));
    }
    obj.mapUpdate(TRACED, u32Key(0), tracedValue(relaxed));
    for (const l of loaded)
      obj.mapUpdate(
        'lifecycle_cfg_map',
        u32Key(l.slot),
        encodeLifecycleConfig(l.id, union.has(l.id) ? ALL_POLICIES : 0n, internalFor(l, spec)),
      );
    // Until step 3 is done the old plan's map entries stay what a later update must remove.
    this.#target = { ...this.#target, events: [...union.values()] };
    this.#eventIds = [...new Set([...this.#eventIds, ...union.keys()])];
    // 2. The caller switches userspace.
    await settled();
    // 3. The new maps, then the new configuration entries that make them count.
    if (next.followRemap !== undefined) {
      for (const key of obj.mapKeys('follow_map')) {
        const v = obj.mapLookup('follow_map', key);
        if (v === null) continue;
        const bits = next.followRemap(v.readBigUInt64LE(0));
        if (bits === 0n) obj.mapDelete('follow_map', key);
        else obj.mapUpdate('follow_map', key, u64Value(bits));
      }
    }
    const enc = after.enc;
    for (const m of enc?.scopes ?? []) obj.mapUpdate('scope_map', m.key, m.value);
    const keep = (list: readonly { key: Buffer }[] | undefined) =>
      new Set((list ?? []).map((m) => m.key.toString('hex')));
    const nsKeep = keep(enc?.ns);
    for (const m of before.enc?.ns ?? [])
      if (!nsKeep.has(m.key.toString('hex'))) obj.mapDelete('scope_ns_map', m.key);
    for (const m of enc?.ns ?? []) obj.mapUpdate('scope_ns_map', m.key, m.value);
    const filterKeep = keep(enc?.filters);
    for (const m of before.enc?.filters ?? [])
      if (!filterKeep.has(m.key.toString('hex'))) obj.mapDelete('filter_map', m.key);
    for (const m of enc?.filters ?? []) obj.mapUpdate('filter_map', m.key, m.value);
    const scoped = enc?.scoped ?? 0n;
    const follow = enc?.follow ?? 0n;
    for (const l of loaded) {
      const chosen = next.events.some((e) => e.id === l.id);
      obj.mapUpdate(
        'lifecycle_cfg_map',
        u32Key(l.slot),
        encodeLifecycleConfig(l.id, chosen ? after.selectedOf(l.id) : 0n, internalFor(l, spec), {
          scoped,
          follow,
        }),
      );
    }
    const planned = syscallPlan(
      next.events.filter((e) => !isPacketEvent(e)),
      after.selectedOf,
      (id) => enc?.filtered.get(id) ?? 0n,
    );
    for (const [nr, sc] of relaxed) {
      const p = planned.get(nr);
      const cfg =
        p === undefined
          ? encodeSyscallConfig(sc.spec, 0n)
          : encodeSyscallConfig(
              p.spec,
              p.selected,
              {
                filtered: enc?.filtered.get(p.spec.id) ?? 0n,
                lateScope: enc !== undefined && scoped !== 0n && lateScope(p.spec, enc.comm),
                scoped,
                follow,
              },
              p.kernel,
            );
      obj.mapUpdate('syscall_cfg_map', u32Key(nr), cfg);
    }
    obj.mapUpdate(TRACED, u32Key(0), tracedValue(planned));
    if (this.#net)
      obj.mapUpdate(
        NET_DATA,
        u32Key(0),
        encodeNetConfig(netSelected(next.events, after.selectedOf), netClasses(next.events)),
      );
    this.#target = {
      events: next.events,
      kernelPlan: next.kernelPlan,
      scopeOnlyEvents: next.scopeOnlyEvents,
    };
  }

  /**
   * Detach every program, deliver what the ring still holds, stop the poller and free the object.
   * Idempotent: later calls return the same promise.
   */
  close(): Promise<void> {
    if (this.#closing === undefined) this.#closing = this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    try {
      for (const p of this.#attached) this.#obj.detach(p);
      await this.#obj.stopRing();
    } finally {
      this.#obj.close();
      this.#closed = true;
    }
  }
}

/** The policy half of a CaptureSpec: what updatePlan replaces. */
export interface PolicyTarget {
  readonly events: readonly EventSpec[];
  readonly kernelPlan?: KernelPlan | undefined;
  readonly scopeOnlyEvents?: readonly number[] | undefined;
}

export interface PolicyUpdate extends PolicyTarget {
  /** Old follow-policy bits of a process → its bits under the new plan (e.g. matched by policy name). */
  readonly followRemap?: (bits: bigint) => bigint;
}

/** Every policy bit: the relaxed configuration of updatePlan (userspace ignores the kernel's bits). */
const ALL_POLICIES = (1n << 64n) - 1n;

function u64Value(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v, 0);
  return b;
}

function isCapturedSyscall(e: EventSpec): boolean {
  return (
    e.syscall !== undefined &&
    e.syscall.nr < kt_wire_limit.KT_MAX_SYSCALLS &&
    e.id < kt_map_limit.KT_MAX_EVENT_IDS
  );
}

/** The encoded policy maps of a target and each event's selected bitmap, as openCapture writes them. */
function policyMaps(t: PolicyTarget): { enc: EncodedPlan | undefined; selectedOf: (id: number) => bigint } {
  const plan = t.kernelPlan;
  const scopeOnly = new Set(t.scopeOnlyEvents ?? []);
  const enc = plan === undefined ? undefined : encodeKernelPlan(plan, t.events, (id) => !scopeOnly.has(id));
  const allPolicies = plan === undefined ? 1n : (1n << BigInt(Math.max(plan.scopes.length, 1))) - 1n;
  const selectedOf = (id: number): bigint => {
    if (plan === undefined) return 1n;
    const ke = plan.events.get(id);
    return ke === undefined || scopeOnly.has(id) ? allPolicies : ke.selectedMask;
  };
  return { enc, selectedOf };
}

function checkSpec(spec: CaptureSpec): number {
  const ring = spec.ringBytes ?? DEFAULT_RING_BYTES;
  if (!Number.isInteger(ring) || ring < PAGE || (ring & (ring - 1)) !== 0) {
    throw new KtrailError('USAGE', `sizing the ring buffer: ${ring} bytes is not a power of two >= ${PAGE}`, {
      hint: 'use a size such as 8388608 (8 MiB)',
    });
  }
  if (spec.events.length === 0 && spec.containers !== true) {
    throw new KtrailError('USAGE', 'starting the capture: no event selected');
  }
  for (const e of spec.events) {
    if (
      isLifecycleEvent(e.id) ||
      isPacketEvent(e) ||
      (e.kernel !== undefined && e.id < kt_map_limit.KT_MAX_EVENT_IDS)
    )
      continue;
    if (
      e.syscall === undefined ||
      e.syscall.nr >= kt_wire_limit.KT_MAX_SYSCALLS ||
      e.id >= kt_map_limit.KT_MAX_EVENT_IDS
    ) {
      throw new KtrailError(
        'USAGE',
        `selecting ${e.name}: only syscall, process lifecycle, kernel and packet events are captured by this build`,
      );
    }
  }
  return ring;
}

/**
 * Stops with a clear error when the object's maps or settings section differ in size from what this build's
 * TypeScript was generated for (a stale object, or an object from another version of ktrail).
 */
export function checkObjectAbi(obj: Pick<NativeBpfObject, 'mapInfo'>, path: string): void {
  const wanted = [
    ...Object.entries(ABI_MAPS).map(([name, m]) => ({ name, keySize: m.keySize, valueSize: m.valueSize })),
    ...Object.entries(sections).map(([name, s]) => ({ name, keySize: 4, valueSize: s.size })),
  ];
  for (const w of wanted) {
    let got: { keySize: number; valueSize: number };
    try {
      got = obj.mapInfo(w.name);
    } catch {
      throw abiError(path, `it has no map ${w.name}`);
    }
    if (got.keySize !== w.keySize || got.valueSize !== w.valueSize)
      throw abiError(
        path,
        `map ${w.name} has ${got.keySize}-byte keys and ${got.valueSize}-byte values, ` +
          `this build of ktrail expects ${w.keySize} and ${w.valueSize}`,
      );
  }
}

function abiError(path: string, why: string): KtrailError {
  return new KtrailError('ABI_MISMATCH', `opening ${path}: ${why}`, {
    hint: 'the BPF object and the TypeScript come from different builds: run npm run setup',
  });
}

/**
 * Start tracing `spec.events`. Throws KtrailError CAPABILITY_MISSING / KERNEL_FEATURE_MISSING /
 * NATIVE_MISSING before touching the kernel, ABI_MISMATCH for an object from another build, NativeError (BPF_LOAD_FAILED,
 * BPF_VERIFIER_REJECTED, BPF_ATTACH_FAILED, LIBBPF) after; in every failure case nothing stays loaded.
 */
export async function openCapture(spec: CaptureSpec, native: NativeAddon = loadNative()): Promise<Capture> {
  const startedAt = performance.now();
  const ringBytes = checkSpec(spec);
  // Capabilities first: without CAP_BPF the feature probes below would all read as "unsupported".
  requireCapabilities();
  // Without the fentry probe (no capture uses fentry): it is redone only to say what is missing.
  const features = probeFeatures(native, { fentry: false });
  const missing = missingRequired(features);
  if (missing.length > 0) {
    const all = probeFeatures(native);
    throw new KtrailError('KERNEL_FEATURE_MISSING', `starting the capture: ${describeMissing(all)}`, {
      hint: 'ktrail needs Linux 5.8+ with CONFIG_DEBUG_INFO_BTF=y',
    });
  }

  const path = spec.objectPath ?? resolve(packageRoot(), 'build', 'bpf', 'ktrail.bpf.o');
  const obj = new native.BpfObject(path);
  try {
    // Steps: check the ABI, write the settings, size the maps, load (verifier), configure, attach, poll.
    checkObjectAbi(obj, path);
    const wakeupFill = spec.wakeupBytes ?? ringBytes / 8;
    const startNs = spec.startBootNs ?? native.clocks().boottime;
    const flags = fastPathFlags(features, spec.fastPaths);
    obj.setInitialValue(SETTINGS, encodeSettings({ selfTgid: process.pid, wakeupFill, startNs, flags }));
    obj.setMapMaxEntries(RING_MAP, ringBytes);
    // The pairing map not used shrinks to one entry; a kernel without task storage gets a hash in its place.
    if ((flags & kt_setting_flag.KT_SET_TASK_STORAGE) !== 0) obj.setMapMaxEntries(ENTRY_HASH, 1);
    else if (!features.taskStorage) {
      obj.setMapType(ENTRY_STORAGE, 'hash');
      obj.setMapMaxEntries(ENTRY_STORAGE, 1);
    }
    const plan = spec.kernelPlan;
    const scopeOnly = new Set(spec.scopeOnlyEvents ?? []);
    const enc: EncodedPlan | undefined =
      plan === undefined ? undefined : encodeKernelPlan(plan, spec.events, (id) => !scopeOnly.has(id));
    const scoped = enc?.scoped ?? 0n;
    const follow = enc?.follow ?? 0n;
    // follow marks are inherited at fork and dropped at exit, so those programs run whenever a policy follows.
    const lifecycle = LIFECYCLE.filter(
      (l) =>
        internalFor(l, spec) ||
        spec.events.some((e) => e.id === l.id) ||
        (follow !== 0n && !CGROUP_LIFECYCLE.has(l.name)),
    );
    for (const l of LIFECYCLE) obj.setAutoload(l.program, lifecycle.includes(l));
    // The BTF-typed syscall programs where the kernel has tp_btf, the raw tracepoint ones elsewhere.
    const btfPrograms = features.tpBtf && spec.fastPaths?.btfPrograms !== false;
    const programs: readonly string[] = btfPrograms ? SYSCALL_PROGRAMS.btf : SYSCALL_PROGRAMS.raw;
    for (const p of [...SYSCALL_PROGRAMS.btf, ...SYSCALL_PROGRAMS.raw])
      obj.setAutoload(p, programs.includes(p));
    // The packet programs only when a packet event is traced.
    const packets = spec.events.filter(isPacketEvent);
    for (const p of [...NET_TRACEPOINTS, ...NET_CGROUP_PROGRAMS]) obj.setAutoload(p, packets.length > 0);
    // One kernel record scratch slot per possible CPU (indexed by CPU number; too large for a per-CPU value).
    obj.setMapMaxEntries('kscratch_map', native.numPossibleCpus());
    obj.load();
    const allPolicies = plan === undefined ? 1n : (1n << BigInt(Math.max(plan.scopes.length, 1))) - 1n;
    const selectedOf = (id: number): bigint => {
      if (plan === undefined) return 1n;
      const ke = plan.events.get(id);
      return ke === undefined || scopeOnly.has(id) ? allPolicies : ke.selectedMask;
    };
    if (enc !== undefined) {
      // Policy maps first: a syscall_cfg_map entry makes its syscall live.
      for (const m of enc.scopes) obj.mapUpdate('scope_map', m.key, m.value);
      for (const m of enc.ns) obj.mapUpdate('scope_ns_map', m.key, m.value);
      for (const m of enc.filters) obj.mapUpdate('filter_map', m.key, m.value);
    }
    for (const l of lifecycle) {
      const chosen = spec.events.some((e) => e.id === l.id);
      const value = encodeLifecycleConfig(l.id, chosen ? selectedOf(l.id) : 0n, internalFor(l, spec), {
        scoped,
        follow,
      });
      obj.mapUpdate('lifecycle_cfg_map', u32Key(l.slot), value);
    }
    const syscalls = syscallPlan(
      spec.events.filter((e) => !isPacketEvent(e)),
      selectedOf,
      (id) => enc?.filtered.get(id) ?? 0n,
    );
    for (const [nr, sc] of syscalls) {
      const cfg = encodeSyscallConfig(
        sc.spec,
        sc.selected,
        {
          filtered: enc?.filtered.get(sc.spec.id) ?? 0n,
          lateScope: enc !== undefined && scoped !== 0n && lateScope(sc.spec, enc.comm),
          scoped,
          follow,
        },
        sc.kernel,
      );
      obj.mapUpdate('syscall_cfg_map', u32Key(nr), cfg);
      for (const c of sc.spec.syscall?.compatNrs ?? []) {
        if (c < kt_wire_limit.KT_MAX_SYSCALLS) obj.mapUpdate('compat_nr_map', u32Key(c), encodeCompatNr(nr));
      }
    }
    // The traced bitmap last: a syscall becomes live once its configuration is complete.
    obj.mapUpdate(TRACED, u32Key(0), tracedValue(syscalls));
    // Exit first: a sys_exit without its entry record is ignored, the reverse would leak entries.
    obj.attach(programs[1]!);
    obj.attach(programs[0]!);
    // Exec and exit before fork: a tree that hears of a child also hears of its end.
    const attached: string[] = [...programs];
    for (const l of [...lifecycle].reverse()) {
      obj.attach(l.program);
      attached.push(l.program);
    }
    if (packets.length > 0) {
      obj.mapUpdate(
        NET_DATA,
        u32Key(0),
        encodeNetConfig(netSelected(packets, selectedOf), netClasses(packets)),
      );
      for (const p of NET_TRACEPOINTS) {
        obj.attach(p);
        attached.push(p);
      }
      // The cgroup v2 root holds every process; a link there sees the sockets of every network namespace.
      withCgroup2Root((root) => {
        for (const p of NET_CGROUP_PROGRAMS) {
          obj.attachCgroup(p, root);
          attached.push(p);
        }
      });
    }
    return new Capture(obj, spec, features, startedAt, attached);
  } catch (e) {
    obj.close();
    throw e;
  }
}
