/**
 * Hand-written non-syscall events: the process lifecycle, the kernel-side module events and (from
 * kernel-events.ts) the kernel-resolved security events, with Tracee v0.24's
 * ids, names, field names and types (aquasecurity/tracee v0.24.1 pkg/events/core.go; C types from v0.23.2) and
 * ktrail's per-field tags (COMPAT.md 1.5). Lifecycle records carry every field as a blob in this order
 * (bpf/include/wire.h): integers as 8-byte values narrowed to the field type, time.Time fields as epoch ns.
 */
import { KERNEL_EVENTS } from './kernel-events.js';
import { NET_EVENTS } from './net-events.js';
import type { ArgTag, EventSpec, FieldSpec, ProbeSpec, TraceeType } from './types.js';

const STR_MAX = 4096;
/** Module names, versions and srcversions are short fixed-size kernel strings (MODULE_NAME_LEN is 56). */
const MOD_STR_MAX = 64;

function f(
  name: string,
  type: TraceeType,
  cType: string,
  tags: readonly ArgTag[],
  strMax = STR_MAX,
): FieldSpec {
  if (type === 'string') return { name, cType, type, decode: { wire: 'str', max: strMax }, tags };
  if (type === '[]string') return { name, cType, type, decode: { wire: 'str_arr', max: strMax }, tags };
  return { name, cType, type, decode: { wire: 'reg' }, tags };
}

const K: readonly ArgTag[] = ['K'];
const K_OPT: readonly ArgTag[] = ['K', 'OPT'];

function taskIds(prefix: string, startName: string): FieldSpec[] {
  return [
    f(`${prefix}_tid`, 'int32', 'int', K),
    f(`${prefix}_ns_tid`, 'int32', 'int', K),
    f(`${prefix}_pid`, 'int32', 'int', K),
    f(`${prefix}_ns_pid`, 'int32', 'int', K),
    f(startName, 'time.Time', 'unsigned long', K),
  ];
}

function tp(target: string, needs?: string): ProbeSpec {
  return needs === undefined
    ? { kind: 'tp_btf', target, required: true }
    : { kind: 'tp_btf', target, required: true, needs };
}

const MODULE_TP_NEEDS = 'CONFIG_MODULES';

const LIFECYCLE_AND_MODULES: readonly EventSpec[] = [
  {
    id: 714,
    name: 'sched_process_fork',
    version: '1.0.0',
    kind: 'lifecycle',
    description:
      'A new thread or process was created (fork, vfork, clone): parent, child, process and leader ids.',
    sets: [],
    fields: [
      ...taskIds('parent', 'parent_start_time'),
      ...taskIds('child', 'start_time'),
      ...taskIds('parent_process', 'parent_process_start_time'),
      ...taskIds('leader', 'leader_start_time'),
    ],
    probes: [tp('sched_process_fork')],
    related: ['clone', 'clone3', 'fork', 'vfork', 'sched_process_exec', 'sched_process_exit'],
  },
  {
    id: 715,
    name: 'sched_process_exec',
    version: '1.0.0',
    kind: 'lifecycle',
    description: 'A process replaced its image with a new program (execve and execveat that succeeded).',
    sets: ['default', 'proc'],
    fields: [
      f('cmdpath', 'string', 'const char *', K),
      f('pathname', 'string', 'const char *', K),
      f('dev', 'uint32', 'dev_t', K),
      f('inode', 'uint64', 'unsigned long', K),
      f('ctime', 'uint64', 'unsigned long', K),
      f('inode_mode', 'uint16', 'umode_t', K),
      f('interpreter_pathname', 'string', 'const char *', K_OPT),
      f('interpreter_dev', 'uint32', 'dev_t', K_OPT),
      f('interpreter_inode', 'uint64', 'unsigned long', K_OPT),
      f('interpreter_ctime', 'uint64', 'unsigned long', K_OPT),
      f('argv', '[]string', 'const char **', ['U']),
      f('interp', 'string', 'const char *', K),
      f('stdin_type', 'uint16', 'umode_t', K),
      f('stdin_path', 'string', 'char *', K_OPT),
      f('invoked_from_kernel', 'bool', 'bool', K),
      f('prev_comm', 'string', 'const char *', K),
      f('env', '[]string', 'const char **', ['U', 'OPT']),
      f('pwd', 'string', 'const char *', K_OPT),
    ],
    probes: [tp('sched_process_exec')],
    related: ['execve', 'execveat', 'sched_process_fork', 'sched_process_exit'],
    notes: [
      'argv is read from the new program stack (mm->arg_start..arg_end, user memory) at the tracepoint, before the program runs, at most 4096 bytes (cut lists are marked truncated); env is not captured yet and stays empty.',
      'pathname, stdin_path and pwd are rebuilt from the dentry chain (at most 4096 bytes, 48 steps); dev is the kernel dev_t encoding (major << 20 | minor), ctime is in ns.',
      'interpreter_* (the ELF interpreter) needs a load_elf_phdrs kprobe and stays empty on this build; prev_comm is already replaced at this tracepoint; ktrail fills it from its process tree (the name before the exec).',
    ],
  },
  {
    id: 716,
    name: 'sched_process_exit',
    version: '1.0.0',
    kind: 'lifecycle',
    description: 'A thread exited; process_group_exit is true when it was the last thread of its process.',
    sets: ['proc', 'proc_life'],
    fields: [
      f('exit_code', 'int32', 'int', K),
      f('signal_code', 'int32', 'int', K),
      f('process_group_exit', 'bool', 'bool', K),
    ],
    probes: [tp('sched_process_exit')],
    related: ['exit', 'exit_group', 'sched_process_fork', 'sched_process_exec'],
  },
  {
    id: 762,
    name: 'do_init_module',
    version: '1.0.0',
    kind: 'module',
    description: 'The kernel ran the init function of a newly loaded module (kprobe on do_init_module).',
    sets: [],
    fields: [
      f('name', 'string', 'const char *', K, MOD_STR_MAX),
      f('version', 'string', 'const char *', K_OPT, MOD_STR_MAX),
      f('src_version', 'string', 'const char *', K_OPT, MOD_STR_MAX),
    ],
    probes: [
      { kind: 'kprobe', target: 'do_init_module', required: true, needs: 'CONFIG_KPROBES, CONFIG_MODULES' },
      {
        kind: 'kretprobe',
        target: 'do_init_module',
        required: true,
        needs: 'CONFIG_KPROBES, CONFIG_MODULES',
      },
    ],
    related: ['module_load', 'init_module', 'finit_module'],
    notes: [
      'Cancelled at start on kernels without kprobes or without module support, with a one-line reason.',
    ],
  },
  {
    id: 785,
    name: 'module_load',
    version: '1.0.0',
    kind: 'module',
    description:
      'A kernel module finished loading (tracepoint module:module_load); fields come from kernel memory.',
    sets: [],
    fields: [
      f('name', 'string', 'const char *', K, MOD_STR_MAX),
      f('version', 'string', 'const char *', K_OPT, MOD_STR_MAX),
      f('src_version', 'string', 'const char *', K_OPT, MOD_STR_MAX),
      f('pathname', 'string', 'const char *', K_OPT),
      f('dev', 'uint32', 'dev_t', K_OPT),
      f('inode', 'uint64', 'unsigned long', K_OPT),
      f('ctime', 'uint64', 'u64', K_OPT),
    ],
    probes: [{ kind: 'tracepoint', target: 'module:module_load', required: true, needs: MODULE_TP_NEEDS }],
    related: ['init_module', 'finit_module', 'do_init_module', 'module_free'],
    notes: ['pathname, dev, inode and ctime are filled only when the syscall in flight is finit_module.'],
  },
  {
    id: 786,
    name: 'module_free',
    version: '1.0.0',
    kind: 'module',
    description: 'A kernel module was freed after unloading (tracepoint module:module_free).',
    sets: [],
    fields: [
      f('name', 'string', 'const char *', K, MOD_STR_MAX),
      f('version', 'string', 'const char *', K_OPT, MOD_STR_MAX),
      f('src_version', 'string', 'const char *', K_OPT, MOD_STR_MAX),
    ],
    probes: [{ kind: 'tracepoint', target: 'module:module_free', required: true, needs: MODULE_TP_NEEDS }],
    related: ['delete_module', 'module_load'],
  },
  {
    id: 5005,
    name: 'heartbeat_event',
    version: '1.0.0',
    kind: 'signal',
    description:
      "ktrail's own liveness signal: a marker call the tracer makes every second, answered by the kernel program.",
    sets: ['default'],
    fields: [],
    probes: [{ kind: 'raw_tracepoint', target: 'sys_enter', required: true }],
    related: [],
    notes: [
      'ktrail calls kill(KT_HB_TAG << 16 | flags, 0), a call that never reaches a process (no pid is that large); sys_enter recognises it from ktrail itself and emits a record with no fields. Its arrival through the ring and the pipeline backs /healthz (docs/operations.md) and marks the point where a reloaded policy set takes over.',
      'As in Tracee the event is in the default set but internal: it is printed only when named (-e heartbeat_event or a policy rule), and then takes a seq like any printed event.',
    ],
  },
];

const cgroupFields = (): FieldSpec[] => [
  f('cgroup_id', 'uint64', 'u64', K),
  f('cgroup_path', 'string', 'const char *', K),
  f('hierarchy_id', 'uint32', 'u32', K),
];

/** Fields of container_create and existing_container (Tracee's order). */
const containerFields = (): FieldSpec[] => [
  f('runtime', 'string', 'const char *', K),
  f('container_id', 'string', 'const char *', K),
  f('ctime', 'uint64', 'u64', K),
  f('container_image', 'string', 'const char *', K_OPT),
  f('container_image_digest', 'string', 'const char *', K_OPT),
  f('container_name', 'string', 'const char *', K_OPT),
  f('pod_name', 'string', 'const char *', K_OPT),
  f('pod_namespace', 'string', 'const char *', K_OPT),
  f('pod_uid', 'string', 'const char *', K_OPT),
  f('pod_sandbox', 'bool', 'bool', K_OPT),
];

const RUNTIME_NOTE =
  'container_image, container_image_digest, container_name and the pod_* fields come from the container ' +
  "runtime's socket (docker, podman, containerd, cri-o; --containers); they stay empty when no runtime " +
  'answers in time, and ktrail counts those. ctime is when the cgroup directory was made (ns since the epoch).';

const CGROUP_AND_CONTAINERS: readonly EventSpec[] = [
  {
    id: 729,
    name: 'cgroup_mkdir',
    version: '1.0.0',
    kind: 'lifecycle',
    description: 'A cgroup directory was made, in any hierarchy (hierarchy_id 0 is cgroup v2).',
    sets: [],
    fields: cgroupFields(),
    probes: [tp('cgroup_mkdir')],
    related: ['cgroup_rmdir', 'container_create'],
    notes: ['Sent by the task that made the directory (a container runtime, systemd, ...).'],
  },
  {
    id: 730,
    name: 'cgroup_rmdir',
    version: '1.0.0',
    kind: 'lifecycle',
    description: 'A cgroup directory was removed, in any hierarchy.',
    sets: [],
    fields: cgroupFields(),
    probes: [tp('cgroup_rmdir')],
    related: ['cgroup_mkdir', 'container_remove'],
  },
  {
    id: 2018,
    name: 'container_create',
    version: '1.0.0',
    kind: 'container',
    description: "A container's cgroup was made: a new container, with its runtime's metadata.",
    sets: ['default', 'containers'],
    fields: containerFields(),
    probes: [tp('cgroup_mkdir')],
    related: ['cgroup_mkdir', 'container_remove', 'existing_container'],
    notes: [
      'Derived from cgroup_mkdir of a container root cgroup (docker, containerd, cri-o, podman paths) in the ' +
        'hierarchy ktrail keys containers on: cgroup v2 when it is mounted, else the first v1 hierarchy.',
      RUNTIME_NOTE,
    ],
  },
  {
    id: 2019,
    name: 'container_remove',
    version: '1.0.0',
    kind: 'container',
    description: "A container's cgroup was removed: the container is gone.",
    sets: ['default', 'containers'],
    fields: [f('runtime', 'string', 'const char *', K), f('container_id', 'string', 'const char *', K)],
    probes: [tp('cgroup_rmdir')],
    related: ['cgroup_rmdir', 'container_create'],
    notes: ['Derived from cgroup_rmdir of a container root cgroup.'],
  },
  {
    id: 2020,
    name: 'existing_container',
    version: '1.0.0',
    kind: 'container',
    description: 'A container that was running when ktrail started, one event each at start.',
    sets: ['containers'],
    fields: containerFields(),
    probes: [],
    related: ['container_create'],
    notes: [
      "Found by walking the cgroup hierarchy at start; the event's process fields are ktrail's own.",
      RUNTIME_NOTE,
    ],
  },
];

/**
 * Every hand-written event: lifecycle, module, cgroup and container events, the kernel events
 * (src/catalog/kernel-events.ts) and the network events (src/catalog/net-events.ts).
 */
export const EVENTS: readonly EventSpec[] = [
  ...LIFECYCLE_AND_MODULES,
  ...CGROUP_AND_CONTAINERS,
  ...KERNEL_EVENTS,
  ...NET_EVENTS,
];
