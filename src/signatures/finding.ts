/**
 * Findings in Tracee's classic shape (COMPAT.md 6): an ordinary classic event whose name is the rule's event
 * name and whose id is the rule's finding id (6000+); every context key comes from the triggering event; `args`
 * are the rule's data in declared order, then `detectedFrom`; `metadata` follows `args`.
 *
 * Byte-level choices, to match what Tracee (Go) writes: `detectedFrom` and `metadata.Properties` are Go maps,
 * so their keys come out sorted (`args, id, name, returnValue`; `Category, Kubernetes_Technique, Severity,
 * Technique, external_id, id, signatureID, signatureName`); an empty tag list prints as `null`; `detectedFrom`
 * is left out when the trigger has no arguments. ktrail's additive keys of the trigger (`seq`, `durationNs`)
 * follow `metadata`, so a finding points back at its trigger's record.
 *
 * Table output: the EVENT column shows the finding's event name prefixed by '!' (`!anti_debugging`), so that a
 * finding stands out among plain events, and `detectedFrom` shows the trigger's event name.
 */
import type { EventSpec } from '../catalog/types.js';
import type { ArgValue, TraceEvent } from '../decode/event.js';
import { formatJson, type JsonOptions, jsonValue } from '../output/json.js';
import { formatTableRow } from '../output/table.js';
import type { Finding, FindingArg, FindingValue, RuleDefinition } from './types.js';

/** The event spec of a rule's findings (what `list` would show for the finding event). */
export function findingSpec(rule: RuleDefinition, eventId: number): EventSpec {
  return {
    id: eventId,
    name: rule.eventName,
    version: rule.version,
    kind: 'detection',
    description: rule.title,
    sets: ['signatures', 'default'],
    fields: [],
    probes: [],
  };
}

export interface FindingMetadata {
  readonly Version: string;
  readonly Description: string;
  readonly Tags: readonly string[];
  readonly Properties: {
    readonly Category: string;
    readonly Kubernetes_Technique: string;
    readonly Severity: number;
    readonly Technique: string;
    readonly external_id: string;
    readonly id: string;
    readonly signatureID: string;
    readonly signatureName: string;
  };
}

export function findingMetadata(rule: RuleDefinition): FindingMetadata {
  return {
    Version: rule.version,
    Description: rule.description,
    Tags: rule.tags,
    Properties: {
      Category: rule.mitre.tactic,
      Kubernetes_Technique: '',
      Severity: rule.severity,
      Technique: rule.mitre.technique,
      external_id: rule.mitre.techniqueId,
      id: rule.mitre.attackPatternId ?? '',
      signatureID: rule.id,
      signatureName: rule.title,
    },
  };
}

/** A finding as an event: the trigger's context with the finding's spec, args and metadata. */
export interface FindingEvent extends Omit<TraceEvent, 'args' | 'spec'> {
  readonly spec: EventSpec;
  readonly args: readonly FindingArg[];
  readonly metadata: FindingMetadata;
}

/** The rule's data plus `detectedFrom`, as Tracee builds the finding's arguments. */
export function findingArgs(f: Finding): FindingArg[] {
  const args = [...f.data];
  const t = f.event;
  if (t.args.length > 0) {
    args.push({
      name: 'detectedFrom',
      type: 'unknown',
      value: {
        args: t.args.map((a) => ({ name: a.name, type: a.type, value: a.value })),
        id: t.spec.id,
        name: t.spec.name,
        returnValue: t.returnValue,
      },
    });
  }
  return args;
}

export function findingToEvent(f: Finding): FindingEvent {
  return {
    ...f.event,
    spec: findingSpec(f.rule, f.eventId),
    args: findingArgs(f),
    metadata: findingMetadata(f.rule),
  };
}

/** The args array of a classic JSON line (`[...]`), cut out of the writer's output so it is rendered once. */
function argsJsonOf(line: string): string {
  const start = line.indexOf(',"args":[');
  const end = line.indexOf('],"seq":', start);
  return line.slice(start + ',"args":'.length, end + 1);
}

function metadataJson(m: FindingMetadata): string {
  const q = JSON.stringify;
  const p = m.Properties;
  const tags = m.Tags.length === 0 ? 'null' : `[${m.Tags.map((t) => q(t)).join(',')}]`;
  return (
    `{"Version":${q(m.Version)},"Description":${q(m.Description)},"Tags":${tags},"Properties":{` +
    `"Category":${q(p.Category)},"Kubernetes_Technique":${q(p.Kubernetes_Technique)},"Severity":${p.Severity},` +
    `"Technique":${q(p.Technique)},"external_id":${q(p.external_id)},"id":${q(p.id)},` +
    `"signatureID":${q(p.signatureID)},"signatureName":${q(p.signatureName)}}}`
  );
}

/**
 * One classic JSON line for a finding (no newline): COMPAT.md 2's key order with `metadata` after `args`.
 * `opts.parseArguments` applies to the trigger's arguments inside `detectedFrom`.
 */
export function formatFindingJson(f: Finding, opts: JsonOptions): string {
  const t = f.event;
  const head = formatJson({ ...t, spec: findingSpec(f.rule, f.eventId), args: [] }, opts);
  const data = f.data.map(
    (a) =>
      `{"name":${JSON.stringify(a.name)},"type":${JSON.stringify(a.type)},"value":${jsonValue(a.value)}}`,
  );
  if (t.args.length > 0) {
    const triggerArgs = argsJsonOf(formatJson(t, opts));
    data.push(
      `{"name":"detectedFrom","type":"unknown","value":{"args":${triggerArgs},"id":${t.spec.id},` +
        `"name":${JSON.stringify(t.spec.name)},"returnValue":${t.returnValue}}}`,
    );
  }
  const args = `"args":[${data.join(',')}],"metadata":${metadataJson(findingMetadata(f.rule))},`;
  return head.replace('"argsNum":0,', () => `"argsNum":${data.length},`).replace('"args":[],', () => args);
}

function tableArg(v: FindingValue): ArgValue {
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
  if (Array.isArray(v)) return v.map((x) => String(tableArg(x as FindingValue)));
  return JSON.stringify(v);
}

/** One table row for a finding: EVENT is `!<event name>`, ARGS the data then `detectedFrom: <trigger name>`. */
export function formatFindingRow(f: Finding, parseArguments: boolean): string {
  const args = f.data.map((a) => ({ name: a.name, type: 'unknown' as const, value: tableArg(a.value) }));
  if (f.event.args.length > 0) args.push({ name: 'detectedFrom', type: 'unknown', value: f.event.spec.name });
  const spec = { ...findingSpec(f.rule, f.eventId), name: `!${f.rule.eventName}` };
  return formatTableRow({ ...f.event, spec, args }, parseArguments);
}
