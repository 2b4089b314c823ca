/**
 * The command-line policy (COMPAT.md 4): every `-e` and `-s` flag together form one policy. `-e` flags union
 * (names, `PREFIX*`, sets, `tag=SET`; `-NAME` exclusions apply last), filters on one event AND, `-s` flags AND.
 * A filter `-e NAME.data.F=V` also selects NAME. Pure.
 */
import { KtrailError } from '../errors.js';
import { type EventFilter, parseEventFilter } from './event-filter.js';
import { badFilter } from './filter.js';
import { parseScope } from './scope.js';
import { resolveName, type SelectionCatalog, selectEvents } from './select.js';
import type { PolicySpec } from './spec.js';

export interface CliPolicy {
  readonly policy: PolicySpec;
  /** True when no event was named and the default set was used. */
  readonly usedDefault: boolean;
}

const FILTER_HEAD = /^(-?[A-Za-z0-9_*]+)\.(.*)$/s;

/** True when `expr` is an event filter (`NAME.something`) rather than a list of names. */
function filterParts(expr: string): { name: string; rest: string } | undefined {
  const m = FILTER_HEAD.exec(expr);
  if (m === null) return undefined;
  return { name: m[1] ?? '', rest: m[2] ?? '' };
}

/**
 * Builds the command-line policy from the `--events` and `--scope` values (each flag occurrence one string).
 * @throws KtrailError UNKNOWN_EVENT (unknown event or set) or BAD_FILTER (bad filter or scope), exit status 2;
 *   the message names the flag and the text, the hint the closest valid spelling.
 */
export function policyFromFlags(
  input: { readonly events: readonly string[]; readonly scope: readonly string[] },
  cat: SelectionCatalog,
): CliPolicy {
  const filters = new Map<string, EventFilter[]>();
  const names: string[] = [];
  for (const raw of input.events) {
    const expr = raw.trim();
    const parts = filterParts(expr);
    if (parts === undefined) {
      names.push(raw);
      continue;
    }
    const where = `--events '${expr}'`;
    const { name, rest } = parts;
    if (name === 'threat') {
      throw badFilter(
        where,
        'detection filters (threat.*) are not supported',
        'select detections by event name',
      );
    }
    if (name.startsWith('-')) {
      throw badFilter(
        where,
        'an exclusion takes no filter',
        `exclude with '-e ${name}', or filter with '-e ${name.slice(1)}.${rest}'`,
      );
    }
    if (name.includes('*')) {
      throw badFilter(
        where,
        'a filter needs one event name, not a wildcard',
        `e.g. '-e ${name.replace(/\*/g, '')}.${rest}'`,
      );
    }
    const resolved = resolveName(cat, name, '--events', expr);
    const ev = cat.byName(name);
    if (ev === undefined || resolved.length !== 1) {
      throw new KtrailError('BAD_FILTER', `${where}: '${name}' is a set; a filter needs one event name`, {
        hint: `filter each event of the set on its own flag, e.g. -e '${resolved[0] ?? 'NAME'}.${rest}'`,
      });
    }
    const list = filters.get(name) ?? [];
    list.push(parseEventFilter(ev, rest, where, false));
    filters.set(name, list);
  }
  const selection = selectEvents(names, cat, '--events', [...filters.keys()]);
  for (const name of filters.keys()) {
    if (!selection.events.some((e) => e.name === name)) {
      throw new KtrailError(
        'BAD_FILTER',
        `--events '-${name}': excludes ${name}, which another --events flag filters`,
        {
          hint: `drop '-${name}' or the filter on ${name}`,
        },
      );
    }
  }
  const scope = parseScope(input.scope, (expr) => `--scope '${expr.trim()}'`);
  return {
    usedDefault: selection.usedDefault,
    policy: {
      name: '',
      description: '',
      origin: '--events/--scope',
      scope,
      rules: selection.events.map((event) => ({
        event,
        filters: filters.get(event.name) ?? [],
        actions: [],
      })),
      defaultActions: ['log'],
    },
  };
}
