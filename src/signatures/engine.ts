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

  /** `rules` in registry order; rules with an `unavailableReason` are kept for ids but never run. */
  constructor(rules: readonly AnyRule[], opts: EngineOptions = {}) {
    checkUniqueIds(rules);
    this.#onRuleError = opts.onRuleError;
    const ids = findingIds(rules);
    this.#rules = rules.filter((r) => r.unavailableReason === undefined && (opts.enabled?.(r) ?? true));
    for (const rule of this.#rules) {
      const eventId = ids.get(rule.id)!;
      const config = { ...rule.config, ...opts.config?.[rule.id] };
      const ctx: RuleContext<unknown> = {
        host: opts.host,
        config,
        state: rule.newState?.(),
        finding: (event: TraceEvent, data: readonly FindingArg[] = []): Finding => ({
          rule,
          eventId,
          data,
          event,
        }),
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
        const found = s.rule.onEvent(ev, s.ctx);
        if (found !== undefined) out.push(...found);
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
