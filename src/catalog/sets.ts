/**
 * Sets (Tracee's tags) over a list of events. Membership is the event's own `sets` list, as in Tracee: there is no
 * separate registry of sets. Pure functions over an event list; src/catalog/index.ts binds them to the catalog.
 */
import type { EventSpec } from './types.js';

/**
 * Tracee's `default` set (COMPAT.md 1.2): what runs when no event is selected. All 42 names are kept even when
 * ktrail has no such event yet; see `defaultEventsIn` and `missingDefaultNames`.
 */
export const DEFAULT_SET: readonly string[] = [
  'creat',
  'chmod',
  'fchmod',
  'chown',
  'fchown',
  'lchown',
  'ptrace',
  'setuid',
  'setgid',
  'setpgid',
  'setreuid',
  'setregid',
  'setresuid',
  'setresgid',
  'setfsuid',
  'setfsgid',
  'init_module',
  'fchownat',
  'fchmodat',
  'setns',
  'process_vm_readv',
  'process_vm_writev',
  'finit_module',
  'memfd_create',
  'move_mount',
  'sched_process_exec',
  'security_inode_unlink',
  'security_socket_connect',
  'net_tcp_connect',
  'security_socket_accept',
  'security_socket_bind',
  'security_sb_mount',
  'security_sb_umount',
  'container_create',
  'container_remove',
  'heartbeat_event',
  'net_packet_icmp',
  'net_packet_icmpv6',
  'net_packet_dns_request',
  'net_packet_dns_response',
  'net_packet_http_request',
  'net_packet_http_response',
];

/** Every set name used by the events, sorted. */
export function setNamesOf(events: readonly EventSpec[]): string[] {
  return [...new Set(events.flatMap((e) => e.sets))].sort();
}

/** The events tagged with `set`, sorted by id. */
export function eventsInSetOf(events: readonly EventSpec[], set: string): EventSpec[] {
  return events.filter((e) => e.sets.includes(set)).sort((a, b) => a.id - b.id);
}

/** The events of DEFAULT_SET present in `events`, in DEFAULT_SET order. */
export function defaultEventsIn(events: readonly EventSpec[]): EventSpec[] {
  const byName = new Map(events.map((e) => [e.name, e]));
  return DEFAULT_SET.flatMap((n) => {
    const e = byName.get(n);
    return e === undefined ? [] : [e];
  });
}

/** The DEFAULT_SET names that `events` lacks, in DEFAULT_SET order. */
export function missingDefaultNames(events: readonly EventSpec[]): string[] {
  const names = new Set(events.map((e) => e.name));
  return DEFAULT_SET.filter((n) => !names.has(n));
}

/** Levenshtein distance (insert, delete, substitute each cost 1). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * Up to `limit` candidates closest to `name` by edit distance, nearest first (ties by name), keeping only those
 * within a third of the longer length (at least 2), so unrelated names are not suggested.
 */
export function closestNames(candidates: Iterable<string>, name: string, limit = 3): string[] {
  const scored: [string, number][] = [];
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d <= Math.max(2, Math.floor(Math.max(name.length, c.length) / 3))) scored.push([c, d]);
  }
  scored.sort((x, y) => x[1] - y[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  return scored.slice(0, limit).map(([c]) => c);
}
