/** `ktrail list [PATTERN|tag=SET] [--json]`: the catalog as a table or as JSON items (Tracee main's shape plus tags). */

import { canTrace } from '../../capture/availability.js';
import { catalog, setNames, suggestEventName } from '../../catalog/index.js';
import type { EventSpec } from '../../catalog/types.js';
import { valueTables } from '../../catalog/values/index.js';
import { KtrailError } from '../../errors.js';
import { listSignatures } from '../../signatures/registry.js';

function matcher(pattern: string | undefined): (e: EventSpec) => boolean {
  if (pattern === undefined) return () => true;
  if (pattern.startsWith('tag=')) {
    const sets = pattern.slice(4).split(',');
    for (const s of sets) {
      if (!setNames().includes(s)) {
        throw new KtrailError('UNKNOWN_EVENT', `list '${pattern}': unknown set '${s}'`, {
          hint: `sets: ${setNames().join(', ')}`,
        });
      }
    }
    return (e) => sets.some((s) => e.sets.includes(s));
  }
  if (pattern.includes('*')) {
    const re = new RegExp(
      `^${pattern
        .split('*')
        .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    );
    return (e) => re.test(e.name);
  }
  return (e) => e.name === pattern;
}

function eventType(e: EventSpec): string {
  if (e.kind === 'syscall') return 'syscall';
  if (e.kind === 'detection') return 'detector';
  return 'other';
}

function listJson(events: readonly EventSpec[]): string {
  const items = events.map((e) => {
    const tables: Record<string, unknown> = {};
    for (const f of e.fields) {
      const t = f.values === undefined ? undefined : valueTables[f.values];
      if (t)
        tables[t.name] = { kind: t.kind, entries: t.entries.map((x) => ({ name: x.name, value: x.value })) };
    }
    return {
      name: e.name,
      id: e.id,
      version: e.version,
      description: e.description,
      tags: e.sets,
      type: eventType(e),
      arguments: e.fields.map((f) => ({
        name: f.name,
        type: f.type,
        cType: f.cType,
        tags: f.tags,
        ...(f.values === undefined ? {} : { values: f.values }),
      })),
      ...(Object.keys(tables).length > 0 ? { valueTables: tables } : {}),
    };
  });
  return JSON.stringify(items, null, 2);
}

function listTable(events: readonly EventSpec[]): string {
  const w1 = Math.max(5, ...events.map((e) => e.name.length)) + 2;
  const sets = events.map((e) => e.sets.join(', '));
  const w2 = Math.max(4, ...sets.map((s) => s.length)) + 2;
  const lines = [`${'EVENT'.padEnd(w1)}${'SETS'.padEnd(w2)}ARGUMENTS`];
  events.forEach((e, i) => {
    const args = e.fields.map((f) => `${f.type} ${f.name}`).join(', ');
    lines.push(`${e.name.padEnd(w1)}${sets[i]!.padEnd(w2)}${args}`);
  });
  return lines.join('\n');
}

export function runList(positionals: readonly string[], json: boolean): string {
  if (positionals.length > 1)
    throw new KtrailError('USAGE', 'list takes at most one PATTERN or tag=SET', {
      hint: "e.g. 'ktrail list tag=system_module'",
    });
  const pattern = positionals[0];
  const events = catalog.filter(matcher(pattern));
  if (events.length === 0 && pattern !== undefined && !pattern.includes('*') && !pattern.startsWith('tag=')) {
    const s = suggestEventName(pattern);
    throw new KtrailError('UNKNOWN_EVENT', `list: unknown event '${pattern}'`, {
      hint:
        s.length > 0
          ? `did you mean ${s.map((x) => `'${x}'`).join(' or ')}?`
          : "'ktrail list' shows every event",
    });
  }
  return json ? listJson(events) : listTable(events);
}

/** `ktrail list --signatures`: the detection rules, and for each one that cannot run here, why. */
export function runListSignatures(json: boolean): string {
  const rows = listSignatures(canTrace);
  if (json) return JSON.stringify(rows, null, 2);
  const w = Math.max(...rows.map((r) => r.eventName.length)) + 2;
  const lines = [`${'ID'.padEnd(10)}${'EVENT'.padEnd(w)}SEV  ${'MITRE'.padEnd(11)}TITLE`];
  for (const r of rows) {
    lines.push(
      `${r.id.padEnd(10)}${r.eventName.padEnd(w)}${String(r.severity).padEnd(5)}${(r.mitre.techniqueId || '-').padEnd(11)}${r.title}` +
        (r.available ? '' : `  [unavailable: ${r.reason}]`),
    );
  }
  return lines.join('\n');
}
