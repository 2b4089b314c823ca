/**
 * Event selection from `-e/--events` expressions (COMPAT.md 4): names, `PREFIX*` wildcards, `-NAME` exclusions,
 * bare set names (`fs`, v0.24) and `tag=SET[,SET]` (main). Pure: it turns text into a set of catalog events and
 * never touches the kernel. Argument, return-value and scope filters (`NAME.args.F=V`) belong to the policy
 * compiler; this module reports them as not handled so that nothing is silently ignored.
 */

import type { EventSpec } from '../catalog/types.js';
import { KtrailError } from '../errors.js';
import { splitExpr } from './filter.js';

export interface SelectionCatalog {
  readonly events: readonly EventSpec[];
  readonly byName: (name: string) => EventSpec | undefined;
  /** Names of every set (tag) some event carries. */
  readonly setNames: readonly string[];
  readonly suggest: (name: string) => readonly string[];
  /** The names of the default set ktrail has in its catalog. */
  readonly defaultNames: readonly string[];
}

export interface Selection {
  /** The selected events, in catalog order. */
  readonly events: readonly EventSpec[];
  /** True when no positive selector was given and the default set was used. */
  readonly usedDefault: boolean;
}

function inputError(flag: string, expr: string, msg: string, hint?: string): KtrailError {
  return new KtrailError('UNKNOWN_EVENT', `${flag} '${expr}': ${msg}`, hint === undefined ? {} : { hint });
}

function didYouMean(cat: SelectionCatalog, name: string): string | undefined {
  const s = cat.suggest(name);
  return s.length > 0
    ? `did you mean ${s.map((x) => `'${x}'`).join(' or ')}? 'ktrail list' shows every event`
    : undefined;
}

/**
 * Resolves the `-e` expressions (each may hold comma-separated items) to events. Exclusions apply last; with
 * only exclusions the default set minus them is selected, as in Tracee. `implied` names count as selected
 * (the events that `-e NAME.args.F=V` filters name). Filter expressions themselves are rejected here:
 * cli-policy.ts splits them off first.
 */
export function selectEvents(
  exprs: readonly string[],
  cat: SelectionCatalog,
  flag = '--events',
  implied: readonly string[] = [],
): Selection {
  const include = new Set<string>(implied);
  const exclude = new Set<string>();
  let positive = implied.length > 0;

  const addName = (name: string, expr: string, into: Set<string>) => {
    for (const n of resolveName(cat, name, flag, expr)) into.add(n);
  };

  for (const expr of exprs) {
    const trimmed = expr.trim();
    if (trimmed === '')
      throw inputError(flag, expr, 'empty event expression', "name an event, e.g. '-e delete_module'");
    if (/^tag\s*[=!<>~]/.test(trimmed)) {
      const { op } = splitExpr(trimmed, `${flag} '${expr}'`);
      if (op !== '=') {
        throw new KtrailError('BAD_FILTER', `${flag} '${expr}': operator '${op}' does not apply to 'tag'`, {
          hint: "select sets with 'tag=SET[,SET]'; leave events out with '-NAME'",
        });
      }
    }
    if (trimmed.startsWith('tag=')) {
      positive = true;
      for (const set of trimmed.slice(4).split(',')) {
        if (!cat.setNames.includes(set) && set !== 'default') {
          throw inputError(flag, expr, `unknown set '${set}'`, `sets: ${cat.setNames.join(', ')}`);
        }
        for (const e of eventsOfSet(cat, set)) include.add(e.name);
      }
      continue;
    }
    for (const item of trimmed.split(',')) {
      if (item === '') throw inputError(flag, expr, 'empty item between commas');
      if (/[.=<>!]/.test(item.replace(/^-/, ''))) {
        throw new KtrailError('BAD_FILTER', `${flag} '${expr}': '${item}' is not an event name`, {
          hint: "give each filter its own flag: -e 'NAME.data.FIELD=VALUE' (or NAME.retval<0, NAME.scope.uid=0)",
        });
      }
      if (item.startsWith('-')) addName(item.slice(1), expr, exclude);
      else {
        positive = true;
        addName(item, expr, include);
      }
    }
  }
  const usedDefault = !positive;
  if (usedDefault) for (const n of cat.defaultNames) include.add(n);
  for (const n of exclude) include.delete(n);
  return { events: cat.events.filter((e) => include.has(e.name)), usedDefault };
}

/**
 * The event names one selector stands for: an event name, a `PREFIX*` wildcard or a set name.
 * @throws KtrailError UNKNOWN_EVENT with the closest names in the hint.
 */
export function resolveName(cat: SelectionCatalog, name: string, flag: string, expr: string): string[] {
  if (name.endsWith('*')) {
    const prefix = name.slice(0, -1);
    if (prefix.includes('*'))
      throw inputError(flag, expr, 'a wildcard may only end a name', "write 'PREFIX*'");
    const hits = cat.events.filter((e) => e.name.startsWith(prefix));
    if (hits.length === 0) throw inputError(flag, expr, `no event name starts with '${prefix}'`);
    return hits.map((e) => e.name);
  }
  if (cat.byName(name)) return [name];
  if (cat.setNames.includes(name)) return eventsOfSet(cat, name).map((e) => e.name);
  throw inputError(flag, expr, `unknown event or set '${name}'`, didYouMean(cat, name));
}

/** The catalog events of a set (`default` is the catalog's default names). */
export function eventsOfSet(cat: SelectionCatalog, set: string): EventSpec[] {
  if (set === 'default') return cat.events.filter((e) => cat.defaultNames.includes(e.name));
  return cat.events.filter((e) => e.sets.includes(set));
}
