/**
 * The detection engine: indexes rules by required event name and hands each event only to the rules that asked
 * for it, after their pre-filters. One engine owns one set of rule states; it is synchronous and not meant to be
 * shared between concurrent streams (make one engine per stream).
 */
import type { TraceEvent } from '../decode/event.js';
import { KtrailError } from '../errors.js';
import type {
  AnyRule,
  ConfigValue,
  Finding,
  FindingArg,
  HostFacts,
  RuleContext,
  RuleDefinition,
} from './types.js';

const errorText = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

/** A short description of a value a rule returned: `5`, `'x'`, `an object`. */
function describeValue(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object' && v !== null) return 'an object';
  return typeof v === 'string' ? `'${v}'` : String(v);
}

/** Finding event ids start here (Tracee's signature range, 6000-7999). */
const FINDING_ID_BASE = 6000;

export interface EngineOptions {
  /** Per-rule configuration overrides, by rule id (`{'KTR-005': {thresholdNs: 5e8}}`). */
  readonly config?: Readonly<Record<string, Readonly<Record<string, ConfigValue>>>>;
  /** Called when a rule throws; the event still reaches the other rules. Default: rethrow. */
  readonly onRuleError?: (rule: RuleDefinition, ev: TraceEvent, error: unknown) => void;
  /** Which rules run (default: all available ones). Disabled rules keep their finding id. */
  readonly enabled?: (rule: RuleDefinition) => boolean;
  /** Facts of the live host the rules may use (RuleContext.host); absent when analyzing a file. */
  readonly host?: HostFacts;
}

interface Slot {
  readonly rule: AnyRule;
  readonly filter: ((ev: TraceEvent) => boolean) | undefined;
  readonly ctx: RuleContext<unknown>;
}

/** Throws a KtrailError when two rules share an id. */
export function checkUniqueIds(rules: readonly RuleDefinition[]): void {
  const seen = new Set<string>();
  for (const r of rules) {
    if (seen.has(r.id))
      throw new KtrailError('USAGE', `loading signatures: two rules have the id '${r.id}'`, {
        hint: 'give each rule in --signatures-dir its own id (TRC-* and KTR-* are taken by built-in rules)',
      });
    seen.add(r.id);
  }
}

/**
 * Finding event ids: FINDING_ID_BASE + the rule's position in `rules` (the registry's stable order: built-in
 * rules sorted by id, then extra rules sorted by id). Unavailable rules keep their number, so ids do not
 * depend on the machine.
 */
export function findingIds(rules: readonly RuleDefinition[]): Map<string, number> {
  return new Map(rules.map((r, i) => [r.id, FINDING_ID_BASE + i]));
}

export class Engine {
  readonly #byEvent = new Map<string, Slot[]>();
  readonly #rules: readonly AnyRule[];
  readonly #onRuleError: EngineOptions['onRuleError'];

  /** Findings made by a context's `finding()`: the only objects `dispatch` passes on. */
  readonly #made = new WeakSet<Finding>();

  /**
   * `rules` in registry order; rules with an `unavailableReason` are kept for ids but never run.
   * @throws KtrailError USAGE when two rules share an id or a rule's `newState()` throws.
   */
  constructor(rules: readonly AnyRule[], opts: EngineOptions = {}) {
    checkUniqueIds(rules);
    this.#onRuleError = opts.onRuleError;
    const ids = findingIds(rules);
    this.#rules = rules.filter((r) => r.unavailableReason === undefined && (opts.enabled?.(r) ?? true));
    for (const rule of this.#rules) {
      const eventId = ids.get(rule.id)!;
      const config = { ...rule.config, ...opts.config?.[rule.id] };
      let state: unknown;
      try {
        state = rule.newState?.();
      } catch (e) {
        throw new KtrailError('USAGE', `starting rule ${rule.id}: its newState() threw: ${errorText(e)}`, {
          hint: 'fix the rule module, or move it out of the signatures directory',
        });
      }
      const ctx: RuleContext<unknown> = {
        host: opts.host,
        config,
        state,
        finding: (event: TraceEvent, data: readonly FindingArg[] = []): Finding => {
          const f: Finding = { rule, eventId, data, event };
          this.#made.add(f);
          return f;
        },
      };
      for (const req of rule.requires) {
        const list = this.#byEvent.get(req.event) ?? [];
        list.push({ rule, filter: req.filter, ctx });
        this.#byEvent.set(req.event, list);
      }
    }
  }

  /** The rules that run (available ones), in registry order. */
  get rules(): readonly AnyRule[] {
    return this.#rules;
  }

  /** The event names the running rules need, sorted; with `canTrace`, only those that can be traced. */
  requiredEvents(canTrace?: (eventName: string) => boolean): string[] {
    return [...this.#byEvent.keys()].filter((e) => canTrace === undefined || canTrace(e)).sort();
  }

  /**
   * Runs every interested rule on one event and returns their findings in rule order. A rule with several
   * requirements on the same event sees it once, if any of their filters passes.
   */
  dispatch(ev: TraceEvent): Finding[] {
    const slots = this.#byEvent.get(ev.spec.name);
    if (slots === undefined) return [];
    const out: Finding[] = [];
    let last: AnyRule | undefined;
    for (const s of slots) {
      if (s.rule === last) continue;
      try {
        if (s.filter !== undefined && !s.filter(ev)) continue;
        last = s.rule;
        const found: unknown = s.rule.onEvent(ev, s.ctx);
        if (found === undefined) continue;
        if (!Array.isArray(found))
          throw new TypeError(
            `onEvent returned ${describeValue(found)}, not undefined or a list of findings`,
          );
        const stray = found.findIndex((f) => !this.#made.has(f));
        if (stray >= 0)
          throw new TypeError(
            `onEvent returned a list holding ${describeValue(found[stray])} at [${stray}], not a finding made by ctx.finding()`,
          );
        out.push(...(found as Finding[]));
      } catch (e) {
        if (this.#onRuleError === undefined) throw e;
        this.#onRuleError(s.rule, ev, e);
      }
    }
    return out;
  }
}

export interface UnavailableRule {
  readonly rule: RuleDefinition;
  readonly reason: string;
}

/**
 * The rules that cannot run here, with a one-line reason: those marked unavailable, and those none of whose
 * required events `canTrace` accepts. A rule with some traceable events runs (with reduced coverage).
 */
export function unavailable(
  rules: readonly RuleDefinition[],
  canTrace: (eventName: string) => boolean,
): UnavailableRule[] {
  const out: UnavailableRule[] = [];
  for (const rule of rules) {
    if (rule.unavailableReason !== undefined) {
      out.push({ rule, reason: rule.unavailableReason });
      continue;
    }
    const events = [...new Set(rule.requires.map((r) => r.event))];
    if (events.length > 0 && !events.some(canTrace))
      out.push({ rule, reason: `needs ${events.join(', ')}, which ktrail cannot trace here` });
  }
  return out;
}
