/**
 * Turns ring-buffer records (bpf/include/wire.h) into TraceEvents, using the catalog for field names, types and
 * wire kinds. Decoding never throws on bad input: a record that does not parse is counted and skipped, so one
 * bad record cannot stop the stream.
 */
import type { EventSpec, FieldSpec, TraceeType } from '../catalog/types.js';
import type { ArgProblem, ArgValue, EventArg, SockAddrValue, TraceEvent } from './event.js';
import { ArgKind, BLOB_HDR_SIZE, BlobStatus, COMM_LEN, HDR, HdrFlag, UTS_LEN } from './wire.js';

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

function toNumberIfSafe(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
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

/**
 * A stateful decoder: keeps per-kind error counts. One instance serves one capture session; it is not safe to
 * share between threads (there are none in Node; the note is for worker-thread use).
 */
export class Decoder {
  readonly errors: DecodeErrors = { short_record: 0, bad_size: 0, unknown_event: 0, bad_blob: 0 };
  readonly #opts: DecoderOptions;

  constructor(opts: DecoderOptions) {
    this.#opts = opts;
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
      const ev = this.decodeRecord(batch.subarray(off, off + len));
      if (ev) out.push(ev);
      off += len;
    }
    return out;
  }

  /** Decodes one record; undefined (and a counted error) when it does not parse. */
  decodeRecord(rec: Uint8Array): TraceEvent | undefined {
    if (rec.length < HDR.SIZE) {
      this.errors.short_record++;
      return undefined;
    }
    const dv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
    const size = dv.getUint32(HDR.size, true);
    if (size > rec.length || size < HDR.SIZE) {
      this.errors.bad_size++;
      return undefined;
    }
    const eventId = dv.getUint32(HDR.eventId, true);
    const spec = this.#opts.eventById(eventId);
    if (!spec) {
      this.errors.unknown_event++;
      return undefined;
    }
    const flags = dv.getUint32(HDR.flags, true);
    const atEntry = (flags & HdrFlag.AT_ENTRY) !== 0;
    const args = this.#decodeArgs(spec, dv, rec, size);
    if (!args) {
      this.errors.bad_blob++;
      return undefined;
    }
    const nr = dv.getUint32(HDR.syscallNr, true);
    const boot = this.#opts.bootToEpochNs;
    const startTime = dv.getBigUint64(HDR.startTime, true);
    const ev: TraceEvent = {
      spec,
      timestamp: dv.getBigUint64(HDR.ts, true) + boot,
      threadStartTime: startTime + boot,
      processorId: dv.getUint32(HDR.cpu, true),
      processId: dv.getUint32(HDR.pid, true),
      cgroupId: dv.getBigUint64(HDR.cgroupId, true),
      threadId: dv.getUint32(HDR.tid, true),
      parentProcessId: dv.getUint32(HDR.ppid, true),
      hostProcessId: dv.getUint32(HDR.hostPid, true),
      hostThreadId: dv.getUint32(HDR.hostTid, true),
      hostParentProcessId: dv.getUint32(HDR.hostPpid, true),
      userId: dv.getUint32(HDR.uid, true),
      groupId: dv.getUint32(HDR.gid, true),
      mountNamespace: dv.getUint32(HDR.mntNs, true),
      pidNamespace: dv.getUint32(HDR.pidNs, true),
      processName: cString(rec, HDR.comm, COMM_LEN),
      executablePath: '',
      hostName: cString(rec, HDR.uts, UTS_LEN),
      containerId: '',
      returnValue: atEntry ? 0 : toNumberIfSafe(dv.getBigInt64(HDR.retval, true)),
      syscall: nr === 0xffffffff ? '' : (this.#opts.eventById(nr)?.name ?? String(nr)),
      isCompat: (flags & HdrFlag.COMPAT) !== 0,
      atEntry,
      args,
      seq: dv.getBigUint64(HDR.seq, true),
      durationNs: atEntry || !spec.syscall ? undefined : dv.getBigUint64(HDR.durationNs, true),
      matched: dv.getBigUint64(HDR.matched, true),
      leaderStartTime: dv.getBigUint64(HDR.leaderStartTime, true) + boot,
      parentStartTime: dv.getBigUint64(HDR.parentStartTime, true) + boot,
    };
    return (flags & HdrFlag.INTERNAL) !== 0 ? { ...ev, internal: true } : ev;
  }

  #decodeArgs(spec: EventSpec, dv: DataView, rec: Uint8Array, size: number): EventArg[] | undefined {
    const args: EventArg[] = [];
    let off = HDR.SIZE;
    const n = spec.syscall ? spec.fields.length - 1 : spec.fields.length; // returnValue is not an argument
    // Syscall records keep integer fields in the header's args[]; other records carry every field as a blob.
    const inHeader = spec.syscall !== undefined;
    for (let i = 0; i < n; i++) {
      const field = spec.fields[i]!;
      if (field.decode.wire === 'reg' && inHeader) {
        const raw = i < 6 ? dv.getBigUint64(HDR.args + i * 8, true) : 0n;
        args.push({ name: field.name, type: field.type, value: narrowRegister(raw, field.type) });
        continue;
      }
      if (off + BLOB_HDR_SIZE > size) return undefined;
      const len = dv.getUint16(off, true);
      const status = dv.getUint8(off + 2);
      const kind = dv.getUint8(off + 3);
      off += BLOB_HDR_SIZE;
      if (off + len > size) return undefined;
      const body = rec.subarray(off, off + len);
      off += len;
      const problem: ArgProblem | undefined =
        status === BlobStatus.NULL
          ? 'null'
          : status === BlobStatus.FAULT
            ? 'fault'
            : status === BlobStatus.TRUNCATED
              ? 'truncated'
              : undefined;
      if (problem === 'null' || problem === 'fault') {
        args.push({ name: field.name, type: field.type, value: emptyValue(field.type), problem });
        continue;
      }
      const value =
        kind === ArgKind.REG
          ? this.#decodeRegBlob(field, body)
          : kind === ArgKind.STR_LIST
            ? decodeStringList(body)
            : this.#decodeBlob(field, body);
      args.push(
        problem
          ? { name: field.name, type: field.type, value, problem }
          : { name: field.name, type: field.type, value },
      );
    }
    return args;
  }

  /** An 8-byte integer blob of a lifecycle record; boot-clock times (time.Time) become epoch ns. */
  #decodeRegBlob(field: FieldSpec, body: Uint8Array): ArgValue {
    if (body.length !== 8) return null;
    const raw = new DataView(body.buffer, body.byteOffset, 8).getBigUint64(0, true);
    if (field.type === 'time.Time') return raw === 0n ? 0 : raw + this.#opts.bootToEpochNs;
    return narrowRegister(raw, field.type);
  }

  #decodeBlob(field: FieldSpec, body: Uint8Array): ArgValue {
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
