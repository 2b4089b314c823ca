/**
 * Test support (not a test file): builds TraceEvents for rule tests from an event name, arguments by name and
 * context overrides, with the catalog's EventSpec (or a minimal spec for Tracee-only events such as
 * security_file_open). Argument order and types come from the spec; arguments not given get an empty value.
 */
import { eventByName } from '../catalog/index.js';
import type { EventSpec, TraceeType } from '../catalog/types.js';
import type { ArgValue, EventArg, TraceEvent } from '../decode/event.js';
import { Engine } from './engine.js';
import type { AnyRule, ConfigValue, FindingValue } from './types.js';

/** A spec for an event the catalog lacks: no fields, so the given arguments keep their given order. */
function minimalSpec(name: string, id = 0): EventSpec {
  return { id, name, version: '0', kind: 'security', description: '', sets: [], fields: [], probes: [] };
}

function emptyValue(type: TraceeType): ArgValue {
  switch (type) {
    case 'string':
      return '';
    case '[]string':
      return [];
    case 'SockAddr':
      return {};
    case 'bool':
      return false;
    default:
      return 0;
  }
}

function guessType(v: ArgValue): TraceeType {
  if (typeof v === 'string') return 'string';
  if (Array.isArray(v)) return '[]string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'object' && v !== null && !(v instanceof Uint8Array)) return 'SockAddr';
  return 'int32';
}

/** Context defaults: a root process 'test' (pid 100) on the host, at a fixed time. */
export function makeEvent(
  eventName: string,
  args: Readonly<Record<string, ArgValue>> = {},
  ctx: Partial<Omit<TraceEvent, 'spec' | 'args'>> = {},
): TraceEvent {
  const spec = eventByName(eventName) ?? minimalSpec(eventName);
  let eventArgs: EventArg[];
  if (spec.fields.length === 0) {
    eventArgs = Object.entries(args).map(([name, value]) => ({ name, type: guessType(value), value }));
  } else {
    const fields = spec.syscall ? spec.fields.slice(0, -1) : spec.fields;
    for (const k of Object.keys(args))
      if (!fields.some((f) => f.name === k)) throw new Error(`makeEvent: ${eventName} has no field '${k}'`);
    eventArgs = fields.map((f) => ({
      name: f.name,
      type: f.type,
      value: args[f.name] ?? emptyValue(f.type),
    }));
  }
  return {
    spec,
    timestamp: 1764412200123456789n,
    threadStartTime: 1764412200120004511n,
    processorId: 1,
    processId: 100,
    cgroupId: 8412n,
    threadId: 100,
    parentProcessId: 1,
    hostProcessId: 100,
    hostThreadId: 100,
    hostParentProcessId: 1,
    userId: 0,
    groupId: 0,
    mountNamespace: 4026531841,
    pidNamespace: 4026531836,
    processName: 'test',
    executablePath: '',
    hostName: 'node-1',
    containerId: '',
    returnValue: 0,
    syscall: spec.syscall ? spec.name : '',
    isCompat: false,
    atEntry: false,
    seq: 1n,
    durationNs: spec.syscall ? 1000n : undefined,
    matched: 1n,
    ...ctx,
    args: eventArgs,
  };
}

/**
 * Runs one rule (with a fresh engine) over `events` and returns each finding's data as `{name: value}` objects,
 * in order, for exact assertions.
 */
export function runRule(
  rule: AnyRule,
  events: readonly TraceEvent[],
  config?: Readonly<Record<string, ConfigValue>>,
): Record<string, FindingValue>[] {
  const engine = new Engine([rule], config === undefined ? {} : { config: { [rule.id]: config } });
  return events.flatMap((ev) =>
    engine.dispatch(ev).map((f) => Object.fromEntries(f.data.map((a) => [a.name, a.value]))),
  );
}
