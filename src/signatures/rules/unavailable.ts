/**
 * Tracee rules whose input ktrail cannot produce. They are kept as definitions so that `ktrail list --signatures`
 * names them and says why; the engine never runs them. Requirements name Tracee's events so that a Tracee JSON
 * file carrying them is at least recognised.
 */
import type { Rule } from '../types.js';

function unavailableRule(def: Omit<Rule, 'onEvent' | 'version' | 'tags'>): Rule {
  return { ...def, version: '1', tags: [], onEvent: () => undefined };
}

const ROOTKIT = {
  tactic: 'defense-evasion',
  technique: 'Rootkit',
  techniqueId: 'T1014',
  attackPatternId: 'attack-pattern--0f20e3cb-245b-4a61-8a91-2d93f7cb0e9b',
};

export const dynamicCodeLoading = unavailableRule({
  id: 'TRC-104',
  eventName: 'dynamic_code_loading',
  title: 'Dynamic code loading detected',
  description: 'Memory that was writable became executable (mprotect W to X): unpacked or generated code.',
  severity: 2,
  mitre: {
    tactic: 'defense-evasion',
    technique: 'Software Packing',
    techniqueId: 'T1027.002',
    attackPatternId: 'attack-pattern--deb98323-e13f-4b0c-8d94-175379069062',
  },
  requires: [{ event: 'mem_prot_alert' }],
  unavailableReason:
    'needs mem_prot_alert (the previous protection of each mapping, kept in the kernel); ktrail sees only ' +
    "mprotect's arguments",
});

export const k8sApiConnection = unavailableRule({
  id: 'TRC-1013',
  eventName: 'k8s_api_connection',
  title: 'Kubernetes API server connection detected',
  description: 'A container process connected to the Kubernetes API server address found in its environment.',
  severity: 1,
  mitre: { tactic: '', technique: '', techniqueId: '' },
  requires: [{ event: 'sched_process_exec' }, { event: 'security_socket_connect' }],
  unavailableReason:
    'needs the environment of every container process (sched_process_exec with exec-env) and container ' +
    'enrichment, which ktrail does not provide yet',
});

export const hiddenFileCreated = unavailableRule({
  id: 'TRC-1015',
  eventName: 'hidden_file_created',
  title: 'Hidden executable creation detected',
  description: 'An ELF file was written to a hidden path (a name starting with a dot).',
  severity: 2,
  mitre: {
    tactic: 'defense-evasion',
    technique: 'Hidden Files and Directories',
    techniqueId: 'T1564.001',
    attackPatternId: 'attack-pattern--ec8fc7e2-b356-455c-8db5-2e37be158e7d',
  },
  requires: [{ event: 'magic_write' }],
  unavailableReason: 'needs magic_write (the first bytes written to a new file, from a vfs_write kprobe)',
});

export const procFopsHooking = unavailableRule({
  id: 'TRC-1020',
  eventName: 'proc_fops_hooking',
  title: 'File operations hooking on proc filesystem detected',
  description:
    'The file operations of /proc point outside core kernel text: a rootkit hides processes this way.',
  severity: 3,
  mitre: ROOTKIT,
  requires: [{ event: 'hooked_proc_fops' }],
  unavailableReason: 'needs hooked_proc_fops (an in-kernel scan of /proc file operations against kallsyms)',
});

export const droppedExecutable = unavailableRule({
  id: 'TRC-1022',
  eventName: 'dropped_executable',
  title: 'New executable dropped',
  description: 'An ELF file was written to disk inside a container at run time.',
  severity: 2,
  mitre: {
    tactic: 'defense-evasion',
    technique: 'Masquerading',
    techniqueId: 'T1036',
    attackPatternId: 'attack-pattern--42e8de7b-37b2-4258-905a-6897815e58e0',
  },
  requires: [{ event: 'magic_write' }],
  unavailableReason: 'needs magic_write (the first bytes written to a new file, from a vfs_write kprobe)',
});

export const syscallHooking = unavailableRule({
  id: 'TRC-1030',
  eventName: 'syscall_hooking',
  title: 'Syscall table hooking detected',
  description: 'An entry of the syscall table points outside core kernel text: a rootkit hook.',
  severity: 3,
  mitre: ROOTKIT,
  requires: [{ event: 'hooked_syscall' }],
  unavailableReason: 'needs hooked_syscall (an in-kernel comparison of sys_call_table with kallsyms)',
});

export const UNAVAILABLE_RULES = [
  dynamicCodeLoading,
  k8sApiConnection,
  hiddenFileCreated,
  procFopsHooking,
  droppedExecutable,
  syscallHooking,
];
