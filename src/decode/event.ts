import type { EventSpec, TraceeType } from '../catalog/types.js';

/** A decoded socket address, keyed as Tracee prints it (all values are strings). */
export type SockAddrValue = Readonly<Record<string, string>>;

/**
 * A structured value built in userspace (Tracee's trace.PktMeta, trace.ProtoDNS, ...): an object whose keys
 * are Tracee's JSON keys in Tracee's order. Go structs are marked with GO_STRUCT (see goStruct), so that the
 * table prints them as Go's %v does ({a b}); unmarked objects print as maps (map[k:v]), like SockAddr.
 */
export type StructValue = { readonly [key: string]: StructField };
export type StructField = number | bigint | string | boolean | null | StructValue | readonly StructField[];

export type ArgValue =
  | number
  | bigint
  | string
  | boolean
  | readonly string[]
  | readonly number[]
  | SockAddrValue
  | StructValue
  | readonly StructValue[]
  | Uint8Array
  | null;

/** The mark of a Go struct value (non-enumerable: JSON output never shows it). */
export const GO_STRUCT: unique symbol = Symbol('ktrail.goStruct');

/** `o`, marked as a Go struct (GO_STRUCT); returns the same object. */
export function goStruct<T extends object>(o: T): T {
  Object.defineProperty(o, GO_STRUCT, { value: true, enumerable: false });
  return o;
}

/** True when `v` was marked with goStruct. */
export function isGoStruct(v: unknown): boolean {
  return typeof v === 'object' && v !== null && (v as { [GO_STRUCT]?: boolean })[GO_STRUCT] === true;
}

/** Why a user-memory argument has no (complete) value. */
export type ArgProblem = 'null' | 'fault' | 'truncated';

export interface EventArg {
  readonly name: string;
  readonly type: TraceeType;
  readonly value: ArgValue;
  /** Set when the value could not be read whole; the value is then empty (or cut, for `truncated`). */
  readonly problem?: ArgProblem;
}

/**
 * One decoded event. Field names and meanings follow Tracee's classic `trace.Event` (COMPAT.md 2); the
 * nanosecond clocks and 64-bit ids stay bigint so that JSON output is exact.
 */
export interface TraceEvent {
  readonly spec: EventSpec;
  /** Event time, ns since the epoch. */
  readonly timestamp: bigint;
  /** Thread start time, ns since the epoch. */
  readonly threadStartTime: bigint;
  readonly processorId: number;
  readonly processId: number;
  readonly cgroupId: bigint;
  readonly threadId: number;
  parentProcessId: number;
  readonly hostProcessId: number;
  readonly hostThreadId: number;
  readonly hostParentProcessId: number;
  readonly userId: number;
  readonly groupId: number;
  readonly mountNamespace: number;
  readonly pidNamespace: number;
  readonly processName: string;
  executablePath: string;
  readonly hostName: string;
  containerId: string;
  /** The syscall result (-errno on failure); 0 for events emitted at entry. */
  readonly returnValue: number | bigint;
  /** Name of the syscall in flight, '' when none. */
  readonly syscall: string;
  readonly isCompat: boolean;
  /** True when the record was emitted at syscall entry (no return value, no duration). */
  readonly atEntry: boolean;
  readonly args: readonly EventArg[];
  /** Kernel-assigned per-run sequence number (ktrail addition). */
  readonly seq: bigint;
  /** Syscall entry to exit in ns; undefined for events emitted at entry (ktrail addition). */
  readonly durationNs: bigint | undefined;
  /** Bitmap of the policies that matched, bit i = policy i. */
  matched: bigint;
  /** Start of the thread group leader, ns since the epoch (processEntityId); undefined in old fixtures. */
  readonly leaderStartTime?: bigint;
  /** Start of the parent process's leader, ns since the epoch (parentEntityId); undefined in old fixtures. */
  readonly parentStartTime?: bigint;
  /**
   * True for a lifecycle record the user did not select: emitted only to keep the process tree current
   * (KT_F_INTERNAL). Consumers feed it to the enricher and never print it.
   */
  readonly internal?: boolean;
  /**
   * False when the syscall's entry was never seen (denied by seccomp before the sys_enter tracepoint,
   * skipped by a tracer, or in flight when ktrail started): arguments come from the registers at exit and
   * there is no duration. Absent otherwise.
   */
  readonly entrySeen?: false;
  /**
   * True when the process runs in a mount namespace and a pid namespace that are both not the host's (set by
   * the enricher, which knows the host's); rules count it as container origin. Absent when unknown.
   */
  isolated?: boolean;
  /**
   * sched_process_exec only: the process's mount namespace is not its parent's (KT_F_NEW_MNTNS): a
   * container runtime's init handing over to the container's first program. Absent otherwise.
   */
  readonly newMountNs?: true;
  /** The container's runtime metadata, when its runtime answered (src/containers). Absent otherwise. */
  container?: ContainerFacts;
  /** The event's container has started (or was running when ktrail started): Tracee's containerStarted. */
  containerStarted?: boolean;
}

/** What a container runtime says about a container (the JSON `container` and `kubernetes` objects). */
export interface ContainerFacts {
  readonly name: string;
  readonly image: string;
  readonly imageDigest: string;
  readonly podName: string;
  readonly podNamespace: string;
  readonly podUid: string;
  readonly podSandbox: boolean;
}

/**
 * The argument named `name`, or undefined when the event has none. `hint` is the index where the field usually
 * is (its position in the catalog), checked first.
 */
export function findArg(ev: TraceEvent, name: string, hint?: number): EventArg | undefined {
  if (hint !== undefined && ev.args[hint]?.name === name) return ev.args[hint];
  for (const a of ev.args) if (a.name === name) return a;
  return undefined;
}

/** The value of the argument named `name`; undefined when there is none or reading it faulted. */
export function argValue(ev: TraceEvent, name: string): ArgValue | undefined {
  const a = findArg(ev, name);
  return a === undefined || a.problem === 'fault' ? undefined : a.value;
}
