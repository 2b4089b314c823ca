/**
 * The rule API. A rule is a plain object, definition first (id, event name, severity, MITRE, required events),
 * with a short `onEvent`. Rules never touch the kernel: the engine hands them decoded TraceEvents, already
 * narrowed to the events (and pre-filters) the rule declared in `requires`.
 */
import type { ArgValue, TraceEvent } from '../decode/event.js';

/** Tracee's v0.24 scale: 0 info, 1 low, 2 medium, 3 high. */
export type Severity = 0 | 1 | 2 | 3;

export interface Mitre {
  /** ATT&CK tactic short name (`defense-evasion`); '' when the rule has none. */
  readonly tactic: string;
  /** Technique name (`Debugger Evasion`). */
  readonly technique: string;
  /** External id (`T1622`, `T1547.006`). */
  readonly techniqueId: string;
  /** STIX attack-pattern id, when known (`attack-pattern--...`). */
  readonly attackPatternId?: string;
}

/** One event a rule needs; `filter` runs in the engine before `onEvent` (cheap, pure). */
export interface Requirement {
  readonly event: string;
  readonly filter?: (ev: TraceEvent) => boolean;
}

/** A value a finding carries: an event value, or a nested object (detectedFrom-like data). */
export type FindingValue = ArgValue | { readonly [key: string]: FindingValue } | readonly FindingValue[];

/** One datum of a finding, in the rule's declared order. `type` is a C-style name as Tracee prints it. */
export interface FindingArg {
  readonly name: string;
  readonly type: 'int' | 'long' | 'unsigned long' | 'const char *' | 'const char**' | 'bool' | 'unknown';
  readonly value: FindingValue;
}

/** A detection: which rule, its data, and the event that triggered it. */
export interface Finding {
  readonly rule: RuleDefinition;
  /** The finding's event id (6000+), assigned by the engine from the rule's position in the registry. */
  readonly eventId: number;
  readonly data: readonly FindingArg[];
  readonly event: TraceEvent;
}

export type ConfigValue = number | string | boolean;

/** What a live trace knows of this host, for rules (absent when analyzing a recorded file). */
export interface HostFacts {
  /**
   * The watched path (a rule's `watchFiles`) whose file is (dev, inode), `dev` in the kernel's encoding: a hard
   * link or a bind mount of a watched file reaches the same inode under another path.
   */
  watchedInode(dev: number, inode: number): string | undefined;
}

/** What a rule sees besides the event: its configuration and its per-engine state. */
export interface RuleContext<S> {
  /** Facts of the live host, undefined when the events come from a file (analyze). */
  readonly host: HostFacts | undefined;
  /** The rule's `config` defaults, overridden by the engine's per-rule configuration. */
  readonly config: Readonly<Record<string, ConfigValue>>;
  /** State made by `newState()` once per engine; undefined for stateless rules. */
  readonly state: S;
  /** Builds a finding of this rule. */
  finding(ev: TraceEvent, data?: readonly FindingArg[]): Finding;
}

/** Everything about a rule except its behaviour: what `list --signatures` and finding metadata show. */
export interface RuleDefinition {
  /** Stable id: `TRC-*` for Tracee's rules, `KTR-*` for ktrail's own. Independent of file names. */
  readonly id: string;
  /** Semver-ish version of the rule's logic, printed in `metadata.Version`. */
  readonly version: string;
  /** The finding's event name (`anti_debugging`). */
  readonly eventName: string;
  /** Tracee's signature name, one line (`Anti-Debugging detected`). */
  readonly title: string;
  readonly description: string;
  readonly severity: Severity;
  readonly mitre: Mitre;
  readonly tags: readonly string[];
  readonly requires: readonly Requirement[];
  /** Tunables with their defaults (e.g. a threshold in ns). */
  readonly config?: Readonly<Record<string, ConfigValue>>;
  /**
   * Sensitive files the rule matches by identity too (HostFacts.watchedInode): paths, and directories ending in
   * '/' for the files directly inside them.
   */
  readonly watchFiles?: readonly string[];
  /**
   * Set when ktrail can never observe what the rule needs (e.g. Tracee's mem_prot_alert): the rule is kept for
   * `list --signatures` and never runs.
   */
  readonly unavailableReason?: string;
}

/**
 * A rule. `S` is its private per-engine state (bounded by the rule itself), made by `newState`; stateless rules
 * leave both out. `onEvent` returns the findings for this event, or undefined for none.
 */
export interface Rule<S = undefined> extends RuleDefinition {
  newState?: () => S;
  onEvent(ev: TraceEvent, ctx: RuleContext<S>): Finding[] | undefined;
}

/** A rule of any state type, as the registry and engine hold them. */
// biome-ignore lint/suspicious/noExplicitAny: the state type is private to each rule
export type AnyRule = Rule<any>;

/** Identity helper that keeps a rule's state type checked at its definition. */
export function defineRule<S = undefined>(rule: Rule<S>): Rule<S> {
  return rule;
}
