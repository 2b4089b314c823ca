/**
 * The shape of ktrail's event catalog. The catalog is data: every other layer (the BPF configuration, the
 * decoder, the outputs, `list` and `man`) reads these values and never keeps its own copy of a fact.
 */

/** Per-field provenance tags (COMPAT.md 1.5). */
export type ArgTag = 'K' | 'U' | 'TOCTOU' | 'OPT';

/** Tracee v0.24 type names, printed in `args[].type` and `ktrail list`. */
export type TraceeType =
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'uint16'
  | 'uint8'
  | 'string'
  | '[]string'
  | '[]byte'
  | 'bool'
  | 'float64'
  | 'trace.Pointer'
  | 'SockAddr'
  | 'time.Time'
  | 'trace.SlimCred'
  | '[2]int'
  | '[]uint64'
  | NetType
  | 'unknown';

/**
 * Tracee's network value types (types/trace/network_trace.go): objects with Tracee's JSON keys, built in
 * userspace from a packet's bytes (src/net).
 */
export type NetType =
  | 'trace.PacketMetadata'
  | 'trace.PktMeta'
  | 'trace.ProtoIPv4'
  | 'trace.ProtoIPv6'
  | 'trace.ProtoTCP'
  | 'trace.ProtoUDP'
  | 'trace.ProtoICMP'
  | 'trace.ProtoICMPv6'
  | 'trace.ProtoDNS'
  | '[]trace.DnsQueryData'
  | '[]trace.DnsResponseData'
  | 'trace.ProtoHTTP'
  | 'trace.ProtoHTTPRequest'
  | 'trace.ProtoHTTPResponse';

/**
 * How a field travels on the wire (bpf/include/wire.h, `enum arg_kind`):
 * - `reg`: the raw 64-bit syscall argument register; `type` says how to narrow it (int32 truncates and
 *   sign-extends, uint32 truncates, trace.Pointer stays unsigned 64-bit).
 * - `str`: a NUL-terminated user string, at most `max` bytes.
 * - `str_arr`: a NULL-terminated array of user string pointers (argv, envp), at most `max` bytes in all.
 * - `sockaddr`: a user `struct sockaddr`; its length comes from argument `lenArg` when set.
 * - `buf`: user bytes; the count comes from argument `lenArg` (a value) and is capped at `max`.
 * - `struct`: a fixed-size user struct of `size` bytes, decoded by the named `layout`.
 * - `int_ptr`: a user `int[2]` or single int behind a pointer (pipe fds), read at exit.
 * - `none`: never on the wire; the field is built in userspace (the events derived from packets).
 */
export type DecodeSpec =
  | { wire: 'reg' }
  | { wire: 'str'; max: number }
  | { wire: 'str_arr'; max: number }
  | { wire: 'sockaddr'; lenArg?: number }
  | { wire: 'buf'; lenArg: number; max: number }
  | { wire: 'struct'; size: number; layout: StructLayout }
  | { wire: 'int_ptr'; count: 1 | 2 }
  | { wire: 'none' };

export type StructLayout = 'timespec' | 'timeval' | 'itimerspec' | 'rlimit' | 'raw';

export interface FieldSpec {
  /** Field name, as in Tracee (`name`, `flags`, `pathname`). */
  readonly name: string;
  /** C type from the kernel prototype (`const char *`, `unsigned int`). */
  readonly cType: string;
  /** Tracee v0.24 type name. */
  readonly type: TraceeType;
  readonly decode: DecodeSpec;
  readonly tags: readonly ArgTag[];
  /** Name of a value table in src/catalog/values (flags or enum) that renders this field, if any. */
  readonly values?: string;
}

/** A kernel hook an event needs. `required: false` marks an optional enrichment probe. */
export interface ProbeSpec {
  readonly kind:
    | 'raw_tracepoint'
    | 'tp_btf'
    | 'tracepoint'
    | 'kprobe'
    | 'kretprobe'
    | 'fentry'
    | 'lsm'
    | 'cgroup_skb'
    | 'cgroup_sock';
  /** `sys_enter`, `sched_process_exec`, `module:module_load`, `do_init_module`. */
  readonly target: string;
  readonly required: boolean;
  /** Kernel config or capability the hook depends on (`CONFIG_MODULES`), for the one-line reason. */
  readonly needs?: string;
}

/** One documented error return (for `ktrail man`). */
export interface ErrorDoc {
  readonly errno: string;
  readonly when: string;
}

/**
 * syscall: a syscall's record; lifecycle: a tracepoint outside syscalls (sched, cgroup); module, security:
 * kernel-side events; container: derived in userspace from cgroup records and the runtimes (src/containers);
 * network: derived in userspace from packet records or from security_socket_connect (src/net); detection: a
 * rule's finding.
 */
export type EventKind =
  | 'syscall'
  | 'lifecycle'
  | 'module'
  | 'security'
  | 'container'
  | 'signal'
  | 'network'
  | 'detection';

export interface EventSpec {
  /** Tracee's internal id: the x86_64 syscall number for syscalls, 700+ for common events. */
  readonly id: number;
  /** The one snake_case name used everywhere. */
  readonly name: string;
  /** Semver of the event's definition (bumped when fields change). */
  readonly version: string;
  readonly kind: EventKind;
  readonly description: string;
  /** Tracee set names (tags), in Tracee's order. */
  readonly sets: readonly string[];
  /** Fields in definition order. Syscall events end with `returnValue` (int64, K). */
  readonly fields: readonly FieldSpec[];
  readonly probes: readonly ProbeSpec[];
  /** Syscall facts; absent for non-syscall events. */
  readonly syscall?: SyscallFacts;
  /** Kernel event facts (kind `security`): what the BPF side builds around which syscalls. */
  readonly kernel?: KernelEventFacts;
  /** Packet facts (kind `network`, from packets): the packet classes the kernel must report for it. */
  readonly packet?: PacketFacts;
  /**
   * For events built in userspace from other records (kind `network`): the names of the events whose records
   * they come from; a trace captures those whenever such an event is wanted.
   */
  readonly derivedFrom?: readonly string[];
  /**
   * A record type of the kernel that is never shown or selected (net_packet_base): known by id to the
   * decoder, absent from `catalog`, `list`, `man` and the selection.
   */
  readonly internal?: true;
  readonly errors?: readonly ErrorDoc[];
  readonly related?: readonly string[];
  /** Free-form notes for `ktrail man` (one paragraph each). */
  readonly notes?: readonly string[];
}

export interface SyscallFacts {
  /** x86_64 syscall number (== id). */
  readonly nr: number;
  /** i386 syscall numbers that map onto this event (`isCompat`), if any. */
  readonly compatNrs: readonly number[];
  /**
   * When the record is emitted: `exit` (pointer args read at exit, return value known), `entry_exit` (args
   * read at entry because they are gone at exit, record emitted at exit: execve, execveat), `entry` (the call
   * never returns: exit, exit_group).
   */
  readonly emit: 'exit' | 'entry_exit' | 'entry';
}

/** The kernel event kinds of the BPF object (`enum kt_kevent` in bpf/include/wire.h, without KT_KE_). */
export type KernelEventKind =
  | 'FILE_OPEN'
  | 'INODE_UNLINK'
  | 'INODE_RENAME'
  | 'SOCK_CONNECT'
  | 'SOCK_BIND'
  | 'SOCK_ACCEPT'
  | 'SOCK_LISTEN'
  | 'SB_MOUNT'
  | 'SB_UMOUNT'
  | 'FILE_MPROTECT'
  | 'MEM_PROT_ALERT'
  | 'MAGIC_WRITE';

/**
 * One syscall a kernel event is built around, and where that syscall keeps the caller's paths: argument
 * indexes of the path and of the dirfd it is relative to (absent: the cwd), and of a second path (rename).
 */
export interface KernelEventSource {
  readonly syscall: string;
  readonly path?: number;
  readonly dirfd?: number;
  readonly path2?: number;
  readonly dirfd2?: number;
  /** Built at the syscall's entry (the state before it: mprotect's mapping), not at its exit. */
  readonly atEntry?: boolean;
}

export interface KernelEventFacts {
  readonly kind: KernelEventKind;
  readonly sources: readonly KernelEventSource[];
}

/** Packet classes of the BPF object (`enum kt_net_class` in bpf/include/common/net.h, without KT_NET_). */
export type PacketClass = 'IPV4' | 'IPV6' | 'TCP' | 'UDP' | 'ICMP' | 'ICMPV6' | 'DNS' | 'HTTP';

export interface PacketFacts {
  /** The event needs packets of any of these classes. */
  readonly classes: readonly PacketClass[];
}

/** A flag table (bits joined with `|`) or an enum table (one value). Values are constants, not lookups. */
export interface ValueTable {
  readonly name: string;
  readonly kind: 'flags' | 'enum';
  readonly entries: readonly ValueEntry[];
  /**
   * For `flags` tables whose low bits form an enum (open's O_ACCMODE): the mask of that enum part; its
   * entries have `inMask: true` and are matched by equality inside the mask.
   */
  readonly enumMask?: number;
}

export interface ValueEntry {
  readonly name: string;
  readonly value: number;
  /** One line for `ktrail man`. */
  readonly meaning?: string;
  readonly inMask?: boolean;
}
