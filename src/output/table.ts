/**
 * Tracee v0.24's `table` output (COMPAT.md 3): fixed-width columns TIME UID COMM PID TID RET EVENT ARGS.
 * ktrail keeps RET; with parse-arguments RET shows the errno name too (`-38 ENOSYS`) and flag fields their names.
 * A finding's EVENT is its event name prefixed by '!' (`!anti_debugging`), so that it stands out among plain
 * events, and its ARGS end with `detectedFrom: <trigger name>`. Control characters in a row (a newline in a
 * file name, an escape sequence in a comm) are written as escapes (`\n`, `\x1b`): one event, one line.
 */
import { retvalErrno } from '../catalog/values/index.js';
import {
  type ArgValue,
  type EventArg,
  isGoStruct,
  type StructField,
  type TraceEvent,
} from '../decode/event.js';
import { findingSpec } from '../signatures/finding.js';
import type { Finding, FindingValue } from '../signatures/types.js';
import { escapeControls } from '../util/control-chars.js';
import { parsedArg } from './json.js';

export const TABLE_HEADER =
  `${pad('TIME', 16)} ${pad('UID', 6)} ${pad('COMM', 16)} ${pad('PID', 7)} ${pad('TID', 7)} ${pad('RET', 16)} ` +
  `${pad('EVENT', 25)} ARGS`;

function pad(s: string, width: number): string {
  return s.length >= width ? s : s + ' '.repeat(width - s.length);
}

/** Local wall-clock time as HH:MM:SS:uuuuuu. */
function tableTime(epochNs: bigint): string {
  const ms = Number(epochNs / 1_000_000n);
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  const micros = String(Number((epochNs / 1000n) % 1_000_000n)).padStart(6, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}:${micros}`;
}

/**
 * Go's %v rendering of an argument value, as Tracee's table prints it: a struct as {a b}, a map (SockAddr, HTTP
 * headers) as map[k:v] with sorted keys, a slice as [a b].
 */
function tableValue(v: ArgValue | StructField): string {
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Uint8Array) return `[${Array.from(v).join(' ')}]`;
  if (Array.isArray(v)) return `[${v.map((x) => tableValue(x as StructField)).join(' ')}]`;
  const o = v as Record<string, StructField>;
  if (isGoStruct(o)) return `{${Object.values(o).map(tableValue).join(' ')}}`;
  const entries = Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `map[${entries.map(([k, x]) => `${k}:${tableValue(x)}`).join(' ')}]`;
}

function argText(ev: TraceEvent, a: EventArg, i: number, parse: boolean): string {
  if (a.problem === 'null') return `${a.name}: <null>`;
  if (a.problem === 'fault') return `${a.name}: <unreadable>`;
  const parsed = parse ? parsedArg(ev, a, i) : undefined;
  return `${a.name}: ${parsed ?? tableValue(a.value)}${a.problem === 'truncated' ? '...' : ''}`;
}

export function formatTableRow(ev: TraceEvent, parseArguments: boolean): string {
  let ret = String(ev.returnValue);
  if (parseArguments && ev.spec.syscall) {
    const errno = retvalErrno(ev.returnValue, ev.spec.name);
    if (errno !== undefined) ret += ` ${errno}`;
  }
  const name = ev.spec.name.length > 25 ? `${ev.spec.name.slice(0, 22)}...` : ev.spec.name;
  const args = ev.args.map((a, i) => argText(ev, a, i, parseArguments)).join(', ');
  // Paths, argv and comm come from the traced processes: a newline in them must not start a forged row.
  return escapeControls(
    `${pad(tableTime(ev.timestamp), 16)} ${pad(String(ev.userId), 6)} ${pad(ev.processName, 16)} ` +
      `${pad(String(ev.processId), 7)} ${pad(String(ev.threadId), 7)} ${pad(ret, 16)} ${pad(name, 25)} ${args}`,
  );
}

function tableArg(v: FindingValue): ArgValue {
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
  if (Array.isArray(v)) return v.map((x) => String(tableArg(x as FindingValue)));
  return JSON.stringify(v);
}

/** One table row for a finding: EVENT is `!<event name>`, ARGS the data then `detectedFrom: <trigger name>`. */
export function formatFindingRow(f: Finding, parseArguments: boolean): string {
  const args: EventArg[] = f.data.map((a) => ({ name: a.name, type: 'unknown', value: tableArg(a.value) }));
  if (f.event.args.length > 0) args.push({ name: 'detectedFrom', type: 'unknown', value: f.event.spec.name });
  const spec = { ...findingSpec(f.rule, f.eventId), name: `!${f.rule.eventName}` };
  return formatTableRow({ ...f.event, spec, args }, parseArguments);
}
