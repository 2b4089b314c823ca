/**
 * Filter primitives shared by `-e`, `-s` and policy files (COMPAT.md 4): splitting `KEY<op>VALUE`, typed values
 * (numbers, symbolic flag names, errno names, string patterns) and the pure predicates that test one value.
 * Everything here is immutable data plus total functions; parse errors are KtrailError BAD_FILTER whose message
 * starts with the caller's `where` (the flag and text, or the file, position and field path).
 */

import type { ValueTable } from '../catalog/types.js';
import { errnoValue, parseValue } from '../catalog/values/index.js';
import { KtrailError } from '../errors.js';
import { closestNames } from '../util/edit-distance.js';

export type Op = '=' | '!=' | '<' | '>' | '<=' | '>=';
export const OPS: readonly Op[] = ['=', '!=', '<', '>', '<=', '>='];

/** One string alternative: `abc` exact, `abc*` prefix, `*abc` suffix, `*abc*` contains. */
export interface StrPattern {
  readonly kind: 'exact' | 'prefix' | 'suffix' | 'contains';
  readonly text: string;
}

/** `=` matches when any pattern matches; `!=` when none does. */
export interface StringFilter {
  readonly kind: 'string';
  readonly op: '=' | '!=';
  readonly patterns: readonly StrPattern[];
  /** The text the user wrote, with its origin, for reports. */
  readonly source: string;
}

/** `=` matches any value, `!=` none of them; the four comparisons carry exactly one value. */
export interface NumberFilter {
  readonly kind: 'number';
  readonly op: Op;
  readonly values: readonly bigint[];
  readonly source: string;
}

export interface BoolFilter {
  readonly kind: 'bool';
  readonly value: boolean;
  readonly source: string;
}

export type ValueFilter = StringFilter | NumberFilter | BoolFilter;

export interface SplitExpr {
  readonly key: string;
  readonly op: Op | undefined;
  readonly value: string;
}

export function badFilter(where: string, msg: string, hint?: string): KtrailError {
  return new KtrailError('BAD_FILTER', `${where}: ${msg}`, hint === undefined ? {} : { hint });
}

/** "did you mean 'x'?" for the closest candidates, or '' when none is close. */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const close = closestNames(candidates, name, 2);
  return close.length === 0 ? '' : `did you mean ${close.map((c) => `'${c}'`).join(' or ')}? `;
}

/**
 * The characters operators are made of. `~` is in no valid operator; it is here so that regex-style operators
 * (`=~`, `~=`, `!~`) are reported as operators instead of being read as part of a key or a value.
 */
const OP_CHARS = '=!<>~';

function isOpChar(c: string | undefined): boolean {
  return c !== undefined && c !== '' && OP_CHARS.includes(c);
}

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t';
}

/** What to write instead of an operator ktrail does not have. */
function operatorHint(op: string): string {
  const fix: Readonly<Record<string, string>> = {
    '==': "write '=' (a single sign) for equality",
    '=>': "write '>='",
    '=<': "write '<='",
    '<>': "write '!=' for 'not equal'",
    '=!': "write '!=' for 'not equal'",
    '!': "write '!=' for 'not equal'",
  };
  const known = fix[op];
  if (known !== undefined) return known;
  if (op.includes('~')) {
    return "there are no regular expressions: strings take '=' or '!=' with 'prefix*', '*suffix' or '*contains*'";
  }
  return "numbers take = != < > <= >=, strings = and != ('prefix*', '*suffix', '*contains*'); a value cannot start with = ! < > ~";
}

/**
 * Splits `KEY<op>VALUE`; a text without any of `= ! < > ~` is a bare key (`follow`, `not-container`).
 *
 * The grammar follows Tracee's (pkg/cmd/flags: the key ends at the first of `= ! < >`, and the operator is
 * the one or two characters there): the key is everything before the first operator character, the operator
 * is the whole run of operator characters `= ! < > ~` that follows (a space inside the run does not end it),
 * and the run must be one of `= != < > <= >=`. The value is the rest, trimmed, and may hold operator
 * characters anywhere but at its start: `data.pathname=/a=b` is the path "/a=b", while `comm=~bash`,
 * `uid==0`, `uid=>0`, `uid<>0`, `comm!~x`, `comm~=x` and `comm= ~x` are unknown operators. Tracee reads a few
 * of these differently (`comm=~bash` as comm equal to "~bash", `comm!==x` as comm not equal to "=x"); no
 * command name, path, host name or number starts so, and a suffix or contains pattern (`*~bash`) still
 * matches such a value.
 * @throws KtrailError BAD_FILTER naming the operator found and listing the valid ones.
 */
export function splitExpr(text: string, where: string): SplitExpr {
  const t = text.trim();
  let i = 0;
  while (i < t.length && !isOpChar(t[i])) i++;
  if (i === t.length) return { key: t, op: undefined, value: '' };
  let j = i;
  for (;;) {
    while (isOpChar(t[j])) j++;
    let k = j;
    while (isSpace(t[k])) k++;
    if (k === j || !isOpChar(t[k])) break;
    j = k;
  }
  const op = t.slice(i, j);
  if (!(OPS as readonly string[]).includes(op)) {
    throw badFilter(where, `unknown operator '${op}' (the operators are ${OPS.join(' ')})`, operatorHint(op));
  }
  return { key: t.slice(0, i).trim(), op: op as Op, value: t.slice(j).trim() };
}

/** Splits `a,b` alternatives; an empty alternative is an error. */
export function splitAlternatives(value: string, where: string): string[] {
  if (value === '') throw badFilter(where, 'missing value after the operator', 'write KEY=VALUE');
  const parts = value.split(',').map((p) => p.trim());
  if (parts.some((p) => p === '')) {
    throw badFilter(
      where,
      `empty alternative in '${value}'`,
      "separate alternatives with single commas: 'a,b'",
    );
  }
  return parts;
}

function checkSingle(op: Op, values: readonly unknown[], where: string): void {
  if (values.length > 1 && op !== '=' && op !== '!=') {
    throw badFilter(
      where,
      `operator '${op}' takes one value, not ${values.length}`,
      "only '=' and '!=' take comma-separated alternatives",
    );
  }
}

/** Parses string alternatives with `*` at the start, the end or both. */
export function parseStringFilter(op: Op, value: string, where: string, source: string): StringFilter {
  if (op !== '=' && op !== '!=') {
    throw badFilter(
      where,
      `operator '${op}' does not apply to a string`,
      "strings take '=' and '!=' (with 'prefix*', '*suffix', '*contains*')",
    );
  }
  const patterns = splitAlternatives(value, where).map((alt): StrPattern => {
    const lead = alt.startsWith('*');
    const trail = alt.length > 1 && alt.endsWith('*');
    const text = alt.slice(lead ? 1 : 0, trail ? -1 : undefined);
    if (text === '' || text.includes('*')) {
      throw badFilter(
        where,
        `bad pattern '${alt}'`,
        "'*' may only start or end a value: 'prefix*', '*suffix', '*contains*'",
      );
    }
    return { kind: lead && trail ? 'contains' : lead ? 'suffix' : trail ? 'prefix' : 'exact', text };
  });
  return { kind: 'string', op, patterns, source };
}

const INT = /^[+-]?(?:0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)$/i;

/** Decimal, 0x hex or leading-0 octal, optionally signed; undefined when `text` is none of them. */
export function parseInteger(text: string): bigint | undefined {
  if (!INT.test(text)) return undefined;
  const neg = text.startsWith('-');
  const body = text.replace(/^[+-]/, '');
  const v = /^0x/i.test(body)
    ? BigInt(body)
    : body.length > 1 && body.startsWith('0')
      ? BigInt(`0o${body.slice(1)}`)
      : BigInt(body);
  return neg ? -v : v;
}

export interface NumberOptions {
  /** Value table for symbolic names (`O_NONBLOCK|O_TRUNC`). */
  readonly table?: ValueTable;
  /** Accept `-ENAME` (return values). */
  readonly errno?: boolean;
  /** Inclusive bounds; values outside are an error naming the bounds. */
  readonly min?: bigint;
  readonly max?: bigint;
  /** What the value is, for messages ("a uid"). */
  readonly what: string;
}

function parseOneNumber(alt: string, opts: NumberOptions, where: string): bigint {
  let v: bigint | undefined;
  if (opts.table !== undefined && parseInteger(alt) === undefined) {
    try {
      v = BigInt(parseValue(opts.table, alt));
    } catch (e) {
      if (e instanceof KtrailError) throw badFilter(where, e.message, e.hint);
      throw e;
    }
  } else {
    v = parseInteger(alt);
    if (v === undefined && opts.errno === true && /^-?E[A-Z0-9]+$/i.test(alt)) {
      const n = errnoValue(alt.replace(/^-/, ''));
      if (n === undefined) {
        throw badFilter(
          where,
          `unknown errno name '${alt}'`,
          "write -ENAME as in 'retval=-ENOSYS', or a number",
        );
      }
      if (!alt.startsWith('-')) {
        throw badFilter(
          where,
          `'${alt}' needs a minus sign`,
          `a failed syscall returns -errno: write '-${alt}'`,
        );
      }
      v = BigInt(-n);
    }
    if (v === undefined) {
      throw badFilter(
        where,
        `'${alt}' is not ${opts.what}`,
        opts.errno === true
          ? 'give an integer or -ERRNO (e.g. -ENOSYS)'
          : 'give an integer (decimal, 0x hex)',
      );
    }
  }
  if ((opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max)) {
    throw badFilter(
      where,
      `'${alt}' is out of range for ${opts.what}`,
      `give a value from ${opts.min} to ${opts.max}`,
    );
  }
  return v;
}

/** Parses numeric alternatives (`=0,1000`, `<2000`, `=O_NONBLOCK|O_TRUNC`, `=-ENOSYS`). */
export function parseNumberFilter(
  op: Op,
  value: string,
  opts: NumberOptions,
  where: string,
  source: string,
): NumberFilter {
  const alts = splitAlternatives(value, where);
  checkSingle(op, alts, where);
  return { kind: 'number', op, values: alts.map((a) => parseOneNumber(a, opts, where)), source };
}

/** `true`/`false`/`1`/`0` with `=` or `!=`; a bare key (no operator) means true. */
export function parseBoolFilter(
  op: Op | undefined,
  value: string,
  where: string,
  source: string,
): BoolFilter {
  if (op === undefined) return { kind: 'bool', value: true, source };
  if (op !== '=' && op !== '!=') {
    throw badFilter(
      where,
      `operator '${op}' does not apply to a boolean`,
      "write 'KEY', 'KEY=true' or 'KEY=false'",
    );
  }
  const v = value.toLowerCase();
  if (v !== 'true' && v !== 'false' && v !== '1' && v !== '0') {
    throw badFilter(where, `'${value}' is not a boolean`, 'give true or false');
  }
  const b = v === 'true' || v === '1';
  return { kind: 'bool', value: op === '=' ? b : !b, source };
}

export function matchPattern(p: StrPattern, v: string): boolean {
  switch (p.kind) {
    case 'exact':
      return v === p.text;
    case 'prefix':
      return v.startsWith(p.text);
    case 'suffix':
      return v.endsWith(p.text);
    case 'contains':
      return v.includes(p.text);
  }
}

export function matchString(f: StringFilter, v: string): boolean {
  const any = f.patterns.some((p) => matchPattern(p, v));
  return f.op === '=' ? any : !any;
}

export function matchNumber(f: NumberFilter, v: bigint): boolean {
  switch (f.op) {
    case '=':
      return f.values.includes(v);
    case '!=':
      return !f.values.includes(v);
    default: {
      const x = f.values[0] ?? 0n;
      if (f.op === '<') return v < x;
      if (f.op === '>') return v > x;
      if (f.op === '<=') return v <= x;
      return v >= x;
    }
  }
}
