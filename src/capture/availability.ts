/**
 * Which catalog events this build can capture on this kernel, and why not when it cannot. Pure: decided from
 * the catalog's probe list, so `list --signatures`, the live command and the rule engine agree.
 */
import { kt_heartbeat } from '../abi/abi.gen.js';
import { eventByName } from '../catalog/index.js';
import type { EventSpec } from '../catalog/types.js';

/** Event kinds ktrail captures today (container events are derived from cgroup records). */
const CAPTURED_KINDS: ReadonlySet<EventSpec['kind']> = new Set(['syscall', 'lifecycle', 'container']);

/** Why this build cannot capture `e`, or undefined when it can. */
export function unavailableReason(e: EventSpec): string | undefined {
  if (CAPTURED_KINDS.has(e.kind) || e.kernel !== undefined || e.id === kt_heartbeat.KT_HB_EVENT_ID)
    return undefined;
  const needs = e.probes.map((p) => p.needs).filter((n): n is string => n !== undefined);
  if (needs.length > 0) return `needs ${[...new Set(needs)].join(', ')}`;
  return 'not captured by this build yet';
}

/** True when the named event exists in the catalog and can be captured here. */
export function canTrace(name: string): boolean {
  const e = eventByName(name);
  return e !== undefined && unavailableReason(e) === undefined;
}
