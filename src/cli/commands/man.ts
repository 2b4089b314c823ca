/** `ktrail man EVENT|TABLE|filters`: a manual page generated from the catalog, never written by hand per event. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { catalog, eventByName, suggestEventName } from '../../catalog/index.js';
import type { EventSpec, ProbeSpec, ValueTable } from '../../catalog/types.js';
import { errnoMeaning, errnoValue, valueTables } from '../../catalog/values/index.js';
import { KtrailError } from '../../errors.js';
import { packageRoot } from '../../native/binding.js';
import { editDistance } from '../../util/edit-distance.js';

const TAG_MEANING: Record<string, string> = {
  K: 'from a syscall register or kernel memory at the hook; the caller cannot change it afterwards',
  U: "copied from the calling process's memory; empty (and counted) when the copy fails",
  TOCTOU:
    'the caller can rewrite these bytes after ktrail read them: the kernel may have acted on other bytes',
  OPT: 'may legitimately be NULL, empty or absent',
};

function wrap(text: string, indent: string, width = 100): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      out.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(indent + line);
  return out;
}

function hex(v: number): string {
  return `0x${v.toString(16)}`;
}

function tableLines(t: ValueTable, indent: string): string[] {
  const lines: string[] = [];
  const w = Math.max(...t.entries.map((e) => e.name.length));
  for (const e of t.entries) {
    const num =
      t.kind === 'flags'
        ? `${hex(e.value).padEnd(10)} ${String(e.value).padEnd(10)}`
        : String(e.value).padEnd(6);
    lines.push(`${indent}${e.name.padEnd(w)}  ${num}${e.meaning ? ` ${e.meaning}` : ''}`.trimEnd());
  }
  return lines;
}

function hookLine(p: ProbeSpec): string {
  // The syscall tracepoints: ktrail loads their BTF-typed programs, and the raw ones where tp_btf is refused.
  if (p.kind === 'raw_tracepoint' && (p.target === 'sys_enter' || p.target === 'sys_exit'))
    return `BTF tracepoint ${p.target} (raw tracepoint ${p.target} where the kernel refuses tp_btf)`;
  const kind =
    p.kind === 'raw_tracepoint' ? 'raw tracepoint' : p.kind === 'tp_btf' ? 'BTF tracepoint' : p.kind;
  return `${kind} ${p.target}${p.required ? '' : ' (optional)'}${p.needs ? `; needs ${p.needs}` : ''}`;
}

/** Where a kernel event is built: at the entry or the exit of which syscalls. */
function kernelLines(e: EventSpec): string[] {
  if (e.kernel === undefined) return [];
  const at = (entry: boolean) =>
    e.kernel!.sources.filter((s) => (s.atEntry === true) === entry).map((s) => s.syscall);
  const out: string[] = [];
  const entry = at(true);
  const exit = at(false);
  if (entry.length > 0) out.push(`    built at the entry of ${entry.join(', ')} (sys_enter)`);
  if (exit.length > 0) out.push(`    built at the exit of ${exit.join(', ')} (sys_exit)`);
  out.push(
    '    no LSM, fentry or kprobe program: the kernel objects the call left are read at the tracepoint',
  );
  return out;
}

function manEvent(e: EventSpec): string {
  const out: string[] = [];
  out.push('NAME', `    ${e.name} (id ${e.id}, version ${e.version}) - ${e.description}`, '');
  out.push('SETS', `    ${e.sets.length > 0 ? e.sets.join(', ') : '(none: select it by name)'}`, '');
  out.push('FIELDS');
  for (const f of e.fields) {
    out.push(`    ${f.name}: ${f.type} (C: ${f.cType}) [${f.tags.join('|')}]`);
    for (const t of f.tags) out.push(`        ${t}: ${TAG_MEANING[t] ?? ''}`);
    const table = f.values === undefined ? undefined : valueTables[f.values];
    if (table) {
      out.push(
        `        values (${table.name}, ${table.kind === 'flags' ? "bits joined with '|'" : 'one of'}):`,
      );
      out.push(...tableLines(table, '          '));
    }
  }
  out.push('');
  if (e.syscall) {
    const when =
      e.syscall.emit === 'exit'
        ? 'emitted when the call returns; pointer arguments are read then'
        : e.syscall.emit === 'entry_exit'
          ? 'arguments read at entry (they are gone at exit), emitted when the call returns'
          : 'emitted at entry: the call does not return';
    out.push(
      'SYSCALL',
      `    x86_64 number ${e.syscall.nr}${e.syscall.compatNrs.length > 0 ? `, i386 ${e.syscall.compatNrs.join(', ')} (isCompat)` : ''}; ${when}.`,
      '',
    );
  }
  out.push('HOOKS');
  for (const p of e.probes) out.push(`    ${hookLine(p)}`);
  out.push(...kernelLines(e));
  out.push('');
  if (e.errors && e.errors.length > 0) {
    out.push('ERRORS (returnValue = -errno)');
    for (const x of e.errors) {
      out.push(`    ${x.errno}`);
      out.push(...wrap(x.when, '        '));
    }
    out.push('');
  }
  if (e.notes && e.notes.length > 0) {
    out.push('NOTES');
    for (const n of e.notes) out.push(...wrap(n, '    '), '');
  }
  if (e.related && e.related.length > 0) out.push('RELATED', `    ${e.related.join(', ')}`, '');
  return out.join('\n').trimEnd();
}

function manTable(t: ValueTable): string {
  return [
    'NAME',
    `    ${t.name} - ${t.kind === 'flags' ? "flag bits, rendered joined with '|' in this order; unknown bits in hex" : 'enumeration'}`,
    '',
    'VALUES',
    ...tableLines(t, '    '),
  ].join('\n');
}

export function runMan(positionals: readonly string[]): string {
  const name = positionals[0];
  if (name === undefined || positionals.length > 1) {
    throw new KtrailError('USAGE', 'man takes one EVENT or value-table name', {
      hint: "e.g. 'ktrail man delete_module'",
    });
  }
  if (name === 'filters') return readFileSync(resolve(packageRoot(), 'docs', 'filters.md'), 'utf8').trimEnd();
  const e = eventByName(name);
  if (e) return manEvent(e);
  const t = valueTables[name];
  if (t) return manTable(t);
  if (/^E[A-Z0-9]+$/.test(name)) {
    const num = errnoValue(name);
    const meaning = num === undefined ? undefined : errnoMeaning(num);
    if (meaning !== undefined) return `NAME\n    ${name} - ${meaning}`;
  }
  const names = [...suggestEventName(name)];
  for (const tn of Object.keys(valueTables)) if (editDistance(name, tn) <= 2) names.push(tn);
  throw new KtrailError('UNKNOWN_EVENT', `man: no event or value table named '${name}'`, {
    hint:
      names.length > 0
        ? `did you mean ${names.map((x) => `'${x}'`).join(' or ')}?`
        : `'ktrail list' shows the ${catalog.length} events`,
  });
}
