/**
 * Test support for src/policy: the real catalog as a SelectionCatalog and TraceEvent fixtures. Not used by
 * production code.
 */
import { catalog, eventByName, setNames, suggestEventName } from '../catalog/index.js';
import type { TraceEvent } from '../decode/event.js';
import type { SelectionCatalog } from './select.js';

export const testCatalog: SelectionCatalog = {
  events: catalog,
  byName: eventByName,
  setNames: [...setNames(), 'default'],
  suggest: suggestEventName,
  defaultNames: ['init_module', 'finit_module', 'delete_module'],
};

/** A delete_module event from rmmod (uid 0, host) with the given name, flags and result; override the rest. */
export function deleteModuleEvent(
  name: string,
  flags: number,
  returnValue: number,
  over: Partial<TraceEvent> = {},
): TraceEvent {
  const spec = eventByName('delete_module');
  if (spec === undefined) throw new Error('catalog lacks delete_module');
  return {
    spec,
    timestamp: 1_700_000_000_000_000_000n,
    threadStartTime: 1_699_999_999_000_000_000n,
    processorId: 1,
    processId: 4242,
    cgroupId: 1n,
    threadId: 4242,
    parentProcessId: 4000,
    hostProcessId: 4242,
    hostThreadId: 4242,
    hostParentProcessId: 4000,
    userId: 0,
    groupId: 0,
    mountNamespace: 4026531841,
    pidNamespace: 4026531836,
    processName: 'rmmod',
    executablePath: '/usr/bin/kmod',
    hostName: 'dev',
    containerId: '',
    returnValue,
    syscall: 'delete_module',
    isCompat: false,
    atEntry: false,
    args: [
      { name: 'name', type: 'string', value: name },
      { name: 'flags', type: 'int32', value: flags },
    ],
    seq: 1n,
    durationNs: 1000n,
    matched: 0n,
    ...over,
  };
}
