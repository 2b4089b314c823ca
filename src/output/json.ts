/**
 * The classic Tracee JSON event (COMPAT.md 2): one object per line, keys in Tracee's fixed order, then ktrail's
 * additive keys (`seq`, `durationNs`, `entrySeen` (only `false`: the syscall's entry was never seen), `errno`). Written by hand rather than with JSON.stringify so that the key
 * order is fixed and 64-bit values (epoch ns, cgroup ids) stay exact.
 *
 * The live path writes bytes, not strings: JsonWriter appends lines to one reusable buffer per batch. Most of a
 * line is the same for every event of a thread (ids, namespaces, names, entity ids) or of an event type (id,
 * name, argument names), so those runs are rendered once, kept as bytes and copied; the cache is checked against
 * every field it was rendered from, so a changed field re-renders and the bytes never differ from a fresh render.
 */

import type { EventSpec } from '../catalog/types.js';
import { renderMode, renderValue, retvalErrno, valueTables } from '../catalog/values/index.js';
import type { ArgValue, ContainerFacts, EventArg, TraceEvent } from '../decode/event.js';
import type { Ancestor } from '../enrich/process-tree.js';
import { type FindingMetadata, findingMetadata, findingSpec } from '../signatures/finding.js';
import type { Finding } from '../signatures/types.js';
import { entityId } from './entity-id.js';

export interface JsonOptions {
  /** `option:parse-arguments`: decode flag and enum fields to names, add `errno` to failed syscalls. */
  readonly parseArguments: boolean;
  /** Names of the loaded policies by bit; the implicit CLI policy is ''. */
  readonly policyNames: readonly string[];
  /**
   * `option:ancestry`: the event's ancestors, parent first (src/enrich ProcessTree.ancestry), printed as the
   * additive key `ancestors` (ktrail addition); undefined prints nothing.
   */
  readonly ancestors?: (ev: TraceEvent) => readonly Ancestor[] | undefined;
}

/** Any value an argument or a finding's data can hold: arg values, and objects and arrays of them. */
export type JsonLike = ArgValue | { readonly [key: string]: JsonLike } | readonly JsonLike[];

/** JSON text of a value the way the classic event prints it (bigints exact, bytes as base64 like Go). */
function jsonValue(v: JsonLike): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'bigint':
      return v.toString();
    case 'string':
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
  }
  if (v instanceof Uint8Array)
    return JSON.stringify(Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'));
  if (Array.isArray(v)) return `[${v.map((x) => jsonValue(x as JsonLike)).join(',')}]`;
  const parts: string[] = [];
  for (const [k, x] of Object.entries(v as Record<string, JsonLike>))
    parts.push(`${JSON.stringify(k)}:${jsonValue(x)}`);
  return `{${parts.join(',')}}`;
}

/** The rendered form of an argument under parse-arguments, or undefined when it has no value table. */
export function parsedArg(ev: TraceEvent, arg: EventArg, index: number): string | undefined {
  const table = ev.spec.fields[index]?.values;
  if (table === undefined) return undefined;
  if (typeof arg.value !== 'number' && typeof arg.value !== 'bigint') return undefined;
  if (table === 'file_mode') return renderMode(Number(arg.value));
  const t = valueTables[table];
  return t === undefined ? undefined : renderValue(t, arg.value);
}

function matchedPolicyNames(matched: bigint, names: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < names.length; i++) if ((matched >> BigInt(i)) & 1n) out.push(names[i]!);
  return out;
}

const encoder = new TextEncoder();
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const NS_PER_S = 1_000_000_000n;

const OPEN = encoder.encode('{"timestamp":');
const SEQ = encoder.encode('],"seq":');
const DURATION = encoder.encode(',"durationNs":');
const ERRNO = encoder.encode(',"errno":');
const NO_ENTRY = encoder.encode(',"entrySeen":false');
const ANCESTORS = encoder.encode(',"ancestors":');
const METADATA = encoder.encode('],"metadata":');
const SEQ_AFTER_METADATA = encoder.encode(',"seq":');
const DETECTED_FROM = encoder.encode('{"name":"detectedFrom","type":"unknown","value":{"args":[');
const NULL = encoder.encode('null');
const TRUE = encoder.encode('true');
const FALSE = encoder.encode('false');
const PROBLEM = encoder.encode(',"problem":');
/** "00".."99" as ASCII bytes, two per number. */
const PAIRS = encoder.encode(Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0')).join(''));

/** Everything of a line that depends only on the thread and its process, rendered once per thread. */
interface ThreadRun {
  readonly hostThreadId: number;
  readonly threadStartTime: bigint;
  readonly processId: number;
  readonly cgroupId: bigint;
  readonly threadId: number;
  readonly parentProcessId: number;
  readonly hostProcessId: number;
  readonly hostParentProcessId: number;
  readonly userId: number;
  readonly mountNamespace: number;
  readonly pidNamespace: number;
  readonly processName: string;
  readonly executablePath: string;
  readonly hostName: string;
  readonly containerId: string;
  readonly container: ContainerFacts | undefined;
  readonly leaderStartTime: bigint | undefined;
  readonly parentStartTime: bigint | undefined;
  /** `,"threadStartTime":N,"processorId":` */
  readonly head: Uint8Array;
  /** `,"processId":N,...,"kubernetes":{},"eventId":"` */
  readonly context: string;
  /** `T,"processEntityId":P,"parentEntityId":PP,"args":[` */
  readonly ids: string;
  // The last event type seen on this thread, with the runs rendered for it.
  spec: EventSpec | undefined;
  matched: bigint;
  argsNum: number;
  syscall: string;
  isCompat: boolean;
  containerStarted: boolean;
  /** context + `ID","eventName":...,"argsNum":N,"returnValue":` */
  mid: Uint8Array;
  /** `,"syscall":...,"threadEntityId":` + ids */
  tail: Uint8Array;
  // Arguments that repeat (a storm of one call from one thread): `tail`, the arguments and `],"seq":` as one
  // run, kept once the same arguments came twice in a row and used while they stay the same.
  /** The previous event's arguments (not yet cached). */
  lastArgs: readonly EventArg[] | undefined;
  /** The cached arguments: name, type, value, problem of each (primitive values only). */
  argsKey: unknown[] | undefined;
  /** The array argsKey was taken from (the decoder shares an array while a thread's arguments repeat). */
  argsRef: readonly EventArg[] | undefined;
  /** tail + arguments + SEQ, rendered from argsKey. */
  argsRun: Uint8Array | undefined;
  /** The return value rendered before argsRun in retRun (undefined: none yet), and the previous event's. */
  runRet: number | bigint | undefined;
  lastRet: number | bigint | undefined;
  retRun: Uint8Array | undefined;
  /** head + processor id + mid, by processor id; emptied when mid changes. */
  cpuMid: (Uint8Array | undefined)[];
}

/** Processors whose head+mid run a thread keeps. */
const MAX_CPU_RUNS = 1024;

/** The constant start of one argument (`{"name":..,"type":..,"value":`, with a leading comma after the first). */
interface ArgPrefix {
  readonly name: string;
  readonly type: string;
  readonly bytes: Uint8Array;
}

const THREAD_SLOTS = 4096;

/**
 * Appends classic JSON lines (each ending in '\n') to one growable buffer, for one sink write per batch.
 * Byte-identical to formatJson. Not safe to share between threads; the bytes from `bytes()` are valid until
 * the next append or reset.
 */
export class JsonWriter {
  readonly #opts: JsonOptions;
  #buf: Buffer;
  #len = 0;
  readonly #threads: (ThreadRun | undefined)[] = new Array(THREAD_SLOTS).fill(undefined);
  readonly #args = new Map<EventSpec, ArgPrefix[]>();
  readonly #matched = new Map<bigint, string>();
  // Epoch-ns timestamps: `{"timestamp":` and the seconds of the last one, rendered, so that only the
  // nanoseconds are computed.
  #secBase = -1n;
  #secDigits: Uint8Array = new Uint8Array(0);

  constructor(opts: JsonOptions, initialBytes = 1 << 16) {
    this.#opts = opts;
    this.#buf = Buffer.allocUnsafe(Math.max(256, initialBytes));
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#len;
  }

  /** The lines written since the last reset (a view into the writer's buffer). */
  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }

  /** The lines written since the last reset, as text. */
  text(): string {
    return this.#buf.toString('utf8', 0, this.#len);
  }

  /** Starts a new batch; previously returned views become invalid. */
  reset(): void {
    this.#len = 0;
  }

  /** Appends `line` (already JSON, e.g. a finding) and a newline. */
  line(line: string): void {
    this.#ensure(line.length * 3 + 1);
    this.#len += this.#buf.write(line, this.#len);
    this.#buf[this.#len++] = 10;
  }

  /** Appends one classic JSON event line and a newline. */
  event(ev: TraceEvent): void {
    this.#line(ev, ev.spec, ev.args.length, ev.matched, undefined);
  }

  /**
   * Appends one finding line (COMPAT.md 6) and a newline: the trigger's context under the rule's event id and
   * name, `matchedPolicies` from `matched` (the policies whose scope the trigger's process matched), `args` =
   * the rule's data in declared order then `detectedFrom` (the trigger's id, name, arguments and return
   * value; left out when the trigger has no arguments), then `metadata`, then the trigger's `seq` and
   * `durationNs`, so that a finding points back at its record.
   */
  finding(f: Finding, matched: bigint): void {
    const argsNum = f.data.length + (f.event.args.length > 0 ? 1 : 0);
    this.#line(f.event, findingSpec(f.rule, f.eventId), argsNum, matched, f);
  }

  /**
   * One line: `spec`, `argsNum` and `matched` stand in for the event's own when it is a finding's trigger
   * (`finding` set), whose data, detectedFrom and metadata then replace the event's arguments.
   */
  #line(
    ev: TraceEvent,
    spec: EventSpec,
    argsNum: number,
    matched: bigint,
    finding: Finding | undefined,
  ): void {
    this.#ensure(512);
    const t = this.#thread(ev, spec, argsNum, matched);
    this.#timestamp(ev.timestamp);
    if (finding === undefined) {
      this.#copy(this.#headMid(t, ev.processorId));
      this.#retTailArgs(t, ev);
    } else {
      this.#copy(t.head);
      this.#uint(ev.processorId);
      this.#copy(t.mid);
      this.#num(ev.returnValue);
      this.#copy(t.tail);
      this.#writeFindingArgs(finding);
      this.#copy(METADATA);
      this.#raw(metadataJson(findingMetadata(finding.rule)));
      this.#copy(SEQ_AFTER_METADATA);
    }
    this.#big(ev.seq);
    if (ev.durationNs !== undefined) {
      this.#copy(DURATION);
      this.#big(ev.durationNs);
    }
    if (ev.entrySeen === false) this.#copy(NO_ENTRY);
    if (this.#opts.parseArguments && spec.syscall && !ev.atEntry) {
      const errno = retvalErrno(ev.returnValue, spec.name);
      if (errno !== undefined) {
        this.#copy(ERRNO);
        this.#string(errno);
      }
    }
    const ancestors = this.#opts.ancestors?.(ev);
    if (ancestors !== undefined) {
      this.#copy(ANCESTORS);
      this.#raw(ancestorsJson(ancestors));
    }
    this.#ensure(2);
    this.#buf[this.#len++] = 125; // }
    this.#buf[this.#len++] = 10;
  }

  /** `head`, the processor id and `mid`, as one run per processor (rendered on the thread's first use of it). */
  #headMid(t: ThreadRun, cpu: number): Uint8Array {
    let run = cpu < MAX_CPU_RUNS ? t.cpuMid[cpu] : undefined;
    if (run === undefined) {
      const start = this.#len;
      this.#copy(t.head);
      this.#uint(cpu);
      this.#copy(t.mid);
      run = new Uint8Array(this.#buf.subarray(start, this.#len));
      this.#len = start;
      if (cpu < MAX_CPU_RUNS) t.cpuMid[cpu] = run;
    }
    return run;
  }

  /**
   * The return value, `tail`, the event's arguments and `],"seq":`. The run from `tail` on is copied from the
   * thread's cache when the arguments are the ones cached, else rendered (and cached when they are the same
   * as the previous event's); with the return value the cached one too, the whole run is.
   */
  #retTailArgs(t: ThreadRun, ev: TraceEvent): void {
    const args = ev.args;
    const key = t.argsKey;
    const ret = ev.returnValue;
    if (key !== undefined && (args === t.argsRef || sameArgs(key, args))) {
      if (ret === t.runRet) {
        this.#copy(t.retRun!);
        return;
      }
      const start = this.#len;
      this.#num(ret);
      this.#copy(t.argsRun!);
      // A return value seen twice in a row joins the cached run.
      if (ret === t.lastRet) {
        t.runRet = ret;
        t.retRun = new Uint8Array(this.#buf.subarray(start, this.#len));
      }
      t.lastRet = ret;
      return;
    }
    this.#num(ret);
    const start = this.#len;
    this.#copy(t.tail);
    if (args.length > 0) this.#writeArgs(ev);
    this.#copy(SEQ);
    const last = t.lastArgs;
    t.lastArgs = args;
    if (last === undefined || (last !== args && !sameArgsAs(last, args))) return;
    const k = argsKey(args);
    if (k === undefined) return;
    t.argsKey = k;
    t.argsRef = args;
    t.runRet = undefined;
    t.retRun = undefined;
    t.lastRet = ret;
    // A copy (Buffer#slice would share the writer's buffer, which the next batch overwrites).
    t.argsRun = new Uint8Array(this.#buf.subarray(start, this.#len));
    t.lastArgs = undefined;
  }

  /** The rule's data then `detectedFrom`, whose `args` are the trigger's arguments as its own line has them. */
  #writeFindingArgs(f: Finding): void {
    const t = f.event;
    f.data.forEach((a, i) => {
      this.#raw(
        `${i > 0 ? ',' : ''}{"name":${JSON.stringify(a.name)},"type":${JSON.stringify(a.type)},"value":`,
      );
      this.#raw(jsonValue(a.value));
      this.#ensure(1);
      this.#buf[this.#len++] = 125; // }
    });
    if (t.args.length === 0) return;
    if (f.data.length > 0) this.#raw(',');
    this.#copy(DETECTED_FROM);
    this.#writeArgs(t);
    this.#raw(`],"id":${t.spec.id},"name":${JSON.stringify(t.spec.name)},"returnValue":`);
    this.#num(t.returnValue);
    this.#raw('}}');
  }

  #ensure(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }

  #copy(b: Uint8Array): void {
    const n = b.length;
    this.#ensure(n);
    const buf = this.#buf;
    let o = this.#len;
    // A byte loop wins only for the shortest runs; set() is a memcpy.
    if (n < 16) for (let i = 0; i < n; i++) buf[o++] = b[i]!;
    else {
      buf.set(b, o);
      o += n;
    }
    this.#len = o;
  }

  /** Text known to be JSON already (numbers, escaped strings). */
  #raw(s: string): void {
    this.#ensure(s.length * 3);
    this.#len += this.#buf.write(s, this.#len);
  }

  /** A non-negative integer below 2^53. */
  #uint(v: number): void {
    this.#ensure(20);
    const buf = this.#buf;
    if (v < 10) {
      buf[this.#len++] = 48 + v;
      return;
    }
    let digits = 2;
    for (let p = 100; p <= v; p *= 10) digits++;
    let o = this.#len + digits;
    this.#len = o;
    while (v >= 100) {
      const q = v < 0x80000000 ? (v / 100) | 0 : Math.floor(v / 100);
      const r = (v - q * 100) * 2;
      buf[--o] = PAIRS[r + 1]!;
      buf[--o] = PAIRS[r]!;
      v = q;
    }
    if (v >= 10) {
      buf[--o] = PAIRS[v * 2 + 1]!;
      buf[--o] = PAIRS[v * 2]!;
    } else buf[--o] = 48 + v;
  }

  /** A number or bigint as JSON.stringify/String write it (non-finite numbers are null). */
  #num(v: number | bigint): void {
    if (typeof v === 'bigint') {
      this.#big(v);
      return;
    }
    if (Number.isInteger(v) && v <= Number.MAX_SAFE_INTEGER && v >= -Number.MAX_SAFE_INTEGER) {
      if (v < 0) {
        this.#ensure(1);
        this.#buf[this.#len++] = 45; // -
        this.#uint(-v);
      } else this.#uint(v === 0 ? 0 : v); // -0 prints as 0
      return;
    }
    if (!Number.isFinite(v)) this.#copy(NULL);
    else this.#raw(String(v));
  }

  #big(v: bigint): void {
    if (v >= 0n && v <= MAX_SAFE) this.#uint(Number(v));
    else this.#raw(v.toString());
  }

  /**
   * `{"timestamp":` and an epoch-ns bigint: the key and the seconds come as one run from the previous
   * timestamp when its seconds are the same.
   */
  #timestamp(v: bigint): void {
    if (v <= MAX_SAFE) {
      this.#copy(OPEN);
      this.#big(v);
      return;
    }
    let ns = v - this.#secBase;
    if (ns < 0n || ns >= NS_PER_S) {
      const sec = v / NS_PER_S;
      this.#secBase = sec * NS_PER_S;
      this.#secDigits = encoder.encode(`{"timestamp":${sec}`);
      ns = v - this.#secBase;
    }
    this.#copy(this.#secDigits);
    this.#ensure(9);
    const buf = this.#buf;
    let n = Number(ns);
    let o = this.#len + 9;
    this.#len = o;
    for (let i = 0; i < 4; i++) {
      const q = (n / 100) | 0; // n < 10^9: an int32
      const r = (n - q * 100) * 2;
      buf[--o] = PAIRS[r + 1]!;
      buf[--o] = PAIRS[r]!;
      n = q;
    }
    buf[--o] = 48 + n;
  }

  /** A JSON string: printable ASCII is copied, anything else goes through JSON.stringify. */
  #string(s: string): void {
    const n = s.length;
    this.#ensure(n + 2);
    const buf = this.#buf;
    let o = this.#len;
    buf[o++] = 34;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c >= 0x80 || c === 34 || c === 92) {
        this.#raw(JSON.stringify(s));
        return;
      }
      buf[o++] = c;
    }
    buf[o++] = 34;
    this.#len = o;
  }

  #value(v: ArgValue): void {
    switch (typeof v) {
      case 'number':
      case 'bigint':
        this.#num(v);
        return;
      case 'string':
        this.#string(v);
        return;
      case 'boolean':
        this.#copy(v ? TRUE : FALSE);
        return;
    }
    if (v === null) this.#copy(NULL);
    else this.#raw(jsonValue(v));
  }

  #writeArgs(ev: TraceEvent): void {
    const args = ev.args;
    let prefixes = this.#args.get(ev.spec);
    if (prefixes === undefined) {
      prefixes = [];
      this.#args.set(ev.spec, prefixes);
    }
    const parse = this.#opts.parseArguments;
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      const parsed = parse ? parsedArg(ev, a, i) : undefined;
      const type = parsed === undefined ? a.type : 'string';
      let p = prefixes[i];
      if (p === undefined || p.name !== a.name || p.type !== type) {
        p = {
          name: a.name,
          type,
          bytes: encoder.encode(
            `${i > 0 ? ',' : ''}{"name":${JSON.stringify(a.name)},"type":${JSON.stringify(type)},"value":`,
          ),
        };
        // Keep the common (unparsed) form cached; a parsed variant is rendered each time it differs.
        if (prefixes[i] === undefined || parsed === undefined) prefixes[i] = p;
      }
      this.#copy(p.bytes);
      if (parsed === undefined) this.#value(a.value);
      else this.#string(parsed);
      if (a.problem !== undefined) {
        this.#copy(PROBLEM);
        this.#string(a.problem);
      }
      this.#ensure(1);
      this.#buf[this.#len++] = 125; // }
    }
  }

  /** The thread's cached runs, re-rendered when any field they came from differs. */
  #thread(ev: TraceEvent, spec: EventSpec, argsNum: number, matched: bigint): ThreadRun {
    const slot = ev.hostThreadId & (THREAD_SLOTS - 1);
    let t = this.#threads[slot];
    if (
      t === undefined ||
      t.hostThreadId !== ev.hostThreadId ||
      t.threadStartTime !== ev.threadStartTime ||
      t.processId !== ev.processId ||
      t.cgroupId !== ev.cgroupId ||
      t.threadId !== ev.threadId ||
      t.parentProcessId !== ev.parentProcessId ||
      t.hostProcessId !== ev.hostProcessId ||
      t.hostParentProcessId !== ev.hostParentProcessId ||
      t.userId !== ev.userId ||
      t.mountNamespace !== ev.mountNamespace ||
      t.pidNamespace !== ev.pidNamespace ||
      t.processName !== ev.processName ||
      t.executablePath !== ev.executablePath ||
      t.hostName !== ev.hostName ||
      t.containerId !== ev.containerId ||
      t.container !== ev.container ||
      t.leaderStartTime !== ev.leaderStartTime ||
      t.parentStartTime !== ev.parentStartTime
    ) {
      t = renderThread(ev);
      this.#threads[slot] = t;
    }
    if (
      t.spec !== spec ||
      t.matched !== matched ||
      t.argsNum !== argsNum ||
      t.syscall !== ev.syscall ||
      t.isCompat !== ev.isCompat ||
      t.containerStarted !== (ev.containerStarted === true)
    ) {
      const q = JSON.stringify;
      const policies = this.#matchedJson(matched);
      t.spec = spec;
      t.matched = matched;
      t.argsNum = argsNum;
      t.syscall = ev.syscall;
      t.isCompat = ev.isCompat;
      t.containerStarted = ev.containerStarted === true;
      t.mid = encoder.encode(
        `${t.context}${spec.id}","eventName":${q(spec.name)},${policies}"argsNum":${argsNum},"returnValue":`,
      );
      t.tail = encoder.encode(
        `,"syscall":${q(ev.syscall)},"stackAddresses":null,"contextFlags":{"containerStarted":${t.containerStarted},` +
          `"isCompat":${ev.isCompat}},"threadEntityId":${t.ids}`,
      );
      t.lastArgs = undefined;
      t.argsKey = undefined;
      t.argsRef = undefined;
      t.argsRun = undefined;
      t.runRet = undefined;
      t.retRun = undefined;
      t.cpuMid = [];
    }
    return t;
  }

  /** `"matchedPolicies":[...],` or '' when no policy matched. */
  #matchedJson(matched: bigint): string {
    let s = this.#matched.get(matched);
    if (s === undefined) {
      const names = matchedPolicyNames(matched, this.#opts.policyNames);
      s = names.length > 0 ? `"matchedPolicies":[${names.map((m) => JSON.stringify(m)).join(',')}],` : '';
      if (this.#matched.size < 1024) this.#matched.set(matched, s);
    }
    return s;
  }
}

/**
 * `"container":{...},"kubernetes":{...}` as Tracee writes them: each field only when not empty; both objects
 * always present. `podSandbox` (which Tracee never fills) only when true.
 */
export function containerJson(id: string, f: ContainerFacts | undefined): string {
  const q = JSON.stringify;
  const c: string[] = [];
  if (id !== '') c.push(`"id":${q(id)}`);
  if (f?.name) c.push(`"name":${q(f.name)}`);
  if (f?.image) c.push(`"image":${q(f.image)}`);
  if (f?.imageDigest) c.push(`"imageDigest":${q(f.imageDigest)}`);
  const k: string[] = [];
  if (f?.podName) k.push(`"podName":${q(f.podName)}`);
  if (f?.podNamespace) k.push(`"podNamespace":${q(f.podNamespace)}`);
  if (f?.podUid) k.push(`"podUID":${q(f.podUid)}`);
  if (f?.podSandbox) k.push(`"podSandbox":true`);
  return `"container":{${c.join(',')}},"kubernetes":{${k.join(',')}}`;
}

function renderThread(ev: TraceEvent): ThreadRun {
  const q = JSON.stringify;
  const tid = entityId(ev.hostThreadId, ev.threadStartTime);
  // Process and parent ids hash the leader's and the parent leader's start times (event_hdr_t); records
  // without them (old fixtures) fall back to the thread for a leader and 0 otherwise.
  const pid =
    ev.leaderStartTime !== undefined
      ? entityId(ev.hostProcessId, ev.leaderStartTime)
      : ev.hostProcessId === ev.hostThreadId
        ? tid
        : 0;
  const ppid = ev.parentStartTime !== undefined ? entityId(ev.hostParentProcessId, ev.parentStartTime) : 0;
  return {
    hostThreadId: ev.hostThreadId,
    threadStartTime: ev.threadStartTime,
    processId: ev.processId,
    cgroupId: ev.cgroupId,
    threadId: ev.threadId,
    parentProcessId: ev.parentProcessId,
    hostProcessId: ev.hostProcessId,
    hostParentProcessId: ev.hostParentProcessId,
    userId: ev.userId,
    mountNamespace: ev.mountNamespace,
    pidNamespace: ev.pidNamespace,
    processName: ev.processName,
    executablePath: ev.executablePath,
    hostName: ev.hostName,
    containerId: ev.containerId,
    container: ev.container,
    leaderStartTime: ev.leaderStartTime,
    parentStartTime: ev.parentStartTime,
    head: encoder.encode(`,"threadStartTime":${ev.threadStartTime},"processorId":`),
    context:
      `,"processId":${ev.processId},"cgroupId":${ev.cgroupId},"threadId":${ev.threadId},` +
      `"parentProcessId":${ev.parentProcessId},"hostProcessId":${ev.hostProcessId},"hostThreadId":${ev.hostThreadId},` +
      `"hostParentProcessId":${ev.hostParentProcessId},"userId":${ev.userId},"mountNamespace":${ev.mountNamespace},` +
      `"pidNamespace":${ev.pidNamespace},"processName":${q(ev.processName)},"executable":{"path":${q(ev.executablePath)}},` +
      `"hostName":${q(ev.hostName)},"containerId":${q(ev.containerId)},${containerJson(ev.containerId, ev.container)},"eventId":"`,
    ids: `${tid},"processEntityId":${pid},"parentEntityId":${ppid},"args":[`,
    spec: undefined,
    matched: 0n,
    argsNum: -1,
    syscall: '',
    isCompat: false,
    containerStarted: false,
    mid: new Uint8Array(0),
    tail: new Uint8Array(0),
    lastArgs: undefined,
    argsKey: undefined,
    argsRef: undefined,
    argsRun: undefined,
    runRet: undefined,
    lastRet: undefined,
    retRun: undefined,
    cpuMid: [],
  };
}

/** A value the argument cache can hold: compared with ===, it decides the rendering. */
function primitive(v: ArgValue): boolean {
  return v === null || typeof v !== 'object';
}

/** name, type, value, problem of each argument, or undefined when a value is an object (not cached). */
function argsKey(args: readonly EventArg[]): unknown[] | undefined {
  const k: unknown[] = new Array(args.length * 4);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!primitive(a.value)) return undefined;
    k[i * 4] = a.name;
    k[i * 4 + 1] = a.type;
    k[i * 4 + 2] = a.value;
    k[i * 4 + 3] = a.problem;
  }
  return k;
}

function sameArgs(key: readonly unknown[], args: readonly EventArg[]): boolean {
  if (key.length !== args.length * 4) return false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (
      a.value !== key[i * 4 + 2] ||
      a.name !== key[i * 4] ||
      a.type !== key[i * 4 + 1] ||
      a.problem !== key[i * 4 + 3]
    )
      return false;
  }
  return true;
}

function sameArgsAs(x: readonly EventArg[], y: readonly EventArg[]): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) {
    const a = x[i]!;
    const b = y[i]!;
    if (a.value !== b.value || a.name !== b.name || a.type !== b.type || a.problem !== b.problem)
      return false;
  }
  return true;
}

/** `metadata` of a finding: Tracee's Go structs print `Properties` keys sorted and empty `Tags` as null. */
function metadataJson(m: FindingMetadata): string {
  const q = JSON.stringify;
  const p = m.Properties;
  const tags = m.Tags.length === 0 ? 'null' : `[${m.Tags.map((t) => q(t)).join(',')}]`;
  return (
    `{"Version":${q(m.Version)},"Description":${q(m.Description)},"Tags":${tags},"Properties":{` +
    `"Category":${q(p.Category)},"Kubernetes_Technique":${q(p.Kubernetes_Technique)},"Severity":${p.Severity},` +
    `"Technique":${q(p.Technique)},"external_id":${q(p.external_id)},"id":${q(p.id)},` +
    `"signatureID":${q(p.signatureID)},"signatureName":${q(p.signatureName)}}}`
  );
}

/** `option:ancestry`'s array: `[{"pid":..,"comm":..,"exe":..}]`, parent first. */
export function ancestorsJson(ancestors: readonly Ancestor[]): string {
  const q = JSON.stringify;
  return `[${ancestors.map((a) => `{"pid":${a.pid},"comm":${q(a.comm)},"exe":${q(a.exe)}}`).join(',')}]`;
}

/**
 * The `lost_events` line (no newline): kernel ring-buffer losses so far, per event name in the given order,
 * with their total. ktrail's addition; consumers that do not know it skip it (it has no `eventId`).
 */
export function lostEventsJson(epochNs: bigint, lost: ReadonlyMap<string, bigint>): string {
  let total = 0n;
  const parts: string[] = [];
  for (const [name, n] of lost) {
    parts.push(`${JSON.stringify(name)}:${n}`);
    total += n;
  }
  return `{"timestamp":${epochNs},"eventName":"lost_events","lostTotal":${total},"lost":{${parts.join(',')}}}`;
}

const writers = new WeakMap<JsonOptions, JsonWriter>();

function writerFor(opts: JsonOptions): JsonWriter {
  let w = writers.get(opts);
  if (w === undefined) {
    w = new JsonWriter(opts, 4096);
    writers.set(opts, w);
  }
  w.reset();
  return w;
}

/** One classic JSON line (without the newline). */
export function formatJson(ev: TraceEvent, opts: JsonOptions): string {
  const w = writerFor(opts);
  w.event(ev);
  const text = w.text();
  return text.slice(0, text.length - 1);
}

/** One finding line (without the newline); `matched` defaults to the trigger's policies. */
export function formatFindingJson(f: Finding, opts: JsonOptions, matched = f.event.matched): string {
  const w = writerFor(opts);
  w.finding(f, matched);
  const text = w.text();
  return text.slice(0, text.length - 1);
}
