/** Reads a V8 .cpuprofile (node --cpu-prof) and ranks functions by self time. */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly hitCount?: number;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
}

export interface HotFunction {
  /** `name (file:line)`. */
  readonly fn: string;
  /** Share of the non-idle samples, in percent. */
  readonly pct: number;
}

export interface ProfileSummary {
  /** Busy share of the main thread over the profile, in percent. */
  readonly busyPct: number;
  readonly top: readonly HotFunction[];
}

export function summarizeProfile(path: string, top = 10): ProfileSummary {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byFn = new Map<string, number>();
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const label = (n: ProfileNode): string => {
    const f = n.callFrame;
    const where = f.url ? ` (${basename(f.url)}:${f.lineNumber + 1})` : '';
    return `${f.functionName || '(anonymous)'}${where}`;
  };
  let total = 0;
  let idle = 0;
  for (const n of p.nodes) {
    const hits = n.hitCount ?? 0;
    if (hits === 0) continue;
    const f = n.callFrame;
    total += hits;
    if (f.functionName === '(idle)') {
      idle += hits;
      continue;
    }
    // Nameless frames without a script are V8/native code: name them after their caller.
    const parent = byId.get(parentOf.get(n.id) ?? -1);
    const key =
      f.functionName === '' && f.url === '' && parent !== undefined
        ? `(native) under ${label(parent)}`
        : label(n);
    byFn.set(key, (byFn.get(key) ?? 0) + hits);
  }
  const busy = total - idle;
  const ranked = [...byFn]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([fn, hits]) => ({ fn, pct: busy > 0 ? (100 * hits) / busy : 0 }));
  return { busyPct: total > 0 ? (100 * busy) / total : 0, top: ranked };
}
