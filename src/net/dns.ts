/**
 * DNS messages (RFC 1035, with EDNS OPT records of RFC 6891), decoded the way Tracee's ProtoDNS shows them:
 * the names of types, classes, opcodes and response codes are gopacket's (which Tracee prints), names are
 * dotted without the final dot, record data is decoded for A, AAAA, NS, CNAME, PTR, TXT, HINFO, SOA, MX, SRV,
 * URI and OPT. Pure; never throws. A message cut short (the kernel keeps a bounded prefix of each packet) is
 * decoded as far as it goes and said to be `short`.
 */
import { ipText } from './packet.js';

const utf8 = new TextDecoder('utf-8');

export interface DnsQuestion {
  readonly name: string;
  readonly type: number;
  readonly class: number;
}

export interface DnsRecord {
  readonly name: string;
  readonly type: number;
  readonly class: number;
  readonly ttl: number;
  /** The address of an A or AAAA record, as text ('' for other types). */
  readonly ip: string;
  readonly ns: string;
  readonly cname: string;
  readonly ptr: string;
  /** TXT and HINFO character strings. */
  readonly txts: readonly string[];
  /** TXT and HINFO record data as it is on the wire (length bytes included), as gopacket keeps it. */
  readonly txt: string;
  readonly soa: {
    readonly mname: string;
    readonly rname: string;
    readonly serial: number;
    readonly refresh: number;
    readonly retry: number;
    readonly expire: number;
    readonly minimum: number;
  };
  readonly srv: {
    readonly priority: number;
    readonly weight: number;
    readonly port: number;
    readonly name: string;
  };
  readonly mx: { readonly preference: number; readonly name: string };
  readonly opt: readonly { readonly code: number; readonly data: string }[];
  readonly uri: { readonly priority: number; readonly weight: number; readonly target: string };
}

export interface DnsMessage {
  readonly id: number;
  readonly qr: number;
  readonly opcode: number;
  readonly aa: number;
  readonly tc: number;
  readonly rd: number;
  readonly ra: number;
  readonly z: number;
  /** With the high bits of an OPT record's extended code. */
  readonly rcode: number;
  readonly qdcount: number;
  readonly ancount: number;
  readonly nscount: number;
  readonly arcount: number;
  readonly questions: readonly DnsQuestion[];
  readonly answers: readonly DnsRecord[];
  readonly authorities: readonly DnsRecord[];
  readonly additionals: readonly DnsRecord[];
}

export type DnsResult =
  | { readonly ok: true; readonly message: DnsMessage }
  /** Cut short: what was decoded before the end of the bytes (absent when not even the header was there). */
  | { readonly ok: false; readonly short: true; readonly message: DnsMessage | undefined }
  | { readonly ok: false; readonly short: false; readonly error: string };

const TYPES: Readonly<Record<number, string>> = {
  1: 'A',
  2: 'NS',
  3: 'MD',
  4: 'MF',
  5: 'CNAME',
  6: 'SOA',
  7: 'MB',
  8: 'MG',
  9: 'MR',
  10: 'NULL',
  11: 'WKS',
  12: 'PTR',
  13: 'HINFO',
  14: 'MINFO',
  15: 'MX',
  16: 'TXT',
  28: 'AAAA',
  33: 'SRV',
  41: 'OPT',
  256: 'URI',
};
const CLASSES: Readonly<Record<number, string>> = { 1: 'IN', 2: 'CS', 3: 'CH', 4: 'HS', 255: 'Any' };
const OPCODES: Readonly<Record<number, string>> = {
  0: 'Query',
  1: 'Inverse Query',
  2: 'Status',
  4: 'Notify',
  5: 'Update',
};
const RCODES: Readonly<Record<number, string>> = {
  0: 'No Error',
  1: 'Format Error',
  2: 'Server Failure ',
  3: 'Non-Existent Domain',
  4: 'Not Implemented',
  5: 'Query Refused',
  6: 'Name Exists when it should not',
  7: 'RR Set Exists when it should not',
  8: 'RR Set that should exist does not',
  9: 'Server Not Authoritative for zone',
  10: 'Name not contained in zone',
  16: 'Bad OPT Version',
  17: 'Key not recognized',
  18: 'Signature out of time window',
  19: 'Bad TKEY Mode',
  20: 'Duplicate key name',
  21: 'Algorithm not supported',
  22: 'Bad Truncation',
  23: 'Bad Cookie',
};
const OPTION_CODES: Readonly<Record<number, string>> = {
  3: 'NSID',
  5: 'DAU',
  6: 'DHU',
  7: 'N3U',
  8: 'EDNSClientSubnet',
  9: 'EDNSExpire',
  10: 'Cookie',
  11: 'EDNSKeepAlive',
  12: 'CodePadding',
  13: 'CodeChain',
  14: 'CodeEDNSKeyTag',
  16: 'EDNSClientTag',
  17: 'EDNSServerTag',
  26946: 'DeviceID',
};

export const dnsTypeName = (t: number): string => TYPES[t] ?? 'Unknown';
export const dnsClassName = (c: number): string => CLASSES[c] ?? 'Unknown';
export const dnsOpcodeName = (o: number): string => OPCODES[o] ?? 'Unknown';
export const dnsRcodeName = (r: number): string => RCODES[r] ?? 'Unknown';
export const dnsOptionName = (c: number): string => OPTION_CODES[c] ?? 'Unknown';

/** Ran out of bytes. */
class Short extends Error {}
/** The bytes are there but do not make sense. */
class Bad extends Error {}

const MAX_POINTERS = 255;
const MAX_NAME = 255;

/** A (possibly compressed) name at `off`: its text and the offset after it. */
function readName(b: Uint8Array, off: number, depth = 1): { name: string; next: number } {
  if (depth > MAX_POINTERS) throw new Bad('too many compression pointers');
  if (off >= b.length) throw new Short('name');
  const labels: string[] = [];
  let i = off;
  while (true) {
    if (i >= b.length) throw new Short('name');
    const len = b[i]!;
    if (len === 0) return { name: labels.join('.'), next: i + 1 };
    const top = len & 0xc0;
    if (top === 0) {
      const end = i + 1 + len;
      if (end - off > MAX_NAME) throw new Bad('name too long');
      if (end > b.length) throw new Short('label');
      labels.push(utf8.decode(b.subarray(i + 1, end)));
      i = end;
      continue;
    }
    if (top === 0xc0) {
      if (i + 2 > b.length) throw new Short('pointer');
      const target = ((len & 0x3f) << 8) | b[i + 1]!;
      if (target > b.length) throw new Bad('pointer past the message');
      const rest = readName(b, target, depth + 1).name;
      if (rest !== '') labels.push(rest);
      return { name: labels.join('.'), next: i + 2 };
    }
    throw new Bad(`label type 0x${top.toString(16)}`);
  }
}

const u16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
const u32 = (b: Uint8Array, o: number) =>
  ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

function need(b: Uint8Array, end: number): void {
  if (end > b.length) throw new Short('fixed fields');
}

function readQuestion(b: Uint8Array, off: number): { q: DnsQuestion; next: number } {
  const { name, next } = readName(b, off);
  need(b, next + 4);
  return { q: { name, type: u16(b, next), class: u16(b, next + 2) }, next: next + 4 };
}

/** Character strings (TXT, HINFO). */
function characterStrings(d: Uint8Array): string[] {
  const out: string[] = [];
  for (let i = 0; i < d.length; ) {
    const end = i + 1 + d[i]!;
    if (end > d.length) throw new Bad('character string past its record');
    out.push(utf8.decode(d.subarray(i + 1, end)));
    i = end;
  }
  return out;
}

function readRecord(b: Uint8Array, off: number): { r: DnsRecord; next: number } {
  const { name, next } = readName(b, off);
  need(b, next + 10);
  const type = u16(b, next);
  const rdlen = u16(b, next + 8);
  const start = next + 10;
  const end = start + rdlen;
  if (end > b.length) throw new Short('record data');
  const d = b.subarray(start, end);
  // Names inside the record data may point anywhere before its end.
  const upto = b.subarray(0, end);
  const r = {
    name,
    type,
    class: u16(b, next + 2),
    ttl: u32(b, next + 4),
    ip: '',
    ns: '',
    cname: '',
    ptr: '',
    txts: [] as string[],
    txt: '',
    soa: { mname: '', rname: '', serial: 0, refresh: 0, retry: 0, expire: 0, minimum: 0 },
    srv: { priority: 0, weight: 0, port: 0, name: '' },
    mx: { preference: 0, name: '' },
    opt: [] as { code: number; data: string }[],
    uri: { priority: 0, weight: 0, target: '' },
  };
  const inner = (o: number) => {
    try {
      return readName(upto, o);
    } catch (e) {
      // A name running past its record is bad data, not a cut message.
      throw e instanceof Short ? new Bad('name past its record') : e;
    }
  };
  switch (type) {
    case 1:
    case 28:
      r.ip = ipText(d);
      break;
    case 13:
    case 16:
      r.txt = utf8.decode(d);
      r.txts = characterStrings(d);
      break;
    case 2:
      r.ns = inner(start).name;
      break;
    case 5:
      r.cname = inner(start).name;
      break;
    case 12:
      r.ptr = inner(start).name;
      break;
    case 6: {
      const m = inner(start);
      const n = inner(m.next);
      if (n.next + 20 > end) throw new Bad('SOA too small');
      r.soa = {
        mname: m.name,
        rname: n.name,
        serial: u32(b, n.next),
        refresh: u32(b, n.next + 4),
        retry: u32(b, n.next + 8),
        expire: u32(b, n.next + 12),
        minimum: u32(b, n.next + 16),
      };
      break;
    }
    case 15:
      if (rdlen < 2) throw new Bad('MX too small');
      r.mx = { preference: u16(b, start), name: inner(start + 2).name };
      break;
    case 33:
      if (rdlen < 6) throw new Bad('SRV too small');
      r.srv = {
        priority: u16(b, start),
        weight: u16(b, start + 2),
        port: u16(b, start + 4),
        name: inner(start + 6).name,
      };
      break;
    case 256:
      if (rdlen < 4) throw new Bad('URI too small');
      r.uri = { priority: u16(b, start), weight: u16(b, start + 2), target: utf8.decode(d.subarray(4)) };
      break;
    case 41:
      for (let i = 0; i < d.length; ) {
        if (i + 4 > d.length) throw new Bad('OPT option too small');
        const len = u16(d, i + 2);
        if (i + 4 + len > d.length) throw new Bad('OPT option past its record');
        r.opt.push({ code: u16(d, i), data: utf8.decode(d.subarray(i + 4, i + 4 + len)) });
        i += 4 + len;
      }
      break;
  }
  return { r, next: end };
}

/** Decodes the DNS message in `b` (over TCP: without its two-byte length). */
export function decodeDns(b: Uint8Array): DnsResult {
  if (b.length < 12) return { ok: false, short: true, message: undefined };
  const f = b[2]!;
  const g = b[3]!;
  const m = {
    id: u16(b, 0),
    qr: f >> 7,
    opcode: (f >> 3) & 0x0f,
    aa: (f >> 2) & 1,
    tc: (f >> 1) & 1,
    rd: f & 1,
    ra: g >> 7,
    z: (g >> 4) & 7,
    rcode: g & 0x0f,
    qdcount: u16(b, 4),
    ancount: u16(b, 6),
    nscount: u16(b, 8),
    arcount: u16(b, 10),
    questions: [] as DnsQuestion[],
    answers: [] as DnsRecord[],
    authorities: [] as DnsRecord[],
    additionals: [] as DnsRecord[],
  };
  let off = 12;
  try {
    for (let i = 0; i < m.qdcount; i++) {
      const q = readQuestion(b, off);
      m.questions.push(q.q);
      off = q.next;
    }
    const sections: [number, DnsRecord[]][] = [
      [m.ancount, m.answers],
      [m.nscount, m.authorities],
      [m.arcount, m.additionals],
    ];
    for (const [count, into] of sections) {
      for (let i = 0; i < count; i++) {
        const r = readRecord(b, off);
        into.push(r.r);
        off = r.next;
        if (into === m.additionals && r.r.type === 41) m.rcode |= (r.r.ttl >>> 20) & 0xf0;
      }
    }
  } catch (e) {
    if (e instanceof Short) return { ok: false, short: true, message: m };
    if (e instanceof Bad) return { ok: false, short: false, error: e.message };
    throw e;
  }
  return { ok: true, message: m };
}
