/**
 * Filters on one event (COMPAT.md 4): `data.F<op>V` (alias `args.F`) on the event's own fields,
 * `retval<op>INT`, and `scope.FIELD<op>V` on the event context. The same grammar serves `-e NAME.args.F=V`
 * and policy `rules[].filters` (where a context field may also be written without `scope.`). Pure.
 */
import type { EventSpec, FieldSpec, TraceeType } from '../catalog/types.js';
import { valueTables } from '../catalog/values/index.js';
import {
  badFilter,
  didYouMean,
  type NumberFilter,
  OPS,
  parseBoolFilter,
  parseNumberFilter,
  parseStringFilter,
  type StringFilter,
  splitExpr,
  type ValueFilter,
} from './filter.js';

/** The event context fields a filter can test, with their value kind. Keys are the canonical names. */
export const CONTEXT_FIELDS = {
  timestamp: 'number',
  processorId: 'number',
  processId: 'number',
  threadId: 'number',
  parentProcessId: 'number',
  hostThreadId: 'number',
  hostProcessId: 'number',
  hostParentProcessId: 'number',
  userId: 'number',
  mountNamespace: 'number',
  pidNamespace: 'number',
  processName: 'string',
  hostName: 'string',
  cgroupId: 'number',
  host: 'bool',
  container: 'bool',
  containerId: 'string',
  containerImage: 'string',
  containerImageDigest: 'string',
  containerName: 'string',
  podName: 'string',
  podNamespace: 'string',
  podUid: 'string',
  podSandbox: 'bool',
  syscall: 'string',
} as const;

export type ContextField = keyof typeof CONTEXT_FIELDS;

/** Every accepted spelling → canonical context field (Tracee's short forms included). */
export const CONTEXT_ALIASES: Readonly<Record<string, ContextField>> = {
  ...Object.fromEntries(Object.keys(CONTEXT_FIELDS).map((k) => [k, k as ContextField])),
  p: 'processId',
  pid: 'processId',
  tid: 'threadId',
  ppid: 'parentProcessId',
  hostTid: 'hostThreadId',
  hostPid: 'hostProcessId',
  uid: 'userId',
  mntns: 'mountNamespace',
  pidns: 'pidNamespace',
  comm: 'processName',
};

export interface ArgFilter {
  readonly kind: 'arg';
  readonly field: string;
  /** Position among the event's arguments (fields without `returnValue`). */
  readonly index: number;
  readonly type: TraceeType;
  /** Value table used to parse symbolic values, if any. */
  readonly table?: string;
  readonly filter: StringFilter | NumberFilter;
}

export interface RetvalFilter {
  readonly kind: 'retval';
  readonly filter: NumberFilter;
}

export interface ContextFilter {
  readonly kind: 'context';
  readonly field: ContextField;
  readonly filter: ValueFilter;
}

export type EventFilter = ArgFilter | RetvalFilter | ContextFilter;

const NUMERIC_TYPES: ReadonlySet<TraceeType> = new Set([
  'int32',
  'uint32',
  'int64',
  'uint64',
  'uint16',
  'uint8',
  'trace.Pointer',
  'time.Time',
]);

const BOUNDS: Partial<Record<TraceeType, [bigint, bigint]>> = {
  int32: [-(1n << 31n), (1n << 32n) - 1n],
  uint32: [0n, (1n << 32n) - 1n],
  int64: [-(1n << 63n), (1n << 64n) - 1n],
  uint64: [0n, (1n << 64n) - 1n],
  uint16: [0n, 65535n],
  uint8: [0n, 255n],
  'trace.Pointer': [0n, (1n << 64n) - 1n],
  'time.Time': [0n, (1n << 64n) - 1n],
};

function hasRetval(ev: EventSpec): boolean {
  return ev.syscall !== undefined || ev.fields.some((f) => f.name === 'returnValue');
}

/** The event's argument fields (without `returnValue`), in wire order. */
export function argFields(ev: EventSpec): readonly FieldSpec[] {
  return ev.fields.filter((f) => f.name !== 'returnValue');
}

function fieldList(ev: EventSpec): string {
  const names = argFields(ev).map((f) => f.name);
  return names.length === 0 ? `${ev.name} has no data fields` : `${ev.name} fields: ${names.join(', ')}`;
}

/**
 * Parses one filter on `ev`. `text` starts after `NAME.` on the command line (`args.name=x`, `retval<0`,
 * `scope.uid=0`); in policy files a bare context field (`uid=0`, `comm=rmmod`) is accepted too.
 * @throws KtrailError BAD_FILTER: unknown field (with the closest one), operator not valid for the field's
 *   type, unparsable value.
 */
export function parseEventFilter(
  ev: EventSpec,
  text: string,
  where: string,
  bareContext: boolean,
): EventFilter {
  const { key, op, value } = splitExpr(text, where);
  const dot = key.indexOf('.');
  const head = dot < 0 ? key : key.slice(0, dot);
  const rest = dot < 0 ? '' : key.slice(dot + 1);
  if (head === 'retval' || ((head === 'data' || head === 'args') && rest === 'returnValue')) {
    if (dot >= 0 && head === 'retval')
      throw badFilter(where, `'${key}' has no sub-field`, "write 'retval<op>INT'");
    if (!hasRetval(ev)) throw badFilter(where, `${ev.name} has no return value`, fieldList(ev));
    const o = op ?? missingOp(where, 'retval');
    return {
      kind: 'retval',
      filter: parseNumberFilter(
        o,
        value,
        { what: 'an integer', errno: true, min: -(1n << 63n), max: (1n << 63n) - 1n },
        where,
        text.trim(),
      ),
    };
  }
  if (head === 'data' || head === 'args') {
    if (rest === '')
      throw badFilter(
        where,
        `'${head}' needs a field name`,
        `write '${head}.FIELD<op>VALUE'; ${fieldList(ev)}`,
      );
    const fields = argFields(ev);
    const index = fields.findIndex((f) => f.name === rest);
    const field = fields[index];
    if (field === undefined) {
      throw badFilter(
        where,
        `${ev.name} has no field '${rest}'`,
        `${didYouMean(
          rest,
          fields.map((f) => f.name),
        )}${fieldList(ev)}`,
      );
    }
    const o = op ?? missingOp(where, `${head}.${rest}`);
    const source = text.trim();
    if (field.type === 'string' || field.type === '[]string') {
      if (o !== '=' && o !== '!=') {
        throw badFilter(
          where,
          `operator '${o}' does not apply to ${ev.name}.${rest} (${field.type})`,
          "strings take '=' and '!=' (with 'prefix*', '*suffix', '*contains*')",
        );
      }
      return {
        kind: 'arg',
        field: rest,
        index,
        type: field.type,
        filter: parseStringFilter(o, value, where, source),
      };
    }
    if (NUMERIC_TYPES.has(field.type) || field.type === 'bool') {
      const bounds = BOUNDS[field.type] ?? [0n, 1n];
      const table = field.values === undefined ? undefined : valueTables[field.values];
      const filter =
        field.type === 'bool'
          ? boolAsNumber(parseBoolFilter(o, value, where, source))
          : parseNumberFilter(
              o,
              value,
              {
                what: `a value of type ${field.type}`,
                min: bounds[0],
                max: bounds[1],
                ...(table ? { table } : {}),
              },
              where,
              source,
            );
      return {
        kind: 'arg',
        field: rest,
        index,
        type: field.type,
        ...(table ? { table: table.name } : {}),
        filter,
      };
    }
    throw badFilter(
      where,
      `${ev.name}.${rest} is a ${field.type} and cannot be filtered`,
      'filters apply to string, integer, pointer and flag fields',
    );
  }
  const ctxKey = head === 'scope' ? rest : bareContext && dot < 0 ? head : undefined;
  if (ctxKey === undefined) {
    const opHint = OPS.some((o) => text.includes(o)) ? '' : ' (no operator found)';
    throw badFilter(
      where,
      `unknown filter '${key}'${opHint}`,
      bareContext
        ? "filters are 'data.FIELD<op>V', 'retval<op>INT' or a context field such as 'uid=0'"
        : 'write NAME.data.FIELD<op>V, NAME.retval<op>INT or NAME.scope.FIELD<op>V',
    );
  }
  const field = CONTEXT_ALIASES[ctxKey];
  if (field === undefined) {
    throw badFilter(
      where,
      `unknown context field '${ctxKey}'`,
      `${didYouMean(ctxKey, Object.keys(CONTEXT_ALIASES))}context fields: ${Object.keys(CONTEXT_FIELDS).join(', ')}`,
    );
  }
  const kind = CONTEXT_FIELDS[field];
  const source = text.trim();
  if (kind === 'bool') return { kind: 'context', field, filter: parseBoolFilter(op, value, where, source) };
  const o = op ?? missingOp(where, ctxKey);
  if (kind === 'string')
    return { kind: 'context', field, filter: parseStringFilter(o, value, where, source) };
  return {
    kind: 'context',
    field,
    filter: parseNumberFilter(
      o,
      value,
      { what: 'an integer', min: 0n, max: (1n << 64n) - 1n },
      where,
      source,
    ),
  };
}

function missingOp(where: string, key: string): never {
  throw badFilter(where, `'${key}' needs an operator and a value`, `operators: ${OPS.join(' ')}`);
}

function boolAsNumber(b: { value: boolean; source: string }): NumberFilter {
  return { kind: 'number', op: '=', values: [b.value ? 1n : 0n], source: b.source };
}
