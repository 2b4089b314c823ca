/**
 * Reads classic Tracee JSON events (COMPAT.md 2), as ktrail or Tracee v0.2x writes them, back into TraceEvents,
 * for `ktrail analyze`. Integers beyond 2^53 (epoch ns, cgroup ids) are read exactly as bigint. The event's spec
 * comes from the catalog by name; an event the catalog lacks (Tracee's security_file_open, ...) is kept with a
 * minimal spec (its name and id, no fields), so rules that know Tracee's events still see it.
 *
 * A ClassicReader is stateful only in the policy names it has met (`matchedPolicies` becomes the `matched`
 * bitmap over `policyNames`); use one reader per input stream.
 */
import { eventByName } from '../catalog/index.js';
import type { EventSpec, TraceeType } from '../catalog/types.js';
import type { ArgValue, ContainerFacts, EventArg, TraceEvent } from '../decode/event.js';

/** Why a line is not a usable event; the message is lowercase and says what is wrong. */
export class ClassicJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClassicJsonError';
  }
}

const BIG = '\u0001big:';
/** Marks a string value of the input that itself starts with U+0001, so the reviver cannot mistake it for BIG. */
const ESCAPED = '\u0001\u0001';

/** The index just past the string literal that starts (with its quote) at `i`. */
function skipString(text: string, i: number): number {
  let j = i + 1;
  while (j < text.length && text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c ? 2 : 1;
  return j + 1;
}

/** True when the string literal ending before `end` is an object key (a ':' follows it). */
function isKey(text: string, end: number): boolean {
  let k = end;
  while (k < text.length && (text[k] === ' ' || text[k] === '\t' || text[k] === '\n' || text[k] === '\r'))
    k++;
  return text[k] === ':';
}

/**
 * Rewrites integer literals that do not fit a double exactly into marked strings (`"\u0001big:123"`), outside
 * string literals, so that JSON.parse keeps them (the reviver turns them into bigint). A string value of the
 * input that starts with U+0001 (written `\u0001`: JSON has no raw control characters) gets one more U+0001
 * in front, which the reviver removes, so no input string is ever read as a marked integer.
 */
function protectBigInts(text: string): string {
  let out = '';
  let i = 0;
  let last = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const end = skipString(text, i);
      if (text.startsWith('\\u0001', i + 1) && !isKey(text, end)) {
        out += `${text.slice(last, i + 1)}\\u0001`;
        last = i + 1;
      }
      i = end;
      continue;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      while (j < text.length && /[0-9.eE+-]/.test(text[j]!)) j++;
      const tok = text.slice(i, j);
      // Only an integer JSON itself accepts (no leading zero), and never a key: a string there would turn
      // text that is not JSON into JSON.
      if (/^-?[1-9]\d{15,}$/.test(tok) && !Number.isSafeInteger(Number(tok)) && !isKey(text, j)) {
        out += `${text.slice(last, i)}"\\u0001big:${tok}"`;
        last = j;
      }
      i = j;
      continue;
    }
    i++;
  }
  return out + text.slice(last);
}

function reviver(_key: string, value: unknown): unknown {
  if (typeof value !== 'string' || value.charCodeAt(0) !== 1) return value;
  if (value.startsWith(ESCAPED)) return value.slice(1);
  return value.startsWith(BIG) ? BigInt(value.slice(BIG.length)) : value;
}

/**
 * Parses one JSON text exactly (big integers as bigint): it accepts exactly the texts JSON.parse accepts.
 * Throws ClassicJsonError "not JSON (...)" with JSON.parse's own words about `text` (positions in the line as
 * given, not in the rewritten one).
 */
export function parseExactJson(text: string): unknown {
  try {
    return JSON.parse(protectBigInts(text), reviver);
  } catch (e) {
    let why = (e as Error).message;
    try {
      JSON.parse(text);
    } catch (original) {
      why = (original as Error).message;
    }
    throw new ClassicJsonError(`not JSON (${why})`);
  }
}

/** Pre-v0.24 C type names and their v0.24 equivalents. */
const C_TYPES: Readonly<Record<string, TraceeType>> = {
  int: 'int32',
  'unsigned int': 'uint32',
  long: 'int64',
  'unsigned long': 'uint64',
  u64: 'uint64',
  u32: 'uint32',
  u16: 'uint16',
  u8: 'uint8',
  'unsigned short': 'uint16',
  umode_t: 'uint16',
  mode_t: 'uint32',
  dev_t: 'uint32',
  'const char*': 'string',
  'const char *': 'string',
  'char*': 'string',
  'const char**': '[]string',
  'const char **': '[]string',
  'void*': 'trace.Pointer',
  'void *': 'trace.Pointer',
  bytes: '[]byte',
  'struct sockaddr*': 'SockAddr',
};

const TRACEE_TYPES = new Set<string>([
  'int32',
  'uint32',
  'int64',
  'uint64',
  'uint16',
  'uint8',
  'string',
  '[]string',
  '[]byte',
  'bool',
  'float64',
  'trace.Pointer',
  'SockAddr',
  'time.Time',
  'trace.SlimCred',
  '[2]int',
  '[]uint64',
  'unknown',
]);

function typeOf(t: unknown): TraceeType {
  if (typeof t !== 'string') return 'unknown';
  if (TRACEE_TYPES.has(t)) return t as TraceeType;
  return C_TYPES[t] ?? 'unknown';
}

function argValueOf(v: unknown, type: TraceeType): ArgValue {
  if (v === null || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    if (type === '[]byte') return new Uint8Array(Buffer.from(v, 'base64'));
    return v;
  }
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) return v as string[];
    if (v.every((x) => typeof x === 'number')) return v as number[];
    return v.map((x) =>
      typeof x === 'string' ? x : JSON.stringify(x, (_k, y) => (typeof y === 'bigint' ? String(y) : y)),
    );
  }
  if (typeof v === 'object') {
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>))
      out[k] = typeof x === 'string' ? x : String(x);
    return out;
  }
  return null;
}

function num(o: Record<string, unknown>, key: string): number {
  const v = o[key];
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  return 0;
}

function big(o: Record<string, unknown>, key: string): bigint {
  const v = o[key];
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  return 0n;
}

function str(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  return typeof v === 'string' ? v : '';
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

export class ClassicReader {
  /** Policy names met so far; bit i of an event's `matched` is `policyNames[i]` (at most 64). */
  readonly policyNames: string[] = [];
  readonly #unknownSpecs = new Map<string, EventSpec>();
  /** Events the catalog does not know, by name, with how many were read. */
  readonly unknownEvents = new Map<string, number>();

  #specFor(name: string, id: number): EventSpec {
    const known = eventByName(name);
    if (known !== undefined) return known;
    this.unknownEvents.set(name, (this.unknownEvents.get(name) ?? 0) + 1);
    let spec = this.#unknownSpecs.get(name);
    if (spec === undefined) {
      spec = { id, name, version: '0', kind: 'security', description: '', sets: [], fields: [], probes: [] };
      this.#unknownSpecs.set(name, spec);
    }
    return spec;
  }

  #matched(v: unknown): bigint {
    if (!Array.isArray(v)) return 0n;
    let m = 0n;
    for (const name of v) {
      if (typeof name !== 'string') continue;
      let i = this.policyNames.indexOf(name);
      if (i < 0 && this.policyNames.length < 64) i = this.policyNames.push(name) - 1;
      if (i >= 0) m |= 1n << BigInt(i);
    }
    return m;
  }

  /** Converts one parsed classic event. Throws ClassicJsonError when it is not one. */
  toEvent(value: unknown): TraceEvent {
    const o = obj(value);
    if (o === undefined) throw new ClassicJsonError('not an event (expected a JSON object)');
    const name = o['eventName'];
    if (typeof name !== 'string' || name === '') throw new ClassicJsonError('not an event (no eventName)');
    const rawArgs = o['args'] ?? [];
    if (!Array.isArray(rawArgs)) throw new ClassicJsonError(`${name}: args is not an array`);
    const args: EventArg[] = rawArgs.map((a, i) => {
      const ao = obj(a);
      if (ao === undefined || typeof ao['name'] !== 'string')
        throw new ClassicJsonError(`${name}: args[${i}] is not {name, type, value}`);
      const type = typeOf(ao['type']);
      return { name: ao['name'], type, value: argValueOf(ao['value'], type) };
    });
    const spec = this.#specFor(name, num(o, 'eventId'));
    const rv = o['returnValue'];
    const ctxFlags = obj(o['contextFlags']);
    const container = obj(o['container']);
    const kube = obj(o['kubernetes']) ?? {};
    const duration = o['durationNs'];
    const containerId = str(o, 'containerId') || str(container ?? {}, 'id');
    const facts: ContainerFacts | undefined =
      container === undefined || containerId === ''
        ? undefined
        : {
            name: str(container, 'name'),
            image: str(container, 'image'),
            imageDigest: str(container, 'imageDigest'),
            podName: str(kube, 'podName'),
            podNamespace: str(kube, 'podNamespace'),
            podUid: str(kube, 'podUID'),
            podSandbox: kube['podSandbox'] === true,
          };
    return {
      spec,
      timestamp: big(o, 'timestamp'),
      threadStartTime: big(o, 'threadStartTime'),
      processorId: num(o, 'processorId'),
      processId: num(o, 'processId'),
      cgroupId: big(o, 'cgroupId'),
      threadId: num(o, 'threadId'),
      parentProcessId: num(o, 'parentProcessId'),
      hostProcessId: num(o, 'hostProcessId'),
      hostThreadId: num(o, 'hostThreadId'),
      hostParentProcessId: num(o, 'hostParentProcessId'),
      userId: num(o, 'userId'),
      groupId: 0,
      mountNamespace: num(o, 'mountNamespace'),
      pidNamespace: num(o, 'pidNamespace'),
      processName: str(o, 'processName'),
      executablePath: str(obj(o['executable']) ?? {}, 'path'),
      hostName: str(o, 'hostName'),
      containerId,
      ...(facts === undefined ? {} : { container: facts }),
      ...(containerId === '' ? {} : { containerStarted: ctxFlags?.['containerStarted'] === true }),
      returnValue: typeof rv === 'number' || typeof rv === 'bigint' ? rv : 0,
      syscall: str(o, 'syscall'),
      isCompat: ctxFlags?.['isCompat'] === true,
      atEntry: spec.syscall?.emit === 'entry',
      args,
      seq: big(o, 'seq'),
      durationNs: duration === undefined ? undefined : big(o, 'durationNs'),
      matched: this.#matched(o['matchedPolicies']),
    };
  }

  /** Parses and converts one line. Throws ClassicJsonError. */
  parseLine(line: string): TraceEvent {
    return this.toEvent(parseExactJson(line));
  }
}
