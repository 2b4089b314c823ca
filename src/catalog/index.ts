/**
 * The event catalog: every event ktrail knows (the generated syscalls plus the hand-written lifecycle and module
 * events), with lookups by name, id and set. Immutable data, safe to share; lookups never throw.
 */

import { closestNames } from '../util/edit-distance.js';
import { EVENTS } from './events.js';
import { NET_PACKET_BASE } from './net-events.js';
import { DEFAULT_SET, defaultEventsIn, eventsInSetOf, missingDefaultNames, setNamesOf } from './sets.js';
import { SYSCALL_EVENTS } from './syscalls.gen.js';
import type { EventSpec } from './types.js';

export type * from './types.js';
export { DEFAULT_SET };

/** All events, sorted by id. */
export const catalog: readonly EventSpec[] = Object.freeze(
  [...SYSCALL_EVENTS, ...EVENTS].sort((a, b) => a.id - b.id),
);

/** Record types of the kernel that are never shown or selected (EventSpec.internal), known by id only. */
const INTERNAL_EVENTS: readonly EventSpec[] = [NET_PACKET_BASE];

const byName = new Map(catalog.map((e) => [e.name, e]));
const byId = new Map([...catalog, ...INTERNAL_EVENTS].map((e) => [e.id, e]));

export function eventByName(name: string): EventSpec | undefined {
  return byName.get(name);
}

/** The event with catalog id `id`, internal record types (net_packet_base) included. */
export function eventById(id: number): EventSpec | undefined {
  return byId.get(id);
}

/** An internal record type by name (net_packet_base), or undefined. */
export function internalEvent(name: string): EventSpec | undefined {
  return INTERNAL_EVENTS.find((e) => e.name === name);
}

/** Every set name used in the catalog, sorted. */
export function setNames(): string[] {
  return setNamesOf(catalog);
}

/** The catalog's events tagged with `set`, sorted by id (empty for an unknown set). */
export function eventsInSet(set: string): EventSpec[] {
  return eventsInSetOf(catalog, set);
}

/** The events of Tracee's default set that ktrail has, in DEFAULT_SET order. */
export function defaultEvents(): EventSpec[] {
  return defaultEventsIn(catalog);
}

/** The names of Tracee's default set that ktrail's catalog lacks, in DEFAULT_SET order. */
export function missingDefaultEvents(): string[] {
  return missingDefaultNames(catalog);
}

/** "Did you mean" candidates for an unknown event or set name: up to `limit` closest names. */
export function suggestEventName(name: string, limit = 3): string[] {
  return closestNames([...byName.keys(), ...setNames()], name, limit);
}
