/**
 * The main job: trace the selected events live. Steps: validate every input (nothing touches the kernel before
 * all of it is valid), decide which events this kernel and this build can capture (naming the rest once), open
 * the outputs, start the capture, print batches as they come, and on SIGINT/SIGTERM detach, drain, print a
 * summary and exit 0.
 */

import { canTrace, unavailableReason } from '../../capture/availability.js';
import { type Capture, openCapture } from '../../capture/session.js';
import {
  catalog,
  DEFAULT_SET,
  eventById,
  eventByName,
  eventsInSet,
  setNames,
  suggestEventName,
} from '../../catalog/index.js';
import type { EventSpec } from '../../catalog/types.js';
import { Decoder } from '../../decode/decode.js';
import type { TraceEvent } from '../../decode/event.js';
import { createEnricher } from '../../enrich/index.js';
import { KtrailError } from '../../errors.js';
import { loadNative } from '../../native/binding.js';
import { JsonWriter } from '../../output/json.js';
import { planOutput } from '../../output/plan.js';
import { openFileSink, type Sink, stdoutSink } from '../../output/sink.js';
import { formatTableRow, TABLE_HEADER } from '../../output/table.js';
import { policyFromFlags } from '../../policy/cli-policy.js';
import { type CompiledPolicies, compilePolicies } from '../../policy/compile.js';
import { checkPolicyFlags, loadPolicies } from '../../policy/load.js';
import { type MatchContext, matchEvent, matchScopes } from '../../policy/match.js';
import type { SelectionCatalog } from '../../policy/select.js';
import { Engine, unavailable } from '../../signatures/engine.js';
import { formatFindingJson, formatFindingRow } from '../../signatures/finding.js';
import { allRules, loadRulesFrom } from '../../signatures/registry.js';
import type { AnyRule, Finding } from '../../signatures/types.js';
import type { ParsedArgs } from '../args.js';
import type { Io } from '../main.js';

/**
 * ktrail's default set: Tracee's default events plus the module syscalls (delete_module included), a deliberate
 * difference from Tracee documented in README.md.
 */
export function ktrailDefaultNames(): string[] {
  const names = new Set(DEFAULT_SET.filter((n) => eventByName(n) !== undefined));
  for (const e of eventsInSet('system_module')) names.add(e.name);
  return [...names];
}

function parseSeconds(v: string | undefined, flag: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    throw new KtrailError('USAGE', `--${flag} '${v}': not a number of seconds`, {
      hint: `e.g. --${flag} 10`,
    });
  }
  return n;
}

function parseRingMiB(v: string | undefined): number {
  if (v === undefined) return 8 << 20;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1024 || (n & (n - 1)) !== 0) {
    throw new KtrailError('USAGE', `--buffer-size '${v}': not a power of two between 1 and 1024 (MiB)`, {
      hint: 'e.g. --buffer-size 16',
    });
  }
  return n << 20;
}

interface Totals {
  events: number;
  lost: Map<string, bigint>;
}

function lostByName(cap: Capture): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const [id, s] of cap.stats().events)
    if (s.lost > 0n) out.set(eventById(id)?.name ?? String(id), s.lost);
  return out;
}

function lostJson(epochNs: bigint, lost: Map<string, bigint>): string {
  let total = 0n;
  const parts: string[] = [];
  for (const [name, n] of lost) {
    parts.push(`${JSON.stringify(name)}:${n}`);
    total += n;
  }
  return `{"timestamp":${epochNs},"eventName":"lost_events","lostTotal":${total},"lost":{${parts.join(',')}}}`;
}

/** What to trace, decided from the flags or policy files before anything touches the kernel. */
export interface TracePlan {
  readonly compiled: CompiledPolicies;
  /** Events the policies select: printed when a policy matches. */
  readonly printed: readonly EventSpec[];
  /** Detection rules that run. */
  readonly engine: Engine;
  /** Events captured only because rules need them (never printed). */
  readonly internal: readonly EventSpec[];
  readonly usedDefault: boolean;
  /** One line per thing that cannot run here, for stderr at start. */
  readonly notices: readonly string[];
}

/**
 * Splits rule selections (`-e anti_debugging`, `-e KTR-002`) out of the `-e` values; the rest stays for the
 * policy parser. Only plain name lists are inspected; filters are left alone.
 */
const SEVERITY_NAMES: Readonly<Record<string, number>> = { info: 0, low: 1, medium: 2, high: 3, critical: 3 };

/**
 * `threat.severity<op>N` (N a number 0-3 or info/low/medium/high/critical) and `threat.mitre.technique=T1234`
 * / `threat.mitre.tactic=NAME` (Tracee main's spellings): the rules they select.
 */
export function threatRules(expr: string, rules: readonly AnyRule[]): AnyRule[] {
  const m = /^threat\.(severity|mitre\.technique|mitre\.tactic)(<=|>=|!=|=|<|>)(.+)$/.exec(expr);
  if (m === null) {
    throw new KtrailError('BAD_FILTER', `--events '${expr}': not a threat filter`, {
      hint: 'use threat.severity>=2, threat.mitre.technique=T1547.006 or threat.mitre.tactic=persistence',
    });
  }
  const [, field, op, value] = m as unknown as [string, string, string, string];
  if (field === 'severity') {
    const n = SEVERITY_NAMES[value.toLowerCase()] ?? (/^[0-3]$/.test(value) ? Number(value) : undefined);
    if (n === undefined) {
      throw new KtrailError(
        'BAD_FILTER',
        `--events '${expr}': severity '${value}' is not 0-3 or info, low, medium, high, critical`,
      );
    }
    const cmp: Record<string, (a: number) => boolean> = {
      '=': (a) => a === n,
      '!=': (a) => a !== n,
      '<': (a) => a < n,
      '>': (a) => a > n,
      '<=': (a) => a <= n,
      '>=': (a) => a >= n,
    };
    return rules.filter((r) => cmp[op]!(r.severity));
  }
  if (op !== '=' && op !== '!=') {
    throw new KtrailError('BAD_FILTER', `--events '${expr}': ${field} takes = or !=`);
  }
  const values = value.split(',');
  const of = (r: AnyRule) => (field === 'mitre.technique' ? r.mitre.techniqueId : r.mitre.tactic);
  return rules.filter((r) => values.includes(of(r)) === (op === '='));
}

/**
 * Splits rule selections (`-e anti_debugging`, `-e KTR-002`, `-e threat.severity>=2`) out of the `-e` values;
 * the rest stays for the policy parser. Only plain name lists and threat filters are inspected.
 */
function splitRuleNames(
  exprs: readonly string[],
  rules: readonly AnyRule[],
): { events: string[]; rules: Set<AnyRule> } {
  const picked = new Set<AnyRule>();
  const events: string[] = [];
  for (const expr of exprs) {
    if (expr.startsWith('threat.')) {
      for (const r of threatRules(expr, rules)) picked.add(r);
      continue;
    }
    if (expr.includes('.') || expr.includes('=')) {
      events.push(expr);
      continue;
    }
    const keep = expr.split(',').filter((item) => {
      const hits = rules.filter((r) => r.eventName === item || r.id === item);
      for (const r of hits) picked.add(r);
      return hits.length === 0;
    });
    if (keep.length > 0) events.push(keep.join(','));
  }
  return { events, rules: picked };
}

/** Builds the trace plan from parsed arguments. Pure apart from reading policy and rule files. */
export async function planTrace(args: ParsedArgs): Promise<TracePlan> {
  const defaultNames = ktrailDefaultNames();
  const cat: SelectionCatalog = {
    events: catalog,
    byName: eventByName,
    setNames: [...setNames(), 'default'],
    suggest: suggestEventName,
    defaultNames,
  };
  const rawEvents = args.values.get('events') ?? [];
  const scope = args.values.get('scope') ?? [];
  const policyPaths = args.values.get('policy') ?? [];
  checkPolicyFlags({ events: rawEvents.length, scope: scope.length, policy: policyPaths.length });

  const extra: AnyRule[] = [];
  for (const dir of args.values.get('signatures-dir') ?? []) extra.push(...(await loadRulesFrom(dir)));
  const rules = allRules(extra);
  const split = splitRuleNames(rawEvents, rules);

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

  // Rules: all of them with the default set (as in Tracee), else the ones named.
  const chosen = usedDefault || policyPaths.length > 0 ? rules : rules.filter((r) => split.rules.has(r));
  const engine = new Engine(rules, {
    enabled: (r) => chosen.includes(r as AnyRule),
    onRuleError: (rule, _ev, e) => {
      process.stderr.write(
        `ktrail: rule ${rule.id} failed on an event: ${e instanceof Error ? e.message : String(e)}\n`,
      );
    },
  });
  const printedIds = new Set(printed.map((e) => e.id));
  const internal = engine
    .requiredEvents(canTrace)
    .flatMap((n) => eventByName(n) ?? [])
    .filter((e) => !printedIds.has(e.id));

  const notices: string[] = [];
  const skipped = printed.filter((e) => unavailableReason(e) !== undefined);
  const absentDefaults = usedDefault ? DEFAULT_SET.filter((n) => eventByName(n) === undefined) : [];
  if (skipped.length > 0 || absentDefaults.length > 0) {
    const parts = skipped.map((e) => `${e.name} (${unavailableReason(e)})`);
    if (absentDefaults.length > 0) parts.push(`${absentDefaults.join(', ')} (not in ktrail's catalog yet)`);
    notices.push(`not traced here: ${parts.join('; ')}`);
  }
  const idle = unavailable(engine.rules, canTrace);
  const declared = chosen.filter((r) => r.unavailableReason !== undefined);
  if (idle.length + declared.length > 0) {
    const parts = [...declared.map((r) => ({ rule: r, reason: r.unavailableReason! })), ...idle].map(
      (u) => `${u.rule.id} ${u.rule.eventName} (${u.reason})`,
    );
    notices.push(`detections that cannot run here: ${parts.join('; ')}`);
  }
  return { compiled, printed, engine, internal, usedDefault, notices };
}

export async function runTrace(args: ParsedArgs, io: Io): Promise<number> {
  // 1. Validate all input first: nothing touches the kernel before every flag and file is known good.
  const plan = planOutput(args.values.get('output') ?? []);
  const ringBytes = parseRingMiB(args.values.get('buffer-size')?.[0]);
  const statsEvery = parseSeconds(args.values.get('stats-interval')?.[0], 'stats-interval', 10);
  const trace = await planTrace(args);
  for (const n of trace.notices) io.err(`ktrail: ${n}`);
  const traced = [...trace.printed.filter((e) => unavailableReason(e) === undefined), ...trace.internal];
  if (traced.length === 0) {
    throw new KtrailError(
      'KERNEL_FEATURE_MISSING',
      'starting the capture: none of the selected events can be traced here',
      {
        hint: 'pick syscall events, e.g. -e delete_module',
      },
    );
  }
  if (process.geteuid?.() !== 0) {
    throw new KtrailError('NOT_ROOT', 'starting the capture: loading BPF programs needs root', {
      hint: 'run ktrail as root (sudo npx ktrail ...)',
    });
  }

  // 2. Outputs.
  const sinks: { sink: Sink; format: 'table' | 'json' }[] = [];
  try {
    for (const p of plan.printers)
      sinks.push({ sink: p.path === undefined ? stdoutSink() : openFileSink(p.path), format: p.format });
  } catch (e) {
    for (const s of sinks) s.sink.close();
    throw e;
  }
  const closeSinks = () => {
    for (const s of sinks) s.sink.close();
  };

  // 3. Capture.
  const native = loadNative();
  const clocks = native.clocks();
  const decoder = new Decoder({ eventById, bootToEpochNs: clocks.realtime - clocks.boottime });
  const { compiled, engine } = trace;
  const policyNames = compiled.policies.map((p) => p.name);
  const printedIds = new Set(trace.printed.map((e) => e.id));
  const ruleIds = new Set(engine.requiredEvents().flatMap((n) => eventByName(n)?.id ?? []));
  // The process tree and container ids, kept current from lifecycle records the kernel sends even when the
  // user did not select them. `follow` marks: processes whose own scope matched a follow policy, inherited by
  // everything they start (found through the tree's ancestry).
  const enricher = createEnricher({ bootToEpochNs: clocks.realtime - clocks.boottime });
  const followMask = compiled.user.followMask;
  const followMarks = new Map<number, bigint>();
  const ctx: MatchContext = {
    startedAtNs: clocks.realtime,
    isDescendantOfMatch: (pid, policy) =>
      enricher.tree.isDescendantOf(
        pid,
        (p) => (((followMarks.get(p.pid) ?? 0n) >> BigInt(policy)) & 1n) === 1n,
      ),
    isDescendantOf: (pid, rootPid) => enricher.tree.isDescendantOf(pid, (p) => p.pid === rootPid),
  };
  const totals: Totals = { events: 0, lost: new Map() };
  let filtered = 0;
  let findings = 0;
  const decoded: TraceEvent[] = [];
  const json = {
    parseArguments: plan.parseArguments,
    policyNames,
    ...(plan.ancestry > 0 ? { ancestors: (ev: TraceEvent) => enricher.ancestryJson(ev, plan.ancestry) } : {}),
  };
  const jsonLines = new JsonWriter(json);
  const write = (batch: Buffer) => {
    decoded.length = 0;
    jsonLines.reset();
    decoder.decodeBatch(batch, decoded);
    const shown: TraceEvent[] = [];
    const found: Finding[] = [];
    // One event at a time: a later exec in the batch must not relabel an earlier event's process.
    for (const ev of decoded) {
      enricher.observe(ev);
      if (followMask !== 0n) {
        const own = matchScopes(compiled, ev, ctx) & followMask;
        if (own !== 0n) {
          if (followMarks.size >= 65536) followMarks.delete(followMarks.keys().next().value!);
          followMarks.set(ev.hostProcessId, (followMarks.get(ev.hostProcessId) ?? 0n) | own);
        }
      }
      if (ev.internal) continue;
      enricher.enrich(ev);
      if (printedIds.has(ev.spec.id)) {
        ev.matched = matchEvent(compiled, ev, ctx);
        if (ev.matched !== 0n) shown.push(ev);
        else filtered++;
      }
      if (ruleIds.has(ev.spec.id)) {
        const scoped = matchScopes(compiled, ev, ctx);
        if (scoped === 0n) continue;
        // A finding gets its own copy: the trigger may be printed too, with its own matchedPolicies.
        for (const f of engine.dispatch(ev)) found.push({ ...f, event: { ...f.event, matched: scoped } });
      }
    }
    totals.events += shown.length;
    findings += found.length;
    for (const s of sinks) {
      if (s.format === 'json') {
        // Bytes straight into one reused buffer; every JSON sink gets the same bytes.
        if (jsonLines.length === 0) {
          for (const ev of shown) jsonLines.event(ev);
          for (const f of found) jsonLines.line(formatFindingJson(f, json));
        }
        if (jsonLines.length > 0) s.sink.write(jsonLines.bytes());
        continue;
      }
      let text = '';
      for (const ev of shown) text += `${formatTableRow(ev, plan.parseArguments)}\n`;
      for (const f of found) text += `${formatFindingRow(f, plan.parseArguments)}\n`;
      if (text) s.sink.write(text);
    }
  };
  let cap: Capture;
  try {
    cap = await openCapture({
      events: traced,
      // The kernel drops what no policy can match; rules read their events whenever a scope matches.
      kernelPlan: compiled.kernel,
      scopeOnlyEvents: [...ruleIds],
      startBootNs: clocks.boottime,
      // The process tree (executable paths, ancestry, follow, prev_comm) lives on lifecycle records.
      processTree: true,
      ringBytes,
      onBatch: write,
      onError: (e) => io.err(`ktrail: ${e.message}`),
    });
  } catch (e) {
    closeSinks();
    throw e;
  }
  for (const s of sinks) if (s.format === 'table') s.sink.write(`${TABLE_HEADER}\n`);
  const nRules = engine.rules.length;
  const nEvents = traced.length - trace.internal.length;
  io.err(
    `ktrail: tracing ${nEvents} event${nEvents === 1 ? '' : 's'}` +
      `${nRules > 0 ? ` and ${nRules} detection rule${nRules === 1 ? '' : 's'}` : ''} (started in ${cap.startupMs.toFixed(0)} ms); Ctrl-C stops`,
  );

  // 4. Run until a signal; report loss as it happens.
  const reportLoss = (final: boolean) => {
    const lost = lostByName(cap);
    let changed = false;
    for (const [n, v] of lost) if (totals.lost.get(n) !== v) changed = true;
    if (!changed && !final) return;
    totals.lost = lost;
    if (lost.size === 0) return;
    const c = native.clocks();
    const line = lostJson(c.realtime, lost);
    for (const s of sinks) if (s.format === 'json') s.sink.write(`${line}\n`);
    if (!final) io.err(`ktrail: lost events so far: ${[...lost].map(([n, v]) => `${n} ${v}`).join(', ')}`);
  };
  const timer = statsEvery > 0 ? setInterval(() => reportLoss(false), statsEvery * 1000) : undefined;
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  if (timer) clearInterval(timer);

  // 5. Stop: take the counters while the maps exist, drain, summarise.
  reportLoss(true);
  let kernelFiltered = 0n;
  for (const s of cap.stats().events.values()) kernelFiltered += s.filtered;
  await cap.close();
  enricher.close();
  closeSinks();
  let lostTotal = 0n;
  for (const v of totals.lost.values()) lostTotal += v;
  const decodeErrors = Object.values(decoder.errors).reduce((a, b) => a + b, 0);
  io.err(
    `ktrail: ${signal}: ${totals.events} events, ${lostTotal} lost` +
      (totals.lost.size > 0 ? ` (${[...totals.lost].map(([n, v]) => `${n} ${v}`).join(', ')})` : '') +
      (kernelFiltered > 0n ? `, ${kernelFiltered} filtered in the kernel` : '') +
      (filtered > 0 ? `, ${filtered} filtered out in userspace` : '') +
      (findings > 0 ? `, ${findings} findings` : '') +
      (decodeErrors > 0 ? `, ${decodeErrors} undecodable records` : ''),
  );
  return 0;
}
