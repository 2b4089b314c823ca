/**
 * A policy as parsed from flags or a file, before compilation: events with their filters, a scope, actions.
 * Plain immutable data; compile.ts turns a list of these into CompiledPolicies.
 */
import { kt_policy_limit } from '../abi/abi.gen.js';
import type { EventSpec } from '../catalog/types.js';
import type { EventFilter } from './event-filter.js';
import type { ScopeSpec } from './scope.js';

/** Tracee has no enforcing actions: an event is logged (written to the outputs) or printed. */
export type Action = 'log' | 'print';
export const ACTIONS: readonly Action[] = ['log', 'print'];

/** Tracee's limit, and the kernel's (maps.h): each event carries a u64 bitmap of matching policies. */
export const MAX_POLICIES = kt_policy_limit.KT_MAX_POLICIES;

export interface RuleSpec {
  readonly event: EventSpec;
  /** All must match (AND). */
  readonly filters: readonly EventFilter[];
  readonly actions: readonly Action[];
}

export interface PolicySpec {
  /** DNS-1123 name from a file; '' for the command-line policy. */
  readonly name: string;
  readonly description: string;
  /** Where it came from: a file path, or '--events/--scope'. */
  readonly origin: string;
  readonly scope: ScopeSpec;
  /** One rule per event, in catalog order for the command line and file order for files. */
  readonly rules: readonly RuleSpec[];
  readonly defaultActions: readonly Action[];
}
