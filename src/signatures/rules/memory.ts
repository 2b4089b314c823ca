/**
 * Tracee's rules on code appearing in memory or on disk, on the kernel events ktrail builds at the syscall
 * tracepoints: mem_prot_alert (from the VMA before mprotect, and W+X mmaps) and magic_write (the first bytes
 * written at offset 0 of a regular file).
 */
import type { TraceEvent } from '../../decode/event.js';
import { argInt, argString, argValue, inContainer } from '../match.js';
import { defineRule } from '../types.js';

/** mem_prot_alert: a writable mapping made executable and not writable (Tracee's ALERT_MPROT_W_REM). */
const ALERT_W_TO_X = 4;

/** The bytes of magic_write: a decoded record's bytes, or the base64 text of a JSON file. */
function magicBytes(ev: TraceEvent): Uint8Array | undefined {
  const v = argValue(ev, 'bytes');
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return Buffer.from(v, 'base64');
  return undefined;
}

/** Tracee's IsElf: the ELF magic number. */
function isElf(b: Uint8Array | undefined): boolean {
  return b !== undefined && b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
}

/** Tracee's IsMemoryPath: a memfd, or a file in a memory filesystem. */
function memoryPath(p: string): boolean {
  return p.startsWith('memfd:') || p.startsWith('/run/shm/') || p.startsWith('/dev/shm/');
}

export const dynamicCodeLoading = defineRule({
  id: 'TRC-104',
  version: '1',
  eventName: 'dynamic_code_loading',
  title: 'Dynamic code loading detected',
  description:
    'Memory that was writable became executable (mprotect W to X): code unpacked or generated at run time, ' +
    'as packers and in-memory loaders do.',
  severity: 2,
  mitre: {
    tactic: 'defense-evasion',
    technique: 'Software Packing',
    techniqueId: 'T1027.002',
    attackPatternId: 'attack-pattern--deb98323-e13f-4b0c-8d94-175379069062',
  },
  tags: [],
  requires: [{ event: 'mem_prot_alert', filter: (ev) => argInt(ev, 'alert') === ALERT_W_TO_X }],
  onEvent: (ev, ctx) => [ctx.finding(ev)],
});

export const hiddenFileCreated = defineRule({
  id: 'TRC-1015',
  version: '1',
  eventName: 'hidden_file_created',
  title: 'Hidden executable creation detected',
  description: 'An ELF file was written to a hidden path (a file or directory whose name starts with a dot).',
  severity: 2,
  mitre: {
    tactic: 'defense-evasion',
    technique: 'Hidden Files and Directories',
    techniqueId: 'T1564.001',
    attackPatternId: 'attack-pattern--ec8fc7e2-b356-455c-8db5-2e37be158e7d',
  },
  tags: [],
  requires: [{ event: 'magic_write', filter: (ev) => (argString(ev, 'pathname') ?? '').includes('/.') }],
  onEvent: (ev, ctx) => (isElf(magicBytes(ev)) ? [ctx.finding(ev)] : undefined),
});

export const droppedExecutable = defineRule({
  id: 'TRC-1022',
  version: '1',
  eventName: 'dropped_executable',
  title: 'New executable dropped',
  description:
    'An ELF file was written inside a container at run time, outside memory filesystems: containers are ' +
    'meant to run the programs of their image.',
  severity: 2,
  mitre: {
    tactic: 'defense-evasion',
    technique: 'Masquerading',
    techniqueId: 'T1036',
    attackPatternId: 'attack-pattern--42e8de7b-37b2-4258-905a-6897815e58e0',
  },
  tags: [],
  requires: [{ event: 'magic_write', filter: inContainer }],
  onEvent(ev, ctx) {
    const path = argString(ev, 'pathname') ?? '';
    if (!isElf(magicBytes(ev)) || memoryPath(path)) return undefined;
    return [ctx.finding(ev, [{ name: 'path', type: 'const char *', value: path }])];
  },
});

export const MEMORY_RULES = [dynamicCodeLoading, hiddenFileCreated, droppedExecutable];
