/**
 * Which catalog events this build can capture on this kernel, and why not when it cannot. Pure: decided from
 * the catalog's probe list and, for the packet events, from what the host allows (NetSupport: capabilities and
 * cgroup v2, src/capture/net-support.ts), so `list --signatures`, the live command and the rule engine agree.
 */
import { kt_heartbeat } from '../abi/abi.gen.js';
import { eventByName } from '../catalog/index.js';
import type { EventSpec } from '../catalog/types.js';
import type { NetSupport } from './net-support.js';

/**
 * Event kinds ktrail captures today (container events are derived from cgroup records, network events from
 * packet records or from security_socket_connect).
 */
const CAPTURED_KINDS: ReadonlySet<EventSpec['kind']> = new Set([
  'syscall',
  'lifecycle',
  'container',
  'network',
]);

/**
 * Why this build cannot capture `e`, or undefined when it can. Without `net`, the packet events count as
 * capturable (the host is not asked).
 */
export function unavailableReason(e: EventSpec, net?: NetSupport): string | undefined {
  if (e.packet !== undefined && net?.reason !== undefined) return net.reason;
  if (CAPTURED_KINDS.has(e.kind) || e.kernel !== undefined || e.id === kt_heartbeat.KT_HB_EVENT_ID)
    return undefined;
  const needs = e.probes.map((p) => p.needs).filter((n): n is string => n !== undefined);
  if (needs.length > 0) return `needs ${[...new Set(needs)].join(', ')}`;
  return 'not captured by this build yet';
}

/** True when the named event exists in the catalog and can be captured here. */
export function canTrace(name: string, net?: NetSupport): boolean {
  const e = eventByName(name);
  return e !== undefined && unavailableReason(e, net) === undefined;
}
