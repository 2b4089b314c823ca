/**
 * What a finding is as an event, in Tracee's classic shape (COMPAT.md 6): its spec (the rule's event name and
 * finding id, 6000+) and its `metadata`. Rendering lives in src/output (json.ts JsonWriter.finding, table.ts
 * formatFindingRow).
 *
 * `metadata.Properties` is a Go map in Tracee, so its keys come out sorted (`Category, Kubernetes_Technique,
 * Severity, Technique, external_id, id, signatureID, signatureName`) and an empty tag list prints as `null`.
 */
import type { EventSpec } from '../catalog/types.js';
import type { RuleDefinition } from './types.js';

const specs = new WeakMap<RuleDefinition, EventSpec>();

/** The event spec of a rule's findings (what `list` would show for the finding event); one object per rule. */
export function findingSpec(rule: RuleDefinition, eventId: number): EventSpec {
  const known = specs.get(rule);
  if (known !== undefined && known.id === eventId) return known;
  const spec: EventSpec = {
    id: eventId,
    name: rule.eventName,
    version: rule.version,
    kind: 'detection',
    description: rule.title,
    sets: ['signatures', 'default'],
    fields: [],
    probes: [],
  };
  specs.set(rule, spec);
  return spec;
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
