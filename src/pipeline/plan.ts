/**
 * What to trace, decided before anything touches the kernel: the compiled policies (from `-e`/`-s` or policy
 * files), the events printed, the detection rules that run and the events they need, and one-line notices
 * for what cannot run here. A plain value (the spec half of a trace; src/pipeline/pipeline.ts is the live
 * half). Pure apart from reading policy and rule files.
 */
import { kt_heartbeat } from '../abi/abi.gen.js';
import { canTrace, unavailableReason } from '../capture/availability.js';
import { type NetSupport, probeNetSupport } from '../capture/net-support.js';
import {
  catalog,
  defaultEvents,
  eventById,
  eventByName,
  eventsInSet,
  missingDefaultEvents,
  setNames,
  suggestEventName,
} from '../catalog/index.js';
import type { EventSpec } from '../catalog/types.js';
import { policyFromFlags } from '../policy/cli-policy.js';
import { type CompiledPolicies, compilePolicies } from '../policy/compile.js';
import { checkPolicyFlags, loadPolicies } from '../policy/load.js';
import type { SelectionCatalog } from '../policy/select.js';
import { unavailable } from '../signatures/engine.js';
import { allRules, loadRulesFrom } from '../signatures/registry.js';
import { selectRules } from '../signatures/select.js';
import type { AnyRule } from '../signatures/types.js';

/** The inputs of a trace, as the CLI flags (or a program embedding ktrail) give them. */
export interface TraceRequest {
  /** `-e/--events` values. */
  readonly events?: readonly string[];
  /** `-s/--scope` values. */
  readonly scope?: readonly string[];
  /** `-p/--policy` files or directories (not combined with events or scope). */
  readonly policies?: readonly string[];
  /** `--signatures-dir` directories of extra rule modules. */
  readonly signatureDirs?: readonly string[];
  /** A reload's number: rule modules are imported afresh (src/signatures/registry.ts loadRulesFrom). */
  readonly generation?: number;
  /** Whether the packet events can run here (default: asked of this host, probeNetSupport). */
  readonly net?: NetSupport;
}

/** The request the trace flags give, by long flag name (`events`, `scope`, `policy`, `signatures-dir`). */
export function traceRequestFrom(values: ReadonlyMap<string, readonly string[]>): TraceRequest {
  return {
    events: values.get('events'),
    scope: values.get('scope'),
    policies: values.get('policy'),
    signatureDirs: values.get('signatures-dir'),
  };
}

export interface TracePlan {
  readonly compiled: CompiledPolicies;
  /** Events the policies select: printed when a policy matches. */
  readonly printed: readonly EventSpec[];
  /** Every rule in registry order (finding ids are fixed by it), and the ones that run. */
  readonly rules: readonly AnyRule[];
  readonly enabled: ReadonlySet<AnyRule>;
  /** Events captured only because running rules need them (never printed). */
  readonly internal: readonly EventSpec[];
  /**
   * What the capture traces: the printed events this build can capture, then `internal`, then `sources`.
   * heartbeat_event is never among them: ktrail's heartbeat (src/server/heartbeat.ts) produces it whether or
   * not it is printed; nor are the container events, which the pipeline derives from the cgroup records
   * (src/containers), nor net_tcp_connect, derived from security_socket_connect. The packet events are: the
   * capture turns them into the packet classes the kernel reports (src/capture/session.ts).
   */
  readonly traced: readonly EventSpec[];
  /**
   * Printed events the pipeline derives (container_create, ..., the network events), not traced by the kernel
   * as themselves.
   */
  readonly derived: readonly EventSpec[];
  /** Events captured only because derived events wanted here come from them (security_socket_connect). */
  readonly sources: readonly EventSpec[];
  /** Printed events this build can give here (the count of `tracing N events`). */
  readonly available: readonly EventSpec[];
  /** heartbeat_event is printed: heartbeat records then take a seq (wire.h KT_HB_NUMBERED). */
  readonly heartbeatPrinted: boolean;
  /**
   * Ids of the events running rules read and of the `sources` (the kernel sends them whenever a scope
   * matches).
   */
  readonly ruleEventIds: ReadonlySet<number>;
  readonly usedDefault: boolean;
  /** One line per thing that cannot run here, for stderr at start. */
  readonly notices: readonly string[];
}

const HEARTBEAT_ID: number = kt_heartbeat.KT_HB_EVENT_ID;

/**
 * ktrail's default set: Tracee's default events plus the module syscalls (delete_module included), a deliberate
 * difference from Tracee documented in README.md. heartbeat_event stays out: Tracee marks it internal and
 * never prints it unless it is asked for.
 */
export function ktrailDefaultNames(): string[] {
  const names = new Set(defaultEvents().map((e) => e.name));
  names.delete(eventById(HEARTBEAT_ID)?.name ?? '');
  for (const e of eventsInSet('system_module')) names.add(e.name);
  return [...names];
}

/** The rules of `rules` that run: enabled and available here. */
export function runningRules(rules: readonly AnyRule[], enabled: ReadonlySet<AnyRule>): AnyRule[] {
  return rules.filter((r) => r.unavailableReason === undefined && enabled.has(r));
}

/** True for events the kernel records as themselves (not derived in userspace, not ktrail's heartbeat). */
function recorded(e: EventSpec): boolean {
  return e.id !== HEARTBEAT_ID && e.kind !== 'container' && (e.kind !== 'network' || e.packet !== undefined);
}

/** Builds the trace plan. Throws KtrailError for any input that cannot be used. */
export async function planTrace(req: TraceRequest): Promise<TracePlan> {
  const net = req.net ?? probeNetSupport();
  const why = (e: EventSpec) => unavailableReason(e, net);
  const can = (name: string) => canTrace(name, net);
  const cat: SelectionCatalog = {
    events: catalog,
    byName: eventByName,
    setNames: [...setNames(), 'default'],
    suggest: suggestEventName,
    defaultNames: ktrailDefaultNames(),
  };
  const rawEvents = req.events ?? [];
  const scope = req.scope ?? [];
  const policyPaths = req.policies ?? [];
  checkPolicyFlags({ events: rawEvents.length, scope: scope.length, policy: policyPaths.length });

  const extra: AnyRule[] = [];
  for (const dir of req.signatureDirs ?? []) extra.push(...(await loadRulesFrom(dir, req.generation)));
  const rules = allRules(extra);
  const split = selectRules(rawEvents, rules);

  let usedDefault = false;
  let specs: ReturnType<typeof loadPolicies>;
  const onlyRules = split.rules.size > 0 && split.events.length === 0;
  if (policyPaths.length > 0) specs = loadPolicies(policyPaths, cat);
  else {
    const p = policyFromFlags({ events: split.events, scope }, cat);
    specs = [p.policy];
    usedDefault = p.usedDefault && !onlyRules;
  }
  const compiled = compilePolicies(specs);
  // Naming only rules (`-e anti_debugging`) prints their findings and no plain events.
  const printed = onlyRules ? [] : [...compiled.events.keys()].flatMap((id) => eventById(id) ?? []);

  // Rules: all of them with the default set or policy files (as in Tracee), else the ones named.
  const enabled = new Set(usedDefault || policyPaths.length > 0 ? rules : split.rules);
  const running = runningRules(rules, enabled);
  const needed = [...new Set(running.flatMap((r) => r.requires.map((q) => q.event)))].sort();
  const ruleEvents = needed.filter(can).flatMap((n) => eventByName(n) ?? []);
  const printedIds = new Set(printed.map((e) => e.id));
  const internal = ruleEvents.filter((e) => !printedIds.has(e.id));
  // Derived events wanted (printed or read by rules) need the records they come from.
  const wanted = [...printed, ...internal].filter((e) => why(e) === undefined);
  const sourceNames = new Set(wanted.flatMap((e) => (e.kind === 'network' ? (e.derivedFrom ?? []) : [])));
  const taken = new Set([...printedIds, ...internal.map((e) => e.id)]);
  const sources = [...sourceNames]
    .flatMap((n) => eventByName(n) ?? [])
    .filter((e) => !taken.has(e.id) && why(e) === undefined);

  const notices: string[] = [];
  const skipped = printed.filter((e) => why(e) !== undefined);
  const absentDefaults = usedDefault ? missingDefaultEvents() : [];
  if (skipped.length > 0 || absentDefaults.length > 0) {
    const parts = skipped.map((e) => `${e.name} (${why(e)})`);
    if (absentDefaults.length > 0) parts.push(`${absentDefaults.join(', ')} (not in ktrail's catalog yet)`);
    notices.push(`not traced here: ${parts.join('; ')}`);
  }
  const idle = unavailable(running, can);
  const declared = rules.filter((r) => enabled.has(r) && r.unavailableReason !== undefined);
  if (idle.length + declared.length > 0) {
    const parts = [...declared.map((r) => ({ rule: r, reason: r.unavailableReason! })), ...idle].map(
      (u) => `${u.rule.id} ${u.rule.eventName} (${u.reason})`,
    );
    notices.push(`detections that cannot run here: ${parts.join('; ')}`);
  }
  return {
    compiled,
    printed,
    rules,
    enabled,
    internal,
    traced: [
      ...printed.filter((e) => recorded(e) && why(e) === undefined),
      ...internal.filter(recorded),
      ...sources,
    ],
    derived: printed.filter((e) => (e.kind === 'container' || e.kind === 'network') && why(e) === undefined),
    sources,
    available: printed.filter((e) => why(e) === undefined),
    heartbeatPrinted: printed.some((e) => e.id === HEARTBEAT_ID),
    ruleEventIds: new Set([...ruleEvents, ...sources].map((e) => e.id)),
    usedDefault,
    notices,
  };
}
