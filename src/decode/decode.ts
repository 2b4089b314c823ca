/**
 * Turns ring-buffer records (bpf/include/wire.h; offsets from src/abi/abi.gen.ts) into TraceEvents, using the
 * catalog for field names, types and wire kinds. Decoding never throws on bad input: a record that does not parse is counted and skipped, so one
 * bad record cannot stop the stream.
 */

import {
  arg_kind,
  blob_hdr_t,
  blob_status,
  event_hdr_t,
  kt_hdr_flag,
  kt_wire_limit,
} from '../abi/abi.gen.js';
import type { EventSpec, FieldSpec, TraceeType } from '../catalog/types.js';
import type { ArgProblem, ArgValue, EventArg, SockAddrValue, TraceEvent } from './event.js';

const HDR = event_hdr_t;
const { KT_COMM_LEN, KT_UTS_LEN, KT_MAX_ARGS } = kt_wire_limit;
const { KT_F_AT_ENTRY, KT_F_COMPAT, KT_F_INTERNAL, KT_F_NEW_MNTNS, KT_F_NO_ENTRY } = kt_hdr_flag;

export type DecodeErrorKind = 'short_record' | 'bad_size' | 'unknown_event' | 'bad_blob';

/** Per-kind counts of records the decoder skipped. */
export type DecodeErrors = Record<DecodeErrorKind, number>;

export interface DecoderOptions {
  /** Looks an event up by its catalog id. */
  readonly eventById: (id: number) => EventSpec | undefined;
  /** Adds to a boot-clock timestamp to give ns since the epoch (CLOCK_REALTIME - CLOCK_BOOTTIME). */
  readonly bootToEpochNs: bigint;
}

const utf8 = new TextDecoder('utf-8');

function cString(buf: Uint8Array, start: number, max: number): string {
  let end = start;
  const stop = start + max;
  while (end < stop && buf[end] !== 0) end++;
  return utf8.decode(buf.subarray(start, end));
}

/** Narrows a raw 64-bit register to the field's type. Small 64-bit values become numbers. */
export function narrowRegister(raw: bigint, type: TraceeType): number | bigint | boolean {
  switch (type) {
    case 'int32':
      return Number(BigInt.asIntN(32, raw));
    case 'uint32':
      return Number(BigInt.asUintN(32, raw));
    case 'uint16':
      return Number(BigInt.asUintN(16, raw));
    case 'uint8':
      return Number(BigInt.asUintN(8, raw));
    case 'bool':
      return raw !== 0n;
    case 'int64':
      return toNumberIfSafe(BigInt.asIntN(64, raw));
    default:
      return toNumberIfSafe(BigInt.asUintN(64, raw));
  }
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function toNumberIfSafe(v: bigint): number | bigint {
  return v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : v;
}

const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;

/** Decodes a raw `struct sockaddr` the way Tracee prints it. */
export function decodeSockaddr(b: Uint8Array): SockAddrValue {
  if (b.length < 2) return {};
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const family = dv.getUint16(0, true);
  if (family === AF_INET && b.length >= 8) {
    return {
      sa_family: 'AF_INET',
      sin_port: String(dv.getUint16(2, false)),
      sin_addr: `${b[4]}.${b[5]}.${b[6]}.${b[7]}`,
    };
  }
  if (family === AF_INET6 && b.length >= 24) {
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) groups.push(dv.getUint16(8 + i * 2, false).toString(16));
    return {
      sa_family: 'AF_INET6',
      sin6_port: String(dv.getUint16(2, false)),
      sin6_flowinfo: String(dv.getUint32(4, false)),
      sin6_addr: compressIpv6(groups),
      sin6_scopeid: String(b.length >= 28 ? dv.getUint32(24, true) : 0),
    };
  }
  if (family === AF_UNIX) {
    // An abstract socket name starts with a NUL byte; show it with a leading '@' as ss(8) does.
    if (b.length > 2 && b[2] === 0)
      return { sa_family: 'AF_UNIX', sun_path: `@${utf8.decode(b.subarray(3))}` };
    return { sa_family: 'AF_UNIX', sun_path: cString(b, 2, b.length - 2) };
  }
  return { sa_family: String(family) };
}

/** RFC 5952 text form of eight 16-bit groups (already in lower-case hex). */
function compressIpv6(groups: string[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  const head = groups.slice(0, bestStart).join(':');
  const tail = groups.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}

function decodeStringArray(b: Uint8Array): string[] {
  if (b.length < 4) return [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const count = dv.getUint32(0, true);
  const out: string[] = [];
  let off = 4;
  for (let i = 0; i < count && off + 2 <= b.length; i++) {
    const len = dv.getUint16(off, true);
    off += 2;
    out.push(utf8.decode(b.subarray(off, Math.min(off + len, b.length))));
    off += len;
  }
  return out;
}

/**
 * A joined path (ARG_PATH_JOIN: a directory the kernel resolved, '/', the caller's path) cleaned up
 * lexically: empty and '.' components dropped, '..' removes the one before it (never above the root).
 * Symlinks in the caller's part are not followed: the kernel did not say where they led.
 */
export function cleanPath(path: string): string {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

/** NUL-separated strings (ARG_STR_LIST); a missing final NUL (a cut list) still ends the last string. */
export function decodeStringList(b: Uint8Array): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0) {
      out.push(utf8.decode(b.subarray(start, i)));
      start = i + 1;
    }
  }
  if (start < b.length) out.push(utf8.decode(b.subarray(start)));
  return out;
}

function decodeStruct(b: Uint8Array, field: FieldSpec): ArgValue {
  if (field.decode.wire !== 'struct') return b;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (field.decode.layout) {
    case 'timespec':
    case 'timeval': {
      if (b.length < 16) return null;
      const sec = Number(dv.getBigInt64(0, true));
      const frac = Number(dv.getBigInt64(8, true));
      // Tracee prints timespec-like values as float64 seconds.
      return sec + frac / (field.decode.layout === 'timespec' ? 1e9 : 1e6);
    }
    case 'itimerspec': {
      if (b.length < 32) return null;
      const v: number[] = [];
      for (let i = 0; i < 4; i++) v.push(Number(dv.getBigInt64(i * 8, true)));
      return v;
    }
    case 'rlimit': {
      if (b.length < 16) return null;
      return [
        Number(BigInt.asUintN(64, dv.getBigInt64(0, true))),
        Number(BigInt.asUintN(64, dv.getBigInt64(8, true))),
      ];
    }
    default:
      return b;
  }
}

function emptyValue(type: TraceeType): ArgValue {
  switch (type) {
    case 'string':
      return '';
    case '[]string':
      return [];
    case 'SockAddr':
      return {};
    case '[]byte':
      return new Uint8Array(0);
    default:
      return null;
  }
}

/** Reads a 64-bit register at `off` and narrows it as narrowRegister does, without a bigint when none is needed. */
function readRegister(dv: DataView, off: number, type: TraceeType): number | bigint | boolean {
  const lo = dv.getUint32(off, true);
  switch (type) {
    case 'int32':
      return lo | 0;
    case 'uint32':
      return lo;
    case 'uint16':
      return lo & 0xffff;
    case 'uint8':
      return lo & 0xff;
    case 'bool':
      return (lo | dv.getUint32(off + 4, true)) !== 0;
    case 'int64':
      return readInt64(dv, off);
    default: {
      const hi = dv.getUint32(off + 4, true);
      // Below 2^53 (hi < 2^21) the value is an exact number.
      return hi < 0x200000 ? hi * 4294967296 + lo : dv.getBigUint64(off, true);
    }
  }
}

/** A signed 64-bit value: a number when it is a safe integer, else a bigint (as toNumberIfSafe). */
function readInt64(dv: DataView, off: number): number | bigint {
  const hi = dv.getInt32(off + 4, true);
  if (hi >= -0x200000 && hi < 0x200000) {
    const v = hi * 4294967296 + dv.getUint32(off, true);
    if (v >= Number.MIN_SAFE_INTEGER) return v;
  }
  return dv.getBigInt64(off, true);
}

/** True when `sv` holds the record's header args[] then its `payload` bytes (compared a word at a time). */
function sameBytes(sv: DataView, dv: DataView, base: number, payload: number): boolean {
  const a = base + HDR.args;
  for (let i = 0; i < ARGS_BYTES; i += 4)
    if (sv.getUint32(i, true) !== dv.getUint32(a + i, true)) return false;
  const p = base + HDR.SIZE;
  const words = payload & ~3;
  for (let i = 0; i < words; i += 4)
    if (sv.getUint32(ARGS_BYTES + i, true) !== dv.getUint32(p + i, true)) return false;
  for (let i = words; i < payload; i++) if (sv.getUint8(ARGS_BYTES + i) !== dv.getUint8(p + i)) return false;
  return true;
}

/** Policy bitmaps below 256, shared rather than allocated per record. */
const SMALL_BIGINTS: readonly bigint[] = Array.from({ length: 256 }, (_, i) => BigInt(i));

/**
 * What a thread's records repeat: start times, cgroup, comm and nodename, each kept with the raw words it was
 * decoded from so that a record reuses the values (no new bigint or string) when its words are the same.
 */
interface ThreadValues {
  tid: number;
  startLo: number;
  startHi: number;
  threadStartTime: bigint;
  leaderLo: number;
  leaderHi: number;
  leaderStartTime: bigint;
  parentLo: number;
  parentHi: number;
  parentStartTime: bigint;
  cgroupLo: number;
  cgroupHi: number;
  cgroupId: bigint;
  comm0: number;
  comm1: number;
  comm2: number;
  comm3: number;
  processName: string;
  uts0: number;
  uts1: number;
  uts2: number;
  uts3: number;
  hostName: string;
  // The last syscall record's arguments, reused while the bytes they came from repeat (a storm of one call).
  argsSpec: EventSpec | undefined;
  /** Its header args[] then its payload, as read. */
  argsBytes: Uint8Array;
  argsView: DataView;
  args: EventArg[] | undefined;
}

/** Payloads longer than this are decoded afresh every time (comparing them would cost about as much). */
const REUSE_PAYLOAD_MAX = 256;
const ARGS_BYTES = KT_MAX_ARGS * 8;
const EMPTY_BYTES = new Uint8Array(0);
const EMPTY_VIEW = new DataView(EMPTY_BYTES.buffer);

const THREAD_SLOTS = 4096;
const STRING_SLOTS = 1024;
/** Longest argument string kept in the decoder's string cache. */
const CACHED_STRING_MAX = 96;

interface CachedString {
  readonly bytes: Uint8Array;
  readonly text: string;
}

/** A mutable TraceEvent while the decoder builds it. */
type Building = { -readonly [K in keyof TraceEvent]: TraceEvent[K] };

/**
 * A stateful decoder: keeps per-kind error counts, and caches what records of one thread repeat (strings,
 * 64-bit times) so that equal values are shared between events. One instance serves one capture session; it
 * is not safe to share between threads (there are none in Node; the note is for worker-thread use). Decoded
 * events do not reference the batch's memory (except `[]byte` values of a Buffer batch, views as before).
 */
export class Decoder {
  readonly errors: DecodeErrors = { short_record: 0, bad_size: 0, unknown_event: 0, bad_blob: 0 };
  readonly #opts: DecoderOptions;
  readonly #boot: bigint;
  readonly #threads: (ThreadValues | undefined)[] = new Array(THREAD_SLOTS).fill(undefined);
  readonly #strings: (CachedString | undefined)[] = new Array(STRING_SLOTS).fill(undefined);
  /** Syscall names by number (the catalog is fixed for a session). */
  readonly #syscalls = new Map<number, string>();

  constructor(opts: DecoderOptions) {
    this.#opts = opts;
    this.#boot = opts.bootToEpochNs;
  }

  /** Decodes a whole batch: records each prefixed by their u32 length (native/ batch format). */
  decodeBatch(batch: Uint8Array, out: TraceEvent[] = []): TraceEvent[] {
    const dv = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
    let off = 0;
    while (off + 4 <= batch.length) {
      const len = dv.getUint32(off, true);
      off += 4;
      if (len > batch.length - off) {
        this.errors.bad_size++;
        break;
      }
      const ev = this.#decode(batch, dv, off, len);
      if (ev) out.push(ev);
      off += len;
    }
    return out;
  }

  /** Decodes one record; undefined (and a counted error) when it does not parse. */
  decodeRecord(rec: Uint8Array): TraceEvent | undefined {
    return this.#decode(rec, new DataView(rec.buffer, rec.byteOffset, rec.byteLength), 0, rec.length);
  }

  /** The record at [base, base + len) of `buf` (`dv` views the same bytes). */
  #decode(buf: Uint8Array, dv: DataView, base: number, len: number): TraceEvent | undefined {
    if (len < HDR.SIZE) {
      this.errors.short_record++;
      return undefined;
    }
    const size = dv.getUint32(base + HDR.size, true);
    if (size > len || size < HDR.SIZE) {
      this.errors.bad_size++;
      return undefined;
    }
    const eventId = dv.getUint32(base + HDR.event_id, true);
    const spec = this.#opts.eventById(eventId);
    if (!spec) {
      this.errors.unknown_event++;
      return undefined;
    }
    const flags = dv.getUint32(base + HDR.flags, true);
    const atEntry = (flags & KT_F_AT_ENTRY) !== 0;
    const noEntry = (flags & KT_F_NO_ENTRY) !== 0;
    const t = this.#thread(buf, dv, base);
    const args =
      spec.syscall !== undefined && size - HDR.SIZE <= REUSE_PAYLOAD_MAX
        ? this.#syscallArgs(spec, t, dv, buf, base, size)
        : this.#decodeArgs(spec, dv, buf, base, size);
    if (!args) {
      this.errors.bad_blob++;
      return undefined;
    }
    const nr = dv.getUint32(base + HDR.syscall_nr, true);
    const matchedLo = dv.getUint32(base + HDR.matched, true);
    const ev: Building = {
      spec,
      timestamp: dv.getBigUint64(base + HDR.ts, true) + this.#boot,
      threadStartTime: t.threadStartTime,
      processorId: dv.getUint32(base + HDR.cpu, true),
      processId: dv.getUint32(base + HDR.pid, true),
      cgroupId: t.cgroupId,
      threadId: dv.getUint32(base + HDR.tid, true),
      parentProcessId: dv.getUint32(base + HDR.ppid, true),
      hostProcessId: dv.getUint32(base + HDR.host_pid, true),
      hostThreadId: t.tid,
      hostParentProcessId: dv.getUint32(base + HDR.host_ppid, true),
      userId: dv.getUint32(base + HDR.uid, true),
      groupId: dv.getUint32(base + HDR.gid, true),
      mountNamespace: dv.getUint32(base + HDR.mnt_ns, true),
      pidNamespace: dv.getUint32(base + HDR.pid_ns, true),
      processName: t.processName,
      executablePath: '',
      hostName: t.hostName,
      containerId: '',
      returnValue: atEntry ? 0 : readInt64(dv, base + HDR.retval),
      syscall: nr === 0xffffffff ? '' : this.#syscallName(nr),
      isCompat: (flags & KT_F_COMPAT) !== 0,
      atEntry,
      args,
      seq: dv.getBigUint64(base + HDR.seq, true),
      durationNs:
        atEntry || noEntry || !spec.syscall ? undefined : dv.getBigUint64(base + HDR.duration_ns, true),
      matched:
        matchedLo < 256 && dv.getUint32(base + HDR.matched + 4, true) === 0
          ? SMALL_BIGINTS[matchedLo]!
          : dv.getBigUint64(base + HDR.matched, true),
      leaderStartTime: t.leaderStartTime,
      parentStartTime: t.parentStartTime,
    };
    if ((flags & KT_F_INTERNAL) !== 0) ev.internal = true;
    if (noEntry) ev.entrySeen = false;
    if ((flags & KT_F_NEW_MNTNS) !== 0) ev.newMountNs = true;
    return ev;
  }

  #syscallName(nr: number): string {
    let name = this.#syscalls.get(nr);
    if (name === undefined) {
      name = this.#opts.eventById(nr)?.name ?? String(nr);
      this.#syscalls.set(nr, name);
    }
    return name;
  }

  /** The thread's repeated values for this record, decoded again only where the record's words differ. */
  #thread(buf: Uint8Array, dv: DataView, base: number): ThreadValues {
    const tid = dv.getUint32(base + HDR.host_tid, true);
    const slot = tid & (THREAD_SLOTS - 1);
    let t = this.#threads[slot];
    if (t === undefined || t.tid !== tid) {
      t = {
        tid,
        startLo: -1,
        startHi: -1,
        threadStartTime: 0n,
        leaderLo: -1,
        leaderHi: -1,
        leaderStartTime: 0n,
        parentLo: -1,
        parentHi: -1,
        parentStartTime: 0n,
        cgroupLo: -1,
        cgroupHi: -1,
        cgroupId: 0n,
        comm0: -1,
        comm1: -1,
        comm2: -1,
        comm3: -1,
        processName: '',
        uts0: -1,
        uts1: -1,
        uts2: -1,
        uts3: -1,
        hostName: '',
        argsSpec: undefined,
        argsBytes: EMPTY_BYTES,
        argsView: EMPTY_VIEW,
        args: undefined,
      };
      this.#threads[slot] = t;
    }
    let lo = dv.getUint32(base + HDR.start_time, true);
    let hi = dv.getUint32(base + HDR.start_time + 4, true);
    if (lo !== t.startLo || hi !== t.startHi) {
      t.startLo = lo;
      t.startHi = hi;
      t.threadStartTime = dv.getBigUint64(base + HDR.start_time, true) + this.#boot;
    }
    lo = dv.getUint32(base + HDR.leader_start_time, true);
    hi = dv.getUint32(base + HDR.leader_start_time + 4, true);
    if (lo !== t.leaderLo || hi !== t.leaderHi) {
      t.leaderLo = lo;
      t.leaderHi = hi;
      t.leaderStartTime = dv.getBigUint64(base + HDR.leader_start_time, true) + this.#boot;
    }
    lo = dv.getUint32(base + HDR.parent_start_time, true);
    hi = dv.getUint32(base + HDR.parent_start_time + 4, true);
    if (lo !== t.parentLo || hi !== t.parentHi) {
      t.parentLo = lo;
      t.parentHi = hi;
      t.parentStartTime = dv.getBigUint64(base + HDR.parent_start_time, true) + this.#boot;
    }
    lo = dv.getUint32(base + HDR.cgroup_id, true);
    hi = dv.getUint32(base + HDR.cgroup_id + 4, true);
    if (lo !== t.cgroupLo || hi !== t.cgroupHi) {
      t.cgroupLo = lo;
      t.cgroupHi = hi;
      t.cgroupId = dv.getBigUint64(base + HDR.cgroup_id, true);
    }
    const c = base + HDR.comm;
    const c0 = dv.getUint32(c, true);
    const c1 = dv.getUint32(c + 4, true);
    const c2 = dv.getUint32(c + 8, true);
    const c3 = dv.getUint32(c + 12, true);
    if (c0 !== t.comm0 || c1 !== t.comm1 || c2 !== t.comm2 || c3 !== t.comm3) {
      t.comm0 = c0;
      t.comm1 = c1;
      t.comm2 = c2;
      t.comm3 = c3;
      t.processName = cString(buf, c, KT_COMM_LEN);
    }
    const u = base + HDR.uts;
    const u0 = dv.getUint32(u, true);
    const u1 = dv.getUint32(u + 4, true);
    const u2 = dv.getUint32(u + 8, true);
    const u3 = dv.getUint32(u + 12, true);
    if (u0 !== t.uts0 || u1 !== t.uts1 || u2 !== t.uts2 || u3 !== t.uts3) {
      t.uts0 = u0;
      t.uts1 = u1;
      t.uts2 = u2;
      t.uts3 = u3;
      t.hostName = cString(buf, u, KT_UTS_LEN);
    }
    return t;
  }

  /**
   * A syscall record's arguments: the thread's previous ones when the record's header args[] and payload are
   * the bytes those came from (the same array, shared: events never change their arguments), else decoded.
   */
  #syscallArgs(
    spec: EventSpec,
    t: ThreadValues,
    dv: DataView,
    buf: Uint8Array,
    base: number,
    size: number,
  ): EventArg[] | undefined {
    const payload = size - HDR.SIZE;
    const saved = t.argsBytes;
    if (
      t.argsSpec === spec &&
      saved.length === ARGS_BYTES + payload &&
      sameBytes(t.argsView, dv, base, payload)
    )
      return t.args;
    const args = this.#decodeArgs(spec, dv, buf, base, size);
    if (args === undefined) return undefined;
    // Arguments holding objects (bytes, arrays, addresses) are not shared.
    for (const x of args) if (x.value !== null && typeof x.value === 'object') return args;
    const bytes = saved.length === ARGS_BYTES + payload ? saved : new Uint8Array(ARGS_BYTES + payload);
    bytes.set(buf.subarray(base + HDR.args, base + HDR.args + ARGS_BYTES), 0);
    bytes.set(buf.subarray(base + HDR.SIZE, base + size), ARGS_BYTES);
    t.argsBytes = bytes;
    t.argsView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    t.argsSpec = spec;
    t.args = args;
    return args;
  }

  /** UTF-8 text of buf[start, end): short strings come from a cache keyed by their bytes. */
  #text(buf: Uint8Array, start: number, end: number): string {
    const n = end - start;
    if (n === 0) return '';
    if (n > CACHED_STRING_MAX) return utf8.decode(buf.subarray(start, end));
    let h = n;
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    const slot = (h >>> 0) & (STRING_SLOTS - 1);
    const e = this.#strings[slot];
    if (e !== undefined && e.bytes.length === n) {
      const b = e.bytes;
      let i = 0;
      while (i < n && b[i] === buf[start + i]) i++;
      if (i === n) return e.text;
    }
    // A copy: the batch's memory is reused by the ring reader.
    const bytes = new Uint8Array(buf.subarray(start, end));
    const text = utf8.decode(bytes);
    this.#strings[slot] = { bytes, text };
    return text;
  }

  #decodeArgs(
    spec: EventSpec,
    dv: DataView,
    buf: Uint8Array,
    base: number,
    size: number,
  ): EventArg[] | undefined {
    const args: EventArg[] = [];
    let off = HDR.SIZE;
    const n = spec.syscall ? spec.fields.length - 1 : spec.fields.length; // returnValue is not an argument
    // Syscall records keep integer fields in the header's args[]; other records carry every field as a blob.
    const inHeader = spec.syscall !== undefined;
    for (let i = 0; i < n; i++) {
      const field = spec.fields[i]!;
      if (field.decode.wire === 'reg' && inHeader) {
        const value =
          i < KT_MAX_ARGS
            ? readRegister(dv, base + HDR.args + i * 8, field.type)
            : narrowRegister(0n, field.type);
        args.push({ name: field.name, type: field.type, value });
        continue;
      }
      if (off + blob_hdr_t.SIZE > size) return undefined;
      const len = dv.getUint16(base + off + blob_hdr_t.len, true);
      const status = dv.getUint8(base + off + blob_hdr_t.status);
      const kind = dv.getUint8(base + off + blob_hdr_t.kind);
      off += blob_hdr_t.SIZE;
      if (off + len > size) return undefined;
      const start = base + off;
      off += len;
      const problem: ArgProblem | undefined =
        status === blob_status.BLOB_NULL
          ? 'null'
          : status === blob_status.BLOB_FAULT
            ? 'fault'
            : status === blob_status.BLOB_TRUNCATED
              ? 'truncated'
              : undefined;
      if (problem === 'null' || problem === 'fault') {
        args.push({ name: field.name, type: field.type, value: emptyValue(field.type), problem });
        continue;
      }
      const value =
        kind === arg_kind.ARG_REG
          ? this.#decodeRegBlob(field, dv, start, len)
          : kind === arg_kind.ARG_STR_LIST
            ? decodeStringList(buf.subarray(start, start + len))
            : kind === arg_kind.ARG_PATH_JOIN
              ? cleanPath(utf8.decode(buf.subarray(start, start + len)))
              : field.decode.wire === 'str'
                ? this.#text(buf, start, start + len)
                : this.#decodeBlob(field, buf, start, len);
      args.push(
        problem
          ? { name: field.name, type: field.type, value, problem }
          : { name: field.name, type: field.type, value },
      );
    }
    return args;
  }

  /** An 8-byte integer blob of a lifecycle record; boot-clock times (time.Time) become epoch ns. */
  #decodeRegBlob(field: FieldSpec, dv: DataView, start: number, len: number): ArgValue {
    if (len !== 8) return null;
    if (field.type === 'time.Time') {
      const raw = dv.getBigUint64(start, true);
      return raw === 0n ? 0 : raw + this.#opts.bootToEpochNs;
    }
    return readRegister(dv, start, field.type);
  }

  #decodeBlob(field: FieldSpec, buf: Uint8Array, start: number, len: number): ArgValue {
    const body = buf.subarray(start, start + len);
    switch (field.decode.wire) {
      case 'str':
        return utf8.decode(body);
      case 'str_arr':
        return decodeStringArray(body);
      case 'sockaddr':
        return decodeSockaddr(body);
      case 'struct':
        return decodeStruct(body, field);
      case 'int_ptr': {
        const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
        const out: number[] = [];
        for (let i = 0; i + 4 <= body.length; i += 4) out.push(dv.getInt32(i, true));
        return out;
      }
      default:
        return body.slice();
    }
  }
}
