/**
 * The live pipeline: a record's way from the ring to the outputs, in one place. For each batch the capture
 * hands over (records back to back, each prefixed by its u32 length), `push` runs, record by record in
 * arrival order:
 *
 *   1. decode        bytes → TraceEvent (src/decode); a record that does not parse is counted and skipped
 *   2. observe       the process tree learns from lifecycle records, internal ones included (src/enrich)
 *   3. enrich        executable path, parent, container id; internal records stop here unless `follow` needs them.
 *                    A packet record (net_packet_base) gives the packet events wanted (src/net), each enriched
 *                    and carried on in its place; a security_socket_connect gives net_tcp_connect after it
 *                    With a container store (src/containers): cgroup records create and remove containers
 *                    (container_create, container_remove), an exec may start one, every event gets its
 *                    container's `containerStarted` and runtime facts, and a container's events wait (in order,
 *                    at most the store's deadline) while its runtime is still being asked
 *   4. scopes        which policies' scopes admit the process, evaluated once (src/policy/match.ts); a process
 *                    matching a follow policy by itself is marked for everything it starts
 *   5. match         printed events: the policies that select the event and whose filters hold
 *   6. detect        rule events: the engine's rules, when some policy's scope admits the process
 *   7. print         the batch's printed events, then its findings, to every printer (src/output)
 *
 * One event at a time: a later exec in the batch must not relabel an earlier event's process. Events a
 * container's lookup held go on, stages 4-7, when the lookup settles (printed as a batch of their own) or at
 * `drain()`.
 *
 * Heartbeat records (heartbeat_event, src/server/heartbeat.ts) go to `onHeartbeat` as they come, in order;
 * `reconfigure` called from there takes effect from the next record on, which is how a policy reload finds
 * the exact point where the kernel's new configuration begins (src/pipeline/reload.ts). Called elsewhere it
 * takes effect from the next batch.
 *
 * Contract: the caller owns the capture and the sinks; the pipeline owns the decoder, the enricher (unless one
 * is passed in), the follow marks, the rule engine and its state. `push` never throws for bad records; a rule
 * that throws is reported through `onRuleError` and the event still reaches the other rules. Main thread
 * only. `close()` releases the enricher it created; the pipeline must not be used after it.
 */
import { kt_heartbeat, kt_map_limit, kt_net_limit } from '../abi/abi.gen.js';
import { catalog, eventById as catalogEventById, eventByName } from '../catalog/index.js';
import type { EventSpec } from '../catalog/types.js';
import { containerEvent, selfEvent } from '../containers/derive.js';
import type { ContainerStore } from '../containers/store.js';
import { type DecodeErrors, Decoder } from '../decode/decode.js';
import { argValue, type TraceEvent } from '../decode/event.js';
import { createEnricher, type Enricher } from '../enrich/index.js';
import { InodeWatch } from '../enrich/inode-watch.js';
import { derivePacketEvents, deriveTcpConnect, type NetCounts, newNetCounts } from '../net/derive.js';
import type { MatchedFinding, Printer } from '../output/printer.js';
import type { CompiledPolicies } from '../policy/compile.js';
import { type MatchContext, matchEvent, matchScopes, ownScopes } from '../policy/match.js';
import { Engine } from '../signatures/engine.js';
import type { AnyRule, RuleDefinition } from '../signatures/types.js';

/** Catalog ids of the container events (src/catalog/events.ts). */
const CONTAINER_CREATE = 2018;
const CONTAINER_REMOVE = 2019;
const EXISTING_CONTAINER = 2020;

/** Processes holding follow marks at once (as the kernel's follow_map). */
const MAX_FOLLOW_MARKS = 65536;

const HEARTBEAT_ID: number = kt_heartbeat.KT_HB_EVENT_ID;
const NET_PACKET_ID: number = kt_net_limit.KT_NET_EVENT_ID;
const PACKET_EVENTS = catalog.filter((e) => e.packet !== undefined);
const TCP_CONNECT = eventByName('net_tcp_connect');

/** What a policy reload replaces (PipelineOptions' policy half). */
export interface PipelineConfig {
  readonly policies: CompiledPolicies;
  readonly printed: ReadonlySet<number>;
  readonly rules?: readonly AnyRule[];
  readonly enabled?: ReadonlySet<AnyRule>;
}

/**
 * Old follow-policy bits → new ones, by policy name: a mark for policy "a" stays a mark for the policy named
 * "a" when the new set still has it with `follow`; marks of policies that are gone are dropped.
 */
export function followRemap(before: CompiledPolicies, after: CompiledPolicies): (bits: bigint) => bigint {
  const to = new Map<number, bigint>();
  const newIndex = new Map(after.policies.map((p) => [p.name, p.index]));
  for (const p of before.policies) {
    if (((before.user.followMask >> BigInt(p.index)) & 1n) === 0n) continue;
    const j = newIndex.get(p.name);
    if (j !== undefined && ((after.user.followMask >> BigInt(j)) & 1n) === 1n)
      to.set(p.index, 1n << BigInt(j));
  }
  return (bits) => {
    let out = 0n;
    for (const [i, b] of to) if (((bits >> BigInt(i)) & 1n) === 1n) out |= b;
    return out;
  };
}

/** The live form of a PipelineConfig. */
interface LiveConfig {
  readonly policies: CompiledPolicies;
  readonly printed: ReadonlySet<number>;
  readonly engine: Engine;
  readonly ruleEvents: ReadonlySet<string>;
  readonly followMask: bigint;
  /** Files the rules watch by identity; read again when a rename or unlink touches one. */
  readonly watch: InodeWatch | undefined;
  /** The packet events printed or read by rules: derived from each packet record. */
  readonly packetEvents: readonly EventSpec[];
  /** net_tcp_connect, when it is printed or read by rules: derived from security_socket_connect. */
  readonly tcpConnect: EventSpec | undefined;
}

export interface PipelineOptions {
  /** The compiled policies: what is printed, scopes and filters, policy names. */
  readonly policies: CompiledPolicies;
  /** Ids of the events printed when a policy matches (TracePlan.printed). */
  readonly printed: ReadonlySet<number>;
  /** Every rule in registry order (finding ids) and the ones that run; none when absent. */
  readonly rules?: readonly AnyRule[];
  readonly enabled?: ReadonlySet<AnyRule>;
  /** Where each batch's printed events and findings go. */
  readonly printers: readonly Printer[];
  /** CLOCK_REALTIME - CLOCK_BOOTTIME, ns: turns the kernel's boot-clock times into epoch times. */
  readonly bootToEpochNs: bigint;
  /** ktrail's start, ns since the epoch (`pid=new`). */
  readonly startedAtNs: bigint;
  /** The process tree and containers; default: a new enricher seeded from /proc, closed by close(). */
  readonly enricher?: Enricher;
  /** Event lookup by id (default: the catalog). */
  readonly eventById?: (id: number) => EventSpec | undefined;
  /**
   * Watch the files rules name by (dev, inode) (src/enrich/inode-watch.ts), so hard links and bind mounts of
   * them match too (default true; false for events that are not from this host).
   */
  readonly inodeWatch?: boolean;
  /** A rule threw on an event (default: the message on stderr). */
  readonly onRuleError?: (rule: RuleDefinition, ev: TraceEvent, error: unknown) => void;
  /**
   * Container state and runtime facts. The caller routes the store's `onSettled` to `containersSettled`; the
   * pipeline discovers the running containers (existing_container) at construction and feeds the store
   * cgroup and exec records. Without it, containers are known by id only.
   */
  readonly containers?: ContainerStore;
  /** Every heartbeat record, in order, before it is matched (printed only when heartbeat_event is). */
  readonly onHeartbeat?: (ev: TraceEvent) => void;
}

export interface PipelineStats {
  /** Records decoded, internal ones included. */
  readonly records: number;
  /** Events written to the printers. */
  readonly printed: number;
  /** Printed-event records no policy matched in userspace (the kernel's filters are a relaxation). */
  readonly filtered: number;
  /** The same per event id. */
  readonly filteredByEvent: ReadonlyMap<number, number>;
  /**
   * Numbered records of events no policy prints now: only detection rules read them, or a reload changed the
   * selection while they were on their way. With `filtered` and the kernel's losses they account for every
   * gap in the printed seq.
   */
  readonly unprinted: number;
  /** Heartbeat records received (printed or not). */
  readonly heartbeats: number;
  /** Policy reloads applied (reconfigure calls). */
  readonly reconfigured: number;
  /** Findings, in all and per rule id. */
  readonly findings: number;
  readonly findingsByRule: ReadonlyMap<string, number>;
  /** Records the decoder skipped, by reason. */
  readonly decodeErrors: Readonly<DecodeErrors>;
  /** Events held for a container's runtime lookup that went on without its facts (none came in time). */
  readonly containerFactsMissing: number;
  /**
   * Network events whose DNS message or HTTP head was cut (by the capture's bound, or split over TCP
   * segments): shown with what was read, marked truncated. By event name.
   */
  readonly netTruncated: ReadonlyMap<string, number>;
  /** Packets whose DNS message or HTTP head did not parse: no event. By event name. */
  readonly netMalformed: ReadonlyMap<string, number>;
}

export class Pipeline {
  #cfg: LiveConfig;
  readonly #onRuleError: (rule: RuleDefinition, ev: TraceEvent, error: unknown) => void;
  readonly #onHeartbeat: ((ev: TraceEvent) => void) | undefined;
  readonly #printers: readonly Printer[];
  readonly #decoder: Decoder;
  readonly #enricher: Enricher;
  readonly #ownsEnricher: boolean;
  /** Host pid → follow policies whose scope the process matched by itself. */
  #followMarks = new Map<number, bigint>();
  readonly #ctx: MatchContext;
  readonly #inodeWatch: boolean;
  readonly #containers: ContainerStore | undefined;
  /** Container id → its events held while its runtime lookup is pending, in arrival order. */
  readonly #held = new Map<string, TraceEvent[]>();
  readonly #eventById: (id: number) => EventSpec | undefined;
  #factsMissing = 0;
  readonly #netCounts: NetCounts = newNetCounts();
  // Per batch, reused.
  readonly #decoded: TraceEvent[] = [];
  readonly #shown: TraceEvent[] = [];
  readonly #found: MatchedFinding[] = [];
  // Counters.
  #records = 0;
  #printedCount = 0;
  #filtered = 0;
  readonly #filteredByEvent = new Uint32Array(kt_map_limit.KT_MAX_EVENT_IDS);
  #findings = 0;
  readonly #findingsByRule = new Map<string, number>();
  #unprinted = 0;
  #heartbeats = 0;
  #reconfigured = 0;
  #pushing = false;
  #pendingNames: readonly string[] | undefined;
  #lastLost = new Map<string, bigint>();

  constructor(opts: PipelineOptions) {
    this.#printers = opts.printers;
    this.#onHeartbeat = opts.onHeartbeat;
    this.#onRuleError =
      opts.onRuleError ??
      ((rule: RuleDefinition, _ev: TraceEvent, e: unknown) => {
        process.stderr.write(
          `ktrail: rule ${rule.id} failed on an event: ${e instanceof Error ? e.message : String(e)}\n`,
        );
      });
    this.#inodeWatch = opts.inodeWatch !== false;
    this.#cfg = this.#live(opts);
    this.#decoder = new Decoder({
      eventById: opts.eventById ?? catalogEventById,
      bootToEpochNs: opts.bootToEpochNs,
    });
    this.#ownsEnricher = opts.enricher === undefined;
    this.#enricher = opts.enricher ?? createEnricher({ bootToEpochNs: opts.bootToEpochNs });
    const tree = this.#enricher.tree;
    const store = opts.containers;
    this.#containers = store;
    this.#eventById = opts.eventById ?? catalogEventById;
    this.#ctx = {
      startedAtNs: opts.startedAtNs,
      isDescendantOfMatch: (pid, policy) =>
        tree.isDescendantOf(
          pid,
          (p) => (((this.#followMarks.get(p.pid) ?? 0n) >> BigInt(policy)) & 1n) === 1n,
        ),
      isDescendantOf: (pid, rootPid) => tree.isDescendantOf(pid, (p) => p.pid === rootPid),
      ...(store === undefined
        ? {}
        : {
            isNewContainer: (id: string) => store.isNew(id),
            isStartedContainer: (id: string) => store.isStarted(id),
          }),
    };
    if (store !== undefined) this.#discover(store);
  }

  #live(c: PipelineConfig): LiveConfig {
    const enabled = c.enabled ?? new Set();
    const rules = c.rules ?? [];
    const watched = rules.filter((r) => enabled.has(r)).flatMap((r) => r.watchFiles ?? []);
    const watch = this.#inodeWatch && watched.length > 0 ? new InodeWatch(watched) : undefined;
    const engine = new Engine(rules, {
      enabled: (r) => enabled.has(r as AnyRule),
      onRuleError: this.#onRuleError,
      ...(watch === undefined ? {} : { host: { watchedInode: (dev, inode) => watch.lookup(dev, inode) } }),
    });
    const ruleEvents = new Set(engine.requiredEvents());
    const wanted = (e: EventSpec) => c.printed.has(e.id) || ruleEvents.has(e.name);
    return {
      policies: c.policies,
      printed: c.printed,
      engine,
      ruleEvents,
      followMask: c.policies.user.followMask,
      watch,
      packetEvents: PACKET_EVENTS.filter(wanted),
      tcpConnect: TCP_CONNECT !== undefined && wanted(TCP_CONNECT) ? TCP_CONNECT : undefined,
    };
  }

  /**
   * Swap the policies, the printed events and the rules. Rules start afresh (their per-process state is not
   * carried over); follow marks move to the new policy of the same name (followRemap); printers that render
   * policy names get the new names. From inside onHeartbeat it applies from the next record, else from the
   * next batch. Throws only when the rules cannot be set up (then nothing changed).
   */
  reconfigure(next: PipelineConfig): void {
    const live = this.#live(next);
    const remap = followRemap(this.#cfg.policies, next.policies);
    const marks = new Map<number, bigint>();
    for (const [pid, bits] of this.#followMarks) {
      const b = remap(bits);
      if (b !== 0n) marks.set(pid, b);
    }
    this.#cfg = live;
    this.#followMarks = marks;
    this.#reconfigured++;
    // Inside push, the events matched so far are printed with the old names first (see push).
    this.#pendingNames = next.policies.policies.map((p) => p.name);
    if (!this.#pushing) this.#applyNames();
  }

  #applyNames(): void {
    const names = this.#pendingNames;
    this.#pendingNames = undefined;
    if (names !== undefined) for (const p of this.#printers) p.policies?.(names);
  }

  /** The containers running at start: known to the store, and one existing_container each when printed. */
  #discover(store: ContainerStore): void {
    const spec = this.#eventById(EXISTING_CONTAINER);
    const printed = spec !== undefined && this.#cfg.printed.has(spec.id);
    for (const c of store.discover()) {
      if (!printed) continue;
      const ev = selfEvent(spec, c.id);
      ev.containerStarted = true;
      this.#hold(c.id, ev);
    }
  }

  /** A container's runtime lookup settled: its held events go on now. */
  containersSettled(id: string): void {
    const queue = this.#held.get(id);
    if (queue === undefined) return;
    this.#held.delete(id);
    const shown: TraceEvent[] = [];
    const found: MatchedFinding[] = [];
    const facts = this.#containers?.facts(id);
    for (const ev of queue) {
      if (facts !== undefined) ev.container = facts;
      else if (ev.containerId !== '') this.#factsMissing++;
      this.#process(this.#withFacts(ev), shown, found);
    }
    this.#emit(shown, found);
  }

  /**
   * Waits (at most `maxMs`) for the runtime lookups still in flight, then lets every held event go on. Call
   * once the capture is closed, before closing the outputs.
   */
  async drain(maxMs = 2500): Promise<void> {
    const store = this.#containers;
    const deadline = Date.now() + maxMs;
    while (store !== undefined && this.#held.size > 0 && Date.now() < deadline) {
      if (![...this.#held.keys()].some((id) => store.pending(id))) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const id of [...this.#held.keys()]) this.containersSettled(id);
  }

  #hold(id: string, ev: TraceEvent): void {
    const q = this.#held.get(id);
    if (q === undefined) this.#held.set(id, [ev]);
    else q.push(ev);
  }

  /** A container event's fields from the store, as they are when it goes on. */
  #withFacts(ev: TraceEvent): TraceEvent {
    const store = this.#containers;
    if (store === undefined || ev.spec.kind !== 'container') return ev;
    return containerEvent(ev, store);
  }

  /** The rules that run. */
  get rules(): readonly AnyRule[] {
    return this.#cfg.engine.rules;
  }

  /** The enricher (process tree and containers) the pipeline feeds. */
  get enricher(): Enricher {
    return this.#enricher;
  }

  /** Runs one batch through every stage and writes what it prints. */
  push(batch: Uint8Array): void {
    const decoded = this.#decoded;
    const shown = this.#shown;
    const found = this.#found;
    decoded.length = 0;
    shown.length = 0;
    found.length = 0;
    this.#decoder.decodeBatch(batch, decoded);
    this.#records += decoded.length;
    let cfg = this.#cfg;
    for (const ev of decoded) {
      const id = ev.spec.id;
      if (id === HEARTBEAT_ID) {
        this.#heartbeats++;
        this.#pushing = true;
        try {
          this.#onHeartbeat?.(ev);
        } finally {
          this.#pushing = false;
        }
        if (this.#cfg !== cfg) {
          // A reload takes effect here: what matched before it goes out under the old policy names.
          this.#emit(shown, found);
          shown.length = 0;
          found.length = 0;
          this.#applyNames();
          cfg = this.#cfg;
        }
        if (ev.internal) continue;
      }
      if (id === NET_PACKET_ID) {
        this.#packet(ev, cfg, shown, found);
        continue;
      }
      this.#enricher.observe(ev);
      const derived = this.#containers === undefined ? undefined : this.#cgroup(ev);
      if (!ev.internal || cfg.followMask !== 0n) {
        this.#enricher.enrich(ev);
        const now = this.#admit(ev);
        if (now !== undefined) this.#process(now, shown, found);
      }
      const now = derived === undefined ? undefined : this.#admit(derived);
      if (now !== undefined) this.#process(now, shown, found);
      if (cfg.tcpConnect !== undefined && !ev.internal) {
        const c = deriveTcpConnect(ev, cfg.tcpConnect);
        if (c !== undefined) {
          this.#enricher.enrich(c);
          const go = this.#admit(c);
          if (go !== undefined) this.#process(go, shown, found);
        }
      }
    }
    this.#emit(shown, found);
  }

  /**
   * A packet record: the packet events it gives (all sharing its seq), each enriched and matched like any
   * event. A record that gives none is counted as unprinted (its seq is missing from the output).
   */
  #packet(ev: TraceEvent, cfg: LiveConfig, shown: TraceEvent[], found: MatchedFinding[]): void {
    const events = derivePacketEvents(ev, cfg.packetEvents, this.#netCounts);
    if (events.length === 0) this.#unprinted++;
    for (const d of events) {
      this.#enricher.enrich(d);
      const now = this.#admit(d);
      if (now !== undefined) this.#process(now, shown, found);
    }
  }

  /**
   * Container bookkeeping for one record, before its enrichment: cgroup records create and remove containers
   * (returning container_create / container_remove), an exec may start one. Returns the derived event.
   */
  #cgroup(ev: TraceEvent): TraceEvent | undefined {
    const store = this.#containers!;
    const name = ev.spec.name;
    if (name === 'sched_process_exec') {
      const id = this.#enricher.container(ev)?.id;
      if (id !== undefined) store.exec(id, ev.newMountNs === true);
      return undefined;
    }
    if (name !== 'cgroup_mkdir' && name !== 'cgroup_rmdir') return undefined;
    const path = argValue(ev, 'cgroup_path');
    const hier = argValue(ev, 'hierarchy_id');
    if (typeof path !== 'string' || typeof hier !== 'number') return undefined;
    const c = name === 'cgroup_mkdir' ? store.cgroupMkdir(path, hier) : store.cgroupRmdir(path, hier);
    if (c === undefined) return undefined;
    const spec = this.#eventById(name === 'cgroup_mkdir' ? CONTAINER_CREATE : CONTAINER_REMOVE);
    if (spec === undefined || !this.#cfg.printed.has(spec.id)) return undefined;
    // The runtime process that made the cgroup is the event's context; the container is its subject (and
    // its containerId, so that container filters and the runtime's facts apply to it).
    const d: TraceEvent = { ...ev, spec, args: [], internal: false };
    this.#enricher.enrich(d);
    d.containerId = c.id;
    d.containerStarted = false;
    return d;
  }

  /**
   * Sets the container fields of an enriched event and returns the event to go on with now, or undefined when
   * it waits for its container's runtime lookup (queued, in order, behind the container's other held events).
   */
  #admit(ev: TraceEvent): TraceEvent | undefined {
    const store = this.#containers;
    const id = ev.containerId;
    if (store === undefined || id === '') return ev;
    if (ev.spec.kind !== 'container') ev.containerStarted = store.isStarted(id);
    if (store.pending(id) || this.#held.has(id)) {
      this.#hold(id, ev);
      return undefined;
    }
    const facts = store.facts(id);
    if (facts !== undefined) ev.container = facts;
    else if (store.get(id)?.lookup === 'unknown') this.#factsMissing++;
    return this.#withFacts(ev);
  }

  /** Stages 4-6 for one enriched event, under the policies in force now: scopes, match, rules. */
  #process(ev: TraceEvent, shown: TraceEvent[], found: MatchedFinding[]): void {
    const cfg = this.#cfg;
    const c = cfg.policies;
    const follow = cfg.followMask;
    const id = ev.spec.id;
    const printed = !ev.internal && cfg.printed.has(id);
    const detect = !ev.internal && cfg.ruleEvents.has(ev.spec.name);
    if (!printed && !ev.internal) this.#unprinted++;
    if (!printed && !detect && follow === 0n) return;
    const own = ownScopes(c, ev, this.#ctx);
    const mine = follow === 0n ? 0n : own & follow;
    if (mine !== 0n) this.#mark(ev.hostProcessId, mine);
    if (!printed && !detect) return;
    const scopes = matchScopes(c, ev, this.#ctx, own);
    if (printed) {
      ev.matched = matchEvent(c, ev, this.#ctx, scopes);
      if (ev.matched !== 0n) shown.push(ev);
      else {
        this.#filtered++;
        if (id < this.#filteredByEvent.length) this.#filteredByEvent[id]!++;
      }
    }
    if (cfg.watch !== undefined) this.#touched(ev, cfg.watch);
    if (detect && scopes !== 0n) {
      for (const f of cfg.engine.dispatch(ev)) {
        found.push({ finding: f, matched: scopes });
        this.#findingsByRule.set(f.rule.id, (this.#findingsByRule.get(f.rule.id) ?? 0) + 1);
      }
    }
  }

  /** A rename or unlink may have replaced a watched file: its identity is read again. */
  #touched(ev: TraceEvent, watch: InodeWatch): void {
    const name = ev.spec.name;
    const field =
      name === 'security_inode_rename'
        ? 'new_path'
        : name === 'security_inode_unlink'
          ? 'pathname'
          : undefined;
    if (field === undefined) return;
    const path = argValue(ev, field);
    if (typeof path === 'string') watch.touched(path);
  }

  #emit(shown: readonly TraceEvent[], found: readonly MatchedFinding[]): void {
    this.#printedCount += shown.length;
    this.#findings += found.length;
    if (shown.length === 0 && found.length === 0) return;
    for (const p of this.#printers) p.batch(shown, found);
  }

  #mark(pid: number, bits: bigint): void {
    const marks = this.#followMarks;
    const had = marks.get(pid);
    if (had === undefined && marks.size >= MAX_FOLLOW_MARKS) marks.delete(marks.keys().next().value!);
    marks.set(pid, (had ?? 0n) | bits);
  }

  /**
   * Reports the kernel's loss counters (per event name, as summed from the capture's stats): when they
   * changed since the last report, or when `final` and some loss happened, every printer gets a
   * `lost_events` record stamped `epochNs`. Returns true when a report was written.
   */
  reportLoss(lost: ReadonlyMap<string, bigint>, epochNs: bigint, final = false): boolean {
    let changed = lost.size !== this.#lastLost.size;
    for (const [n, v] of lost) if (this.#lastLost.get(n) !== v) changed = true;
    this.#lastLost = new Map(lost);
    if (lost.size === 0 || (!changed && !final)) return false;
    for (const p of this.#printers) p.lost(epochNs, lost);
    return true;
  }

  stats(): PipelineStats {
    const filteredByEvent = new Map<number, number>();
    this.#filteredByEvent.forEach((n, id) => {
      if (n > 0) filteredByEvent.set(id, n);
    });
    return {
      records: this.#records,
      printed: this.#printedCount,
      filtered: this.#filtered,
      filteredByEvent,
      findings: this.#findings,
      findingsByRule: new Map(this.#findingsByRule),
      decodeErrors: { ...this.#decoder.errors },
      unprinted: this.#unprinted,
      heartbeats: this.#heartbeats,
      reconfigured: this.#reconfigured,
      containerFactsMissing: this.#factsMissing,
      netTruncated: new Map(this.#netCounts.truncated),
      netMalformed: new Map(this.#netCounts.malformed),
    };
  }

  close(): void {
    if (this.#ownsEnricher) this.#enricher.close();
  }
}
