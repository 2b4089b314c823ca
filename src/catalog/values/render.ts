/**
 * Renders flag and enum values as Tracee does with parse-arguments (COMPAT.md 1.6) and parses the same
 * spellings back for filters. Pure functions over constant tables; per-table lookup state is built once on
 * first use and cached.
 *
 * Flag rendering rules, in order:
 * 1. Negative inputs are read as their bit pattern: uint32 for int32-range values, uint64 below that.
 * 2. The enum part (`value & enumMask`) renders as the matching inMask entry, placed where the first inMask
 *    entry sits in the table; zero without a zero entry renders nothing; an unknown value renders in hex
 *    (signal-valued parts of clone_flags as `SIGRTMIN+n`).
 * 3. Each other non-zero entry matches when all its bits are set; an entry whose bits all lie inside another
 *    matching entry is dropped (O_SYNC swallows O_DSYNC). Matches print in table order.
 * 4. Bits no entry explains are appended once in hex (`O_NONBLOCK|0x4`).
 * 5. A value of 0 renders the table's explicit zero entry (PROT_NONE, F_OK, the zero enum part O_RDONLY), else `0`.
 */
import { KtrailError } from '../../errors.js';
import { closestNames } from '../../util/edit-distance.js';
import type { ValueTable } from '../types.js';
import { tableAliases } from './aliases.js';
import { parseRtSignal, signalName } from './signal.js';

interface FlagSlot {
  readonly name: string;
  readonly bits: bigint;
}

interface Compiled {
  /** enum tables: value → first name. */
  readonly byValue: Map<bigint, string>;
  readonly mask: bigint;
  /** enum part of a flags table: value → first name. */
  readonly maskNames: Map<bigint, string>;
  /** output order: flag slots, with `null` marking where the enum part goes. */
  readonly order: readonly (FlagSlot | null)[];
  readonly flags: readonly FlagSlot[];
  /** a non-inMask entry with value 0 (PROT_NONE). */
  readonly zeroName: string | undefined;
  /** upper-case name or alias → value. */
  readonly byName: Map<string, bigint>;
  /** names shown in hints: entry names then aliases. */
  readonly allNames: readonly string[];
}

/** Tables whose enum part (or whole value) is a signal number, so 32..64 render as SIGRTMIN+n. */
const SIGNAL_VALUED = new Set(['signal', 'clone_flags']);

const U32 = 1n << 32n;
const U64 = 1n << 64n;
const cache = new WeakMap<ValueTable, Compiled>();

function compile(table: ValueTable): Compiled {
  const hit = cache.get(table);
  if (hit !== undefined) return hit;
  const byValue = new Map<bigint, string>();
  const maskNames = new Map<bigint, string>();
  const order: (FlagSlot | null)[] = [];
  const flags: FlagSlot[] = [];
  const byName = new Map<string, bigint>();
  let zeroName: string | undefined;
  let maskPlaced = false;
  for (const e of table.entries) {
    const bits = BigInt(e.value);
    byName.set(e.name.toUpperCase(), bits);
    if (table.kind === 'enum') {
      if (!byValue.has(bits)) byValue.set(bits, e.name);
    } else if (e.inMask === true) {
      if (!maskNames.has(bits)) maskNames.set(bits, e.name);
      if (!maskPlaced) order.push(null);
      maskPlaced = true;
    } else if (bits === 0n) {
      zeroName ??= e.name;
    } else {
      const slot = { name: e.name, bits };
      order.push(slot);
      flags.push(slot);
    }
  }
  const aliases = tableAliases[table.name] ?? {};
  for (const [alias, canonical] of Object.entries(aliases)) {
    const v = byName.get(canonical.toUpperCase());
    if (v !== undefined) byName.set(alias.toUpperCase(), v);
  }
  const compiled: Compiled = {
    byValue,
    mask: BigInt(table.enumMask ?? 0),
    maskNames,
    order,
    flags,
    zeroName,
    byName,
    allNames: [...table.entries.map((e) => e.name), ...Object.keys(aliases)],
  };
  cache.set(table, compiled);
  return compiled;
}

function toBigInt(value: number | bigint): bigint | undefined {
  if (typeof value === 'bigint') return value;
  return Number.isInteger(value) ? BigInt(value) : undefined;
}

function bitPattern(v: bigint): bigint {
  if (v >= 0n) return v;
  if (v >= -(1n << 31n)) return v + U32;
  return ((v % U64) + U64) % U64;
}

function hex(v: bigint): string {
  return '0x' + v.toString(16);
}

/**
 * Renders `value` with `table`: flags as `A|B|0x4`, enums as the name or the decimal number when unknown.
 * Never throws; a non-integer number renders with String().
 */
export function renderValue(table: ValueTable, value: number | bigint): string {
  const big = toBigInt(value);
  if (big === undefined) return String(value);
  const c = compile(table);
  if (table.kind === 'enum') {
    const name = c.byValue.get(big);
    if (name !== undefined) return name;
    if (SIGNAL_VALUED.has(table.name)) return signalName(big) ?? big.toString();
    return big.toString();
  }
  const bits = bitPattern(big);
  if (bits === 0n) return c.zeroName ?? c.maskNames.get(0n) ?? '0';

  let enumPart: string | undefined;
  if (c.mask !== 0n) {
    const ev = bits & c.mask;
    enumPart = c.maskNames.get(ev);
    if (enumPart === undefined && ev !== 0n) {
      enumPart = (SIGNAL_VALUED.has(table.name) ? signalName(ev) : undefined) ?? hex(ev);
    }
  }
  const rest = bits & ~c.mask;
  const matched = c.flags.filter((f) => (rest & f.bits) === f.bits);
  const kept = new Set(
    matched.filter((f) => !matched.some((g) => g !== f && g.bits !== f.bits && (g.bits & f.bits) === f.bits)),
  );
  const parts: string[] = [];
  let covered = 0n;
  for (const slot of c.order) {
    if (slot === null) {
      if (enumPart !== undefined) parts.push(enumPart);
    } else if (kept.has(slot)) {
      parts.push(slot.name);
      covered |= slot.bits;
    }
  }
  const unknown = rest & ~covered;
  if (unknown !== 0n) parts.push(hex(unknown));
  return parts.length === 0 ? '0' : parts.join('|');
}

const NUMBER = /^(?:0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)$/i;

function parseNumber(token: string): bigint | undefined {
  if (!NUMBER.test(token)) return undefined;
  if (/^0x/i.test(token)) return BigInt(token);
  if (token.length > 1 && token.startsWith('0')) return BigInt('0o' + token.slice(1));
  return BigInt(token);
}

function badFilter(table: ValueTable, text: string, cause: string, hint: string): KtrailError {
  return new KtrailError('BAD_FILTER', `parsing ${table.name} value "${text}": ${cause}`, { hint });
}

/** The candidate nearest to `name`, case-insensitively, however far. */
function closest(name: string, candidates: readonly string[]): string | undefined {
  const byUpper = new Map(candidates.map((c) => [c.toUpperCase(), c]));
  const [best] = closestNames(byUpper.keys(), name.toUpperCase(), 1, Number.POSITIVE_INFINITY);
  return best === undefined ? undefined : byUpper.get(best);
}

function validList(c: Compiled): string {
  const shown = c.allNames.slice(0, 12).join(', ');
  return c.allNames.length > 12 ? `${shown}, ... (${c.allNames.length} names)` : shown;
}

/**
 * Parses a filter value for `table`: names joined with `|` (flags tables only), decimal, `0x` hex or
 * leading-`0` octal numbers, and names in any case; aliases from aliases.ts are accepted (`AT_EACCESS`,
 * `EWOULDBLOCK`), and for signal-valued tables `SIGRTMIN+n`/`SIGRTMAX-n`. Enum tables also take a negative
 * decimal. Returns a number when the result is a safe integer, else a bigint.
 * @throws KtrailError BAD_FILTER naming the bad token, with the closest valid name in the hint.
 */
export function parseValue(table: ValueTable, text: string): number | bigint {
  const c = compile(table);
  const trimmed = text.trim();
  if (trimmed === '') {
    throw badFilter(
      table,
      text,
      'empty value',
      `give a name such as ${c.allNames[0] ?? 'a number'} or a number`,
    );
  }
  const tokens = trimmed.split('|').map((t) => t.trim());
  if (table.kind === 'enum' && tokens.length > 1) {
    throw badFilter(
      table,
      text,
      `${table.name} holds one value, not a combination`,
      'give a single name or number',
    );
  }
  let result = 0n;
  for (const token of tokens) {
    if (token === '') {
      throw badFilter(table, text, 'empty name between "|"', 'join names as A|B with no empty parts');
    }
    let v = c.byName.get(token.toUpperCase()) ?? parseNumber(token);
    if (v === undefined && table.kind === 'enum' && /^-[1-9][0-9]*$/.test(token)) v = BigInt(token);
    if (v === undefined && SIGNAL_VALUED.has(table.name)) {
      const rt = parseRtSignal(token);
      if (rt !== undefined) v = BigInt(rt);
    }
    if (v === undefined) {
      const guess = closest(token, c.allNames);
      const lead = guess === undefined ? '' : `did you mean ${guess}? `;
      throw badFilter(
        table,
        text,
        `unknown name "${token}"`,
        `${lead}${table.name} accepts ${validList(c)}, or a number (decimal, 0x hex, 0 octal)`,
      );
    }
    result = tokens.length === 1 ? v : result | v;
  }
  return result <= BigInt(Number.MAX_SAFE_INTEGER) && result >= BigInt(Number.MIN_SAFE_INTEGER)
    ? Number(result)
    : result;
}
