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

export const UNAVAILABLE_RULES = [procFopsHooking, syscallHooking];
