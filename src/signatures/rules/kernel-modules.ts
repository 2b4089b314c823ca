/**
 * Kernel-module rules. Tracee watches loads only (TRC-1017 on module_load) and nothing watches unloads
 * (COMPAT.md 6); ktrail's own KTR rules cover delete_module and the load syscalls, which raw sys_enter/sys_exit
 * give on every kernel.
 */
import type { TraceEvent } from '../../decode/event.js';
import { argInt, argString } from '../match.js';
import { defineRule, type FindingArg, type Mitre } from '../types.js';

const O_TRUNC = 0o1000;

const DISABLE_TOOLS: Mitre = {
  tactic: 'defense-evasion',
  technique: 'Impair Defenses: Disable or Modify Tools',
  techniqueId: 'T1562.001',
};

const KERNEL_MODULES: Mitre = {
  tactic: 'persistence',
  technique: 'Kernel Modules and Extensions',
  techniqueId: 'T1547.006',
  attackPatternId: 'attack-pattern--a1b52199-c8c5-438a-9ded-656f1d0888c6',
};

const ESCAPE_TO_HOST: Mitre = {
  tactic: 'privilege-escalation',
  technique: 'Escape to Host',
  techniqueId: 'T1611',
  attackPatternId: 'attack-pattern--4a5b7ade-8bb5-4853-84ed-23f262002665',
};

const PRIV_ESC_EXPLOIT: Mitre = {
  tactic: 'privilege-escalation',
  technique: 'Exploitation for Privilege Escalation',
  techniqueId: 'T1068',
  attackPatternId: 'attack-pattern--b21c3b2d-02e6-45b1-980b-e69051040839',
};

const MODULE_SYSCALLS = ['init_module', 'finit_module', 'delete_module'] as const;

/** The module name (delete_module) or load parameters (init/finit_module) of a module syscall. */
function moduleData(ev: TraceEvent): FindingArg[] {
  if (ev.spec.name === 'delete_module')
    return [
      { name: 'syscall', type: 'const char *', value: ev.spec.name },
      { name: 'name', type: 'const char *', value: argString(ev, 'name') ?? '' },
    ];
  return [
    { name: 'syscall', type: 'const char *', value: ev.spec.name },
    { name: 'param_values', type: 'const char *', value: argString(ev, 'param_values') ?? '' },
  ];
}

function unloadData(ev: TraceEvent): FindingArg[] {
  return [
    { name: 'name', type: 'const char *', value: argString(ev, 'name') ?? '' },
    { name: 'flags', type: 'int', value: argInt(ev, 'flags', 'delete_module_flags') ?? 0 },
  ];
}

export const moduleUnload = defineRule({
  id: 'KTR-001',
  version: '1',
  eventName: 'kernel_module_unload',
  title: 'Kernel module unload attempted',
  description:
    'A process asked the kernel to unload a module (delete_module), whether or not the kernel allowed it. ' +
    'Unloading a security or audit module (netfilter, LSM helpers, EDR drivers) removes a defence.',
  severity: 1,
  mitre: DISABLE_TOOLS,
  tags: ['linux', 'kernel-module'],
  requires: [{ event: 'delete_module' }],
  onEvent: (ev, ctx) => [ctx.finding(ev, unloadData(ev))],
});

export const moduleForcedUnload = defineRule({
  id: 'KTR-002',
  version: '1',
  eventName: 'kernel_module_forced_unload',
  title: 'Forced kernel module unload attempted',
  description:
    'delete_module was called with O_TRUNC (rmmod -f): the kernel skips its reference-count and missing-exit ' +
    'checks, taints itself (TAINT_FORCED_RMMOD) and can crash if the module is still in use.',
  severity: 3,
  mitre: DISABLE_TOOLS,
  tags: ['linux', 'kernel-module'],
  requires: [
    {
      event: 'delete_module',
      filter: (ev) => ((argInt(ev, 'flags', 'delete_module_flags') ?? 0) & O_TRUNC) !== 0,
    },
  ],
  onEvent: (ev, ctx) => [ctx.finding(ev, unloadData(ev))],
});

export const moduleOpInContainer = defineRule({
  id: 'KTR-003',
  version: '1',
  eventName: 'kernel_module_op_in_container',
  title: 'Kernel module load or unload from a container',
  description:
    'A process inside a container called init_module, finit_module or delete_module. Containers have no ' +
    'business changing the host kernel; with CAP_SYS_MODULE this is a direct container escape.',
  severity: 3,
  mitre: ESCAPE_TO_HOST,
  tags: ['linux', 'container', 'kernel-module'],
  requires: MODULE_SYSCALLS.map((event) => ({ event, filter: (ev: TraceEvent) => ev.containerId !== '' })),
  onEvent: (ev, ctx) => [
    ctx.finding(ev, [
      ...moduleData(ev),
      { name: 'containerId', type: 'const char *', value: ev.containerId },
    ]),
  ],
});

export const moduleOpNonRoot = defineRule({
  id: 'KTR-004',
  version: '1',
  eventName: 'kernel_module_op_non_root',
  title: 'Kernel module load or unload by a non-root user',
  description:
    'A process with a non-zero effective uid called init_module, finit_module or delete_module. It fails with ' +
    'EPERM unless the process holds CAP_SYS_MODULE; either way it is a probe for kernel access.',
  severity: 2,
  mitre: PRIV_ESC_EXPLOIT,
  tags: ['linux', 'kernel-module'],
  requires: MODULE_SYSCALLS.map((event) => ({ event, filter: (ev: TraceEvent) => ev.userId !== 0 })),
  onEvent: (ev, ctx) => [
    ctx.finding(ev, [...moduleData(ev), { name: 'userId', type: 'int', value: ev.userId }]),
  ],
});

export const moduleUnloadStall = defineRule({
  id: 'KTR-005',
  version: '1',
  eventName: 'kernel_module_unload_stall',
  title: 'Kernel module unload blocked for a long time',
  description:
    'A delete_module call took longer than the threshold (default 1 s) from entry to exit: it waited on the ' +
    'module mutex or a module exit function that hangs, which can freeze every later module operation.',
  severity: 1,
  mitre: DISABLE_TOOLS,
  tags: ['linux', 'kernel-module'],
  requires: [{ event: 'delete_module' }],
  config: { thresholdNs: 1_000_000_000 },
  onEvent: (ev, ctx) => {
    const threshold = BigInt(ctx.config['thresholdNs'] as number);
    if (ev.durationNs === undefined || ev.durationNs <= threshold) return undefined;
    return [
      ctx.finding(ev, [
        { name: 'name', type: 'const char *', value: argString(ev, 'name') ?? '' },
        { name: 'durationNs', type: 'unsigned long', value: ev.durationNs },
        { name: 'thresholdNs', type: 'unsigned long', value: threshold },
      ]),
    ];
  },
});

export const moduleLoadSyscall = defineRule({
  id: 'KTR-006',
  version: '1',
  eventName: 'kernel_module_load_syscall',
  title: 'Kernel module load attempted',
  description:
    'A process called init_module or finit_module (what TRC-1017 watched before Tracee moved it to ' +
    'module_load). Fires on every attempt, failed ones included; a rootkit is usually loaded this way.',
  severity: 2,
  mitre: KERNEL_MODULES,
  tags: ['linux', 'kernel-module'],
  requires: [{ event: 'init_module' }, { event: 'finit_module' }],
  onEvent: (ev, ctx) => [ctx.finding(ev, moduleData(ev))],
});

export const kernelModuleLoading = defineRule({
  id: 'TRC-1017',
  version: '1',
  eventName: 'kernel_module_loading',
  title: 'Kernel module loading detected',
  description:
    'A kernel module was loaded into the kernel (module_load). Adversaries may load a module to run code with ' +
    'kernel privileges, hide themselves or persist.',
  severity: 2,
  mitre: KERNEL_MODULES,
  tags: [],
  requires: [{ event: 'module_load' }],
  onEvent: (ev, ctx) => [ctx.finding(ev)],
});

export const KERNEL_MODULE_RULES = [
  moduleUnload,
  moduleForcedUnload,
  moduleOpInContainer,
  moduleOpNonRoot,
  moduleUnloadStall,
  moduleLoadSyscall,
  kernelModuleLoading,
];
