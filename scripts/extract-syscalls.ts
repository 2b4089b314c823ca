/**
 * Reads this machine's syscall sources and writes src/catalog/sources/syscalls.snapshot.json: every native
 * x86_64 syscall from the UAPI header with its number, the i386 number of the same-named syscall, the tracefs
 * `sys_enter_<name>` fields and the man-page prototype. The snapshot is committed so that gen-catalog never
 * needs tracefs. Output is deterministic: sorted by number, stable key order, one trailing newline.
 *
 * Usage: node dist/scripts/extract-syscalls.js [--out FILE]. Needs read access to tracefs (root) for the
 * formats; without tracefs the formats are recorded as absent and a warning is printed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const UNISTD_64 = '/usr/include/x86_64-linux-gnu/asm/unistd_64.h';
const UNISTD_32 = '/usr/include/x86_64-linux-gnu/asm/unistd_32.h';
const TRACEFS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];
const MAN2 = '/usr/share/man/man2';

export interface CParam {
  readonly name: string;
  readonly cType: string;
}

export interface SnapshotSyscall {
  readonly name: string;
  readonly nr: number;
  /** i386 numbers of the syscall with the same name (unistd_32.h). */
  readonly compatNrs: readonly number[];
  /** Fields of events/syscalls/sys_enter_<name>/format after `__syscall_nr`, or null when absent. */
  readonly tracefs: readonly CParam[] | null;
  /** Prototype parsed from the man page's SYNOPSIS, or null when there is no page or no prototype. */
  readonly man: { readonly returnType: string; readonly params: readonly CParam[] } | null;
}

export interface Snapshot {
  readonly _generated: string;
  readonly sources: Readonly<Record<string, string>>;
  readonly syscalls: readonly SnapshotSyscall[];
}

/** `#define __NR_name 12` lines of a unistd header, as name → number. */
export function parseUnistd(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^#define __NR_(\w+)\s+(\d+)\s*$/gm)) {
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** Normalises a C type's spacing: `const char*` → `const char *`, `char *const*` → `char *const *`. */
export function normalizeCType(t: string): string {
  return t
    .replace(/\s+/g, ' ')
    .replace(/\s*\*\s*/g, ' *')
    .replace(/\* \*/g, '**')
    .replace(/\*\s+\*/g, '**')
    .trim();
}

/** The argument fields of a tracefs `format` file (everything after the `__syscall_nr` field). */
export function parseTracefsFormat(text: string): CParam[] {
  const fields: CParam[] = [];
  let seenNr = false;
  for (const m of text.matchAll(/^\s*field:([^;]+);/gm)) {
    const decl = m[1]!.trim();
    const nm = /^(.*?)([A-Za-z_]\w*)(\[\d*\])?$/.exec(decl);
    if (!nm) continue;
    const name = nm[2]!;
    if (!seenNr) {
      if (name === '__syscall_nr') seenNr = true;
      continue;
    }
    fields.push({ name, cType: normalizeCType(nm[1]! + (nm[3] ?? '')) });
  }
  return fields;
}

/** Turns one troff request line (`.BI "int open(const char *" pathname ...`) into plain text. */
function troffText(line: string): string {
  const macro = /^\.(BI|BR|IB|IR|RB|RI|B|I)\b\s*/.exec(line)?.[1] ?? '';
  const body = line.slice(line.indexOf(macro) + macro.length).trim();
  const parts: string[] = [];
  for (const m of body.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) parts.push(m[1] ?? m[2] ?? '');
  // One-font requests (.B, .I) space their arguments; alternating-font ones (.BI, .BR, ...) abut them.
  return parts
    .join(macro.length === 1 ? ' ' : '')
    .replace(/\\f[BIRP]/g, '')
    .replace(/\\f\[[A-Z]*\]/g, '')
    .replace(/\\[-~ ]/g, (s) => (s === '\\-' ? '-' : ' '))
    .replace(/\\&/g, '');
}

/** The SYNOPSIS section of a man page as one line of C text (only `.B`/`.BI`/`.BR`-style lines). */
export function synopsisText(page: string): string {
  const lines = page.replace(/\\\n/g, '').split('\n');
  const start = lines.findIndex((l) => /^\.SH\s+"?SYNOPSIS"?/.test(l));
  if (start < 0) return '';
  const out: string[] = [];
  for (let i = start + 1; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.startsWith('.SH')) break;
    if (/^\.(BI|BR|IB|IR|RB|RI|B|I)\b/.test(l)) out.push(troffText(l));
  }
  return out.join(' ');
}

function parseParam(raw: string): CParam | null {
  let p = raw.replace(/\b(_Nullable|_Nonnull|restrict|__restrict)\b/g, ' ').trim();
  if (p === '' || p === 'void' || p === '...') return null;
  let suffix = '';
  const arr = /\[([^\]]*)\]\s*$/.exec(p);
  if (arr) {
    // `int pipefd[2]` keeps its size; `argv[]` and `image[.len]` decay to pointers.
    suffix = /^\d+$/.test(arr[1]!.trim()) ? `[${arr[1]!.trim()}]` : ' *';
    p = p.slice(0, arr.index).trim();
  }
  const nm = /^(.*?)([A-Za-z_]\w*)$/.exec(p);
  if (!nm || nm[1]!.trim() === '') return null;
  return { name: nm[2]!, cType: normalizeCType(nm[1]! + suffix) };
}

function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(' || ch === '[') depth++;
    if (ch === ')' || ch === ']') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

/**
 * The prototype of `name` in a SYNOPSIS text: `ret name(params);` or `ret syscall(SYS_name, params);`. When
 * the page shows several forms (open with and without mode), the one with the most parameters wins.
 */
export function parsePrototype(
  synopsis: string,
  name: string,
): { returnType: string; params: CParam[] } | null {
  const direct = new RegExp(`([A-Za-z_][\\w\\s]*?[\\s*])${name}\\s*\\(([^;]*?)\\)\\s*;`, 'g');
  const viaSyscall = new RegExp(
    `([A-Za-z_][\\w\\s]*?[\\s*])syscall\\s*\\(\\s*SYS_${name}\\s*(?:,([^;]*?))?\\)\\s*;`,
    'g',
  );
  let best: { returnType: string; params: CParam[] } | null = null;
  for (const re of [direct, viaSyscall]) {
    for (const m of synopsis.matchAll(re)) {
      const ret = normalizeCType(m[1]!.replace(/^.*\b(static|extern)\b/, ''));
      const params: CParam[] = [];
      let ok = true;
      for (const raw of splitTopLevel(m[2] ?? '')) {
        if (raw.trim() === '' || raw.trim() === 'void' || raw.trim() === '...') continue;
        const prm = parseParam(raw);
        if (!prm) ok = false;
        else params.push(prm);
      }
      if (!ok) continue;
      if (!best || params.length > best.params.length) best = { returnType: ret, params };
    }
  }
  return best;
}

function readManPage(name: string, depth = 0): string | null {
  const file = path.join(MAN2, `${name}.2.gz`);
  if (!existsSync(file) || depth > 3) return null;
  const text = execFileSync('zcat', [file], { encoding: 'utf8', maxBuffer: 16 << 20 });
  const so = /^\.so\s+(?:man2\/)?(\S+)\.2\s*$/m.exec(text);
  if (so && text.trim().split('\n').length <= 3) return readManPage(so[1]!, depth + 1);
  return text;
}

/** Writes JSON with sorted object keys and 2-space indentation (arrays keep their order). */
export function stableStringify(value: unknown): string {
  const sortKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      return Object.fromEntries(
        Object.keys(o)
          .sort()
          .map((k) => [k, sortKeys(o[k])]),
      );
    }
    return v;
  };
  // Arrays of numbers and strings go on one line, as the repository's JSON formatter (biome) writes them.
  const text = JSON.stringify(sortKeys(value), null, 2).replace(
    /\[\s*((?:-?\d+|"[^"\n]*")(?:,\s*(?:-?\d+|"[^"\n]*"))*)\s*\]/g,
    (_, items: string) => `[${items.split(/,\s*/).join(', ')}]`,
  );
  return `${text}\n`;
}

export function extract(): Snapshot {
  const nr64 = parseUnistd(readFileSync(UNISTD_64, 'utf8'));
  const nr32 = existsSync(UNISTD_32)
    ? parseUnistd(readFileSync(UNISTD_32, 'utf8'))
    : new Map<string, number>();
  const tracefs = TRACEFS.find((d) => existsSync(path.join(d, 'events/syscalls')));
  if (!tracefs)
    process.stderr.write('extract-syscalls: no tracefs syscall events; formats recorded as null\n');
  const syscalls: SnapshotSyscall[] = [];
  for (const [name, nr] of [...nr64].sort((a, b) => a[1] - b[1])) {
    const compat = nr32.get(name);
    let fields: CParam[] | null = null;
    if (tracefs) {
      const fmt = path.join(tracefs, 'events/syscalls', `sys_enter_${name}`, 'format');
      if (existsSync(fmt)) fields = parseTracefsFormat(readFileSync(fmt, 'utf8'));
    }
    const page = readManPage(name);
    const man = page === null ? null : parsePrototype(synopsisText(page), name);
    syscalls.push({ name, nr, compatNrs: compat === undefined ? [] : [compat], tracefs: fields, man });
  }
  return {
    _generated:
      'generated by scripts/extract-syscalls.ts from this machine; do not edit (rerun: npm run extract)',
    sources: {
      unistd64: UNISTD_64,
      unistd32: UNISTD_32,
      tracefs: tracefs === undefined ? 'absent' : `${tracefs}/events/syscalls/sys_enter_*/format`,
      man: `${MAN2}/<name>.2.gz SYNOPSIS`,
    },
    syscalls,
  };
}

/**
 * Mounts tracefs at its usual place when no tracefs is mounted (a fresh machine of this kind has none) and
 * returns how to undo it; a no-op when one is mounted or mounting is not possible (then formats are null).
 */
function mountTracefs(): () => void {
  if (TRACEFS.some((d) => existsSync(path.join(d, 'events')))) return () => {};
  const r = spawnSync('mount', ['-t', 'tracefs', 'nodev', TRACEFS[0]!], { encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(`extract-syscalls: mounting tracefs failed: ${(r.stderr ?? '').trim()}\n`);
    return () => {};
  }
  return () => {
    spawnSync('umount', [TRACEFS[0]!]);
  };
}

function main(): void {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = path.resolve(here, '..', '..');
  const i = process.argv.indexOf('--out');
  const out = i > 0 ? process.argv[i + 1]! : path.join(root, 'src/catalog/sources/syscalls.snapshot.json');
  const unmount = mountTracefs();
  let snap: Snapshot;
  try {
    snap = extract();
  } finally {
    unmount();
  }
  writeFileSync(out, stableStringify(snap));
  const withFmt = snap.syscalls.filter((s) => s.tracefs !== null).length;
  const withMan = snap.syscalls.filter((s) => s.man !== null).length;
  process.stdout.write(
    `extract-syscalls: ${snap.syscalls.length} syscalls, ${withFmt} tracefs formats, ${withMan} man prototypes -> ${out}\n`,
  );
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) main();
