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
