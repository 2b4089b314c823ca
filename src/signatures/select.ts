/**
 * Rule selection from `-e/--events` values, the same for the live command and `analyze`: a rule is named by its
 * finding event name (`anti_debugging`) or its id (`TRC-102`), or picked by a threat filter
 * (`threat.severity>=2`, `threat.mitre.technique=T1547.006`, `threat.mitre.tactic=persistence`; Tracee main's
 * spellings). Pure.
 */
import { KtrailError } from '../errors.js';
import { splitExpr } from '../policy/filter.js';
import type { AnyRule } from './types.js';

/** Severity names Tracee main accepts, on v0.24's 0-3 scale. */
const SEVERITY_NAMES: Readonly<Record<string, number>> = { info: 0, low: 1, medium: 2, high: 3, critical: 3 };

const COMPARE: Readonly<Record<string, (a: number, b: number) => boolean>> = {
  '=': (a, b) => a === b,
  '!=': (a, b) => a !== b,
  '<': (a, b) => a < b,
  '>': (a, b) => a > b,
  '<=': (a, b) => a <= b,
  '>=': (a, b) => a >= b,
};

/** The rules a `threat.*` expression selects. `flag` names the option in errors. */
export function threatRules(expr: string, rules: readonly AnyRule[], flag = '--events'): AnyRule[] {
  // The operator grammar of every other filter: unknown operators (`=~`, `==`) are refused, not misread.
  const { key, op, value } = splitExpr(expr, `${flag} '${expr}'`);
  const field = key.startsWith('threat.') ? key.slice('threat.'.length) : '';
  if (!['severity', 'mitre.technique', 'mitre.tactic'].includes(field) || op === undefined || value === '') {
    throw new KtrailError('BAD_FILTER', `${flag} '${expr}': not a threat filter`, {
      hint: 'use threat.severity>=2, threat.mitre.technique=T1547.006 or threat.mitre.tactic=persistence',
    });
  }
  if (field === 'severity') {
    const n = SEVERITY_NAMES[value.toLowerCase()] ?? (/^[0-3]$/.test(value) ? Number(value) : undefined);
    if (n === undefined) {
      throw new KtrailError(
        'BAD_FILTER',
        `${flag} '${expr}': severity '${value}' is not 0-3 or info, low, medium, high, critical`,
      );
    }
    return rules.filter((r) => COMPARE[op]!(r.severity, n));
  }
  if (op !== '=' && op !== '!=') {
    throw new KtrailError('BAD_FILTER', `${flag} '${expr}': ${field} takes = or !=`);
  }
  const values = value.split(',');
  const of = (r: AnyRule) => (field === 'mitre.technique' ? r.mitre.techniqueId : r.mitre.tactic);
  return rules.filter((r) => values.includes(of(r)) === (op === '='));
}

export interface RuleSelection {
  /** The rules named or picked by a threat filter. */
  readonly rules: ReadonlySet<AnyRule>;
  /**
   * What is left for the event parser: expressions with filters (`NAME.data.F=V`) untouched, and name lists
   * without the rule names (an emptied list is dropped).
   */
  readonly events: readonly string[];
}

/** Splits the rule selections out of `-e` values (each may be a comma-separated list). */
export function selectRules(
  exprs: readonly string[],
  rules: readonly AnyRule[],
  flag = '--events',
): RuleSelection {
  const picked = new Set<AnyRule>();
  const events: string[] = [];
  for (const expr of exprs) {
    if (expr.startsWith('threat.')) {
      for (const r of threatRules(expr, rules, flag)) picked.add(r);
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
  return { rules: picked, events };
}
