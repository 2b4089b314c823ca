/**
 * Builds the syscall part of the event catalog from the committed snapshot of this machine's sources
 * (src/catalog/sources/syscalls.snapshot.json) plus the hand-kept overrides, and writes:
 *   src/catalog/syscalls.gen.ts  one EventSpec per native x86_64 syscall, sorted by id
 *   docs/events.md               a table of every event in the catalog (syscalls and src/catalog/events.ts)
 * Never reads tracefs, so it runs anywhere (CI). Usage: node dist/scripts/gen-catalog.js [--out-dir DIR]
 * (DIR receives syscalls.gen.ts and events.md instead of their places in the tree; used by check-generated.sh).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EVENTS } from '../src/catalog/events.js';
import {
  DESCRIPTIONS,
  EMIT,
  EXTRA_SETS,
  FIELD_OVERRIDES,
  MODULE_SYSCALLS,
  NAME_ALIASES,
  OPTIONAL,
  OUT_PARAMS,
  SET_PHRASES,
  STR_ARR_MAX,
  STR_MAX,
  VALUES,
} from '../src/catalog/overrides.js';
import { TRACEE_SYSCALLS, type TraceeSyscall } from '../src/catalog/overrides-tracee.js';
import type {
  ArgTag,
  DecodeSpec,
  EventSpec,
  FieldSpec,
  ProbeSpec,
  TraceeType,
} from '../src/catalog/types.js';
import type { CParam, Snapshot, SnapshotSyscall } from './extract-syscalls.js';

const RETURN_VALUE: FieldSpec = {
  name: 'returnValue',
  cType: 'long',
  type: 'int64',
  decode: { wire: 'reg' },
  tags: ['K'],
};
const SYS_ENTER: ProbeSpec = { kind: 'raw_tracepoint', target: 'sys_enter', required: true };
const SYS_EXIT: ProbeSpec = { kind: 'raw_tracepoint', target: 'sys_exit', required: true };

/** Tracee type for a C type, for syscalls Tracee does not define. */
export function traceeTypeOfC(cType: string): TraceeType {
  const t = cType
    .replace(/\b(const|volatile|__user)\b/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  if (t === 'char *') return 'string';
  if (t.includes('*') || t.includes('[')) return 'trace.Pointer';
  if (/^(int|pid_t|clockid_t|key_serial_t|timer_t|mqd_t|key_t|rwf_t|s32)$/.test(t)) return 'int32';
  if (/^(unsigned int|unsigned|u32|uid_t|gid_t|qid_t|dev_t|__u32|old_uid_t|old_gid_t)$/.test(t))
    return 'uint32';
  if (/^(umode_t|mode_t|unsigned short|u16)$/.test(t)) return 'uint16';
  if (/^(long|off_t|loff_t|ssize_t|time_t|__s64|s64)$/.test(t)) return 'int64';
  return 'uint64';
}

/** Picks kernel C types for Tracee's fields: tracefs when the counts agree, else the man page, else Tracee's. */
function kernelCTypes(s: SnapshotSyscall, count: number): readonly string[] | null {
  if (s.tracefs && s.tracefs.length === count) return s.tracefs.map((p) => p.cType);
  if (s.man && s.man.params.length === count) return s.man.params.map((p) => p.cType);
  return null;
}

interface RawField {
  readonly name: string;
  readonly type: TraceeType;
  readonly cType: string;
}

/** Decode spec and tags from the Tracee type and the syscall's other fields (see the catalog rules). */
function decodeField(
  event: string,
  f: RawField,
  all: readonly RawField[],
): { decode: DecodeSpec; tags: ArgTag[] } {
  const key = `${event}.${f.name}`;
  const out = OUT_PARAMS.has(key);
  const userTags: ArgTag[] = out ? ['U'] : ['U', 'TOCTOU'];
  switch (f.type) {
    case 'string':
      return { decode: { wire: 'str', max: STR_MAX }, tags: userTags };
    case '[]string':
      return { decode: { wire: 'str_arr', max: STR_ARR_MAX }, tags: userTags };
    case 'SockAddr': {
      // A value length argument (connect, bind, sendto) bounds the read; a pointer-to-length (accept,
      // getsockname, recvfrom) means the kernel wrote the address: read it at exit without lenArg.
      const lenIdx = all.findIndex((o) => /addrlen$/.test(o.name));
      const lenField = lenIdx >= 0 ? all[lenIdx]! : undefined;
      if (lenField && lenField.type !== 'trace.Pointer') {
        return { decode: { wire: 'sockaddr', lenArg: lenIdx }, tags: ['U', 'TOCTOU'] };
      }
      return { decode: { wire: 'sockaddr' }, tags: ['U'] };
    }
    case '[2]int':
      return { decode: { wire: 'int_ptr', count: 2 }, tags: ['U'] };
    case 'float64':
      // Tracee's float64 syscall fields are struct timespec pointers (seconds as a float).
      return { decode: { wire: 'struct', size: 16, layout: 'timespec' }, tags: userTags };
    case '[]byte': {
      const lenIdx = all.findIndex((o) => /(len|count|size)$/.test(o.name) && o.type !== 'trace.Pointer');
      return { decode: { wire: 'buf', lenArg: Math.max(lenIdx, 0), max: 256 }, tags: userTags };
    }
    default:
      return { decode: { wire: 'reg' }, tags: ['K'] };
  }
}

function buildField(event: string, f: RawField, all: readonly RawField[]): FieldSpec {
  const key = `${event}.${f.name}`;
  const base = decodeField(event, f, all);
  const ov = FIELD_OVERRIDES[key];
  let tags: ArgTag[] = [...(ov?.tags ?? base.tags)];
  if (OPTIONAL.has(key) && !tags.includes('OPT')) tags = [...tags, 'OPT'];
  const values = VALUES[key];
  const spec: FieldSpec = {
    name: f.name,
    cType: ov?.cType ?? f.cType,
    type: f.type,
    decode: ov?.decode ?? base.decode,
    tags,
    ...(values === undefined ? {} : { values }),
  };
  return spec;
}

function description(name: string, sets: readonly string[]): string {
  const own = DESCRIPTIONS[name];
  if (own !== undefined) return own;
  const specific = [...sets].reverse().find((s) => SET_PHRASES[s] !== undefined) ?? 'syscalls';
  const phrase = SET_PHRASES[specific]!;
  return specific === 'syscalls' ? `The ${name} system call.` : `The ${name} system call (${phrase}).`;
}

function rawFields(s: SnapshotSyscall, t: TraceeSyscall | undefined): RawField[] {
  if (t) {
    const kernel = kernelCTypes(s, t.fields.length);
    return t.fields.map(([name, type, cType], i) => ({ name, type, cType: kernel?.[i] ?? cType }));
  }
  const params: readonly CParam[] = s.tracefs ?? s.man?.params ?? [];
  return params.map((p) => ({ name: p.name, type: traceeTypeOfC(p.cType), cType: p.cType }));
}

export function buildSyscallEvents(snap: Snapshot): EventSpec[] {
  const tracee = new Map(TRACEE_SYSCALLS.map((t) => [t.nr, t]));
  const events: EventSpec[] = [];
  for (const s of [...snap.syscalls].sort((a, b) => a.nr - b.nr)) {
    const name = NAME_ALIASES[s.name] ?? s.name;
    const t = tracee.get(s.nr);
    if (t && t.name !== name) {
      throw new Error(`gen-catalog: syscall ${s.nr} is ${s.name} here but ${t.name} in Tracee; add an alias`);
    }
    const mod = MODULE_SYSCALLS[name];
    const sets = t?.sets ?? EXTRA_SETS[name] ?? ['syscalls'];
    let fields: FieldSpec[];
    if (mod) fields = [...mod.fields];
    else {
      const raw = rawFields(s, t);
      fields = raw.map((f) => buildField(name, f, raw));
    }
    fields.push(RETURN_VALUE);
    const emit = EMIT[name] ?? 'exit';
    const compat = new Set(s.compatNrs);
    if (t?.id32 !== undefined) compat.add(t.id32);
    const ev: EventSpec = {
      id: s.nr,
      name,
      version: '1.0.0',
      kind: 'syscall',
      description: description(name, sets),
      sets: [...sets],
      fields,
      probes: emit === 'entry' ? [SYS_ENTER] : [SYS_ENTER, SYS_EXIT],
      syscall: { nr: s.nr, compatNrs: [...compat].sort((a, b) => a - b), emit },
      ...(mod ? { errors: mod.errors, related: mod.related, notes: mod.notes } : {}),
    };
    events.push(ev);
  }
  return events;
}

/** TS source for the generated module: one event per object, one field per line, stable output. */
export function renderSyscallsModule(events: readonly EventSpec[]): string {
  const lines = [
    '// generated by scripts/gen-catalog.ts; do not edit (sources: src/catalog/sources/syscalls.snapshot.json,',
    '// src/catalog/overrides.ts, src/catalog/overrides-tracee.ts). Regenerate with `npm run gen`.',
    "import type { EventSpec } from './types.js';",
    '',
    '/** Every native x86_64 syscall as an event, sorted by id (= syscall number). */',
    'export const SYSCALL_EVENTS: readonly EventSpec[] = [',
  ];
  const j = (v: unknown) => JSON.stringify(v);
  for (const e of events) {
    lines.push('  {');
    for (const [k, v] of Object.entries(e)) {
      if (k === 'fields' || k === 'errors' || k === 'notes') {
        const arr = v as unknown[];
        if (arr.length === 0) {
          lines.push(`    ${k}: [],`);
          continue;
        }
        lines.push(`    ${k}: [`);
        for (const item of arr) lines.push(`      ${j(item)},`);
        lines.push('    ],');
      } else lines.push(`    ${k}: ${j(v)},`);
    }
    lines.push('  },');
  }
  lines.push('];', '');
  return lines.join('\n');
}

/** Markdown reference of every event: id, name, sets and arguments as `type name`. */
export function renderEventsDoc(events: readonly EventSpec[]): string {
  const sorted = [...events].sort((a, b) => a.id - b.id);
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [
    '<!-- generated by scripts/gen-catalog.ts; do not edit. Regenerate with `npm run gen`. -->',
    '# ktrail events',
    '',
    `${sorted.length} events. Syscall ids are x86_64 syscall numbers; sets are Tracee's tags. Argument tags:`,
    'K kernel value, U copied from the caller memory, TOCTOU the caller can rewrite it, OPT may be empty.',
    '',
    '| id | name | sets | arguments |',
    '|---:|---|---|---|',
  ];
  for (const e of sorted) {
    const args = e.fields.map((f) => `\`${esc(f.type)} ${f.name}\` ${f.tags.join(' ')}`).join(', ');
    lines.push(`| ${e.id} | ${e.name} | ${e.sets.join(', ')} | ${args} |`);
  }
  lines.push('');
  return lines.join('\n');
}

function main(): void {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = path.resolve(here, '..', '..');
  const i = process.argv.indexOf('--out-dir');
  const outDir = i > 0 ? path.resolve(process.argv[i + 1]!) : undefined;
  const snap = JSON.parse(
    readFileSync(path.join(root, 'src/catalog/sources/syscalls.snapshot.json'), 'utf8'),
  ) as Snapshot;
  const syscalls = buildSyscallEvents(snap);
  const genPath = outDir
    ? path.join(outDir, 'syscalls.gen.ts')
    : path.join(root, 'src/catalog/syscalls.gen.ts');
  const docPath = outDir ? path.join(outDir, 'events.md') : path.join(root, 'docs/events.md');
  mkdirSync(path.dirname(genPath), { recursive: true });
  mkdirSync(path.dirname(docPath), { recursive: true });
  writeFileSync(genPath, renderSyscallsModule(syscalls));
  writeFileSync(docPath, renderEventsDoc([...syscalls, ...EVENTS]));
  process.stdout.write(`gen-catalog: ${syscalls.length} syscall events, ${EVENTS.length} other events\n`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) main();
