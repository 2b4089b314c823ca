/**
 * The enricher the live command runs on every decoded batch: the process tree (executable paths, parents,
 * ancestry, `follow`) and containers (containerId from the cgroup). For every decoded record, in arrival
 * order: observe(ev) (lifecycle records, internal ones included, update the tree); then, unless
 * `ev.internal`, enrich(ev) and format it. Interleaving matters: a later exec in the same batch must not
 * rename an earlier record's executable.
 *
 * Concurrency: main thread only. Lifetime: create once per capture, close() when the capture closes.
 */
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { EventArg, TraceEvent } from '../decode/event.js';
import { type ContainerInfo, ContainerResolver } from './container.js';
import { type Ancestor, type ProcessInfo, ProcessTree } from './process-tree.js';

export type { Ancestor, ContainerInfo, ProcessInfo };
export { ContainerResolver, ProcessTree };

export interface EnricherOptions {
  /** CLOCK_REALTIME - CLOCK_BOOTTIME in ns (the decoder's bootToEpochNs), for /proc start times. */
  readonly bootToEpochNs?: bigint;
  /** Seed the tree from /proc at creation (default true). */
  readonly seed?: boolean;
  /** Tree bound (default 32768) and grace period for exited processes (default 5000 ms). */
  readonly treeSize?: number;
  readonly graceMs?: number;
  /** Resolve containers (default true). */
  readonly containers?: boolean;
  readonly procRoot?: string;
  /** The cgroup2 mount (default: from /proc/self/mountinfo; null: none). */
  readonly cgroupRoot?: string | null;
  readonly now?: () => number;
}

export interface Enricher {
  readonly tree: ProcessTree;
  readonly containers: ContainerResolver | undefined;
  /** Feed every decoded record, internal ones included, in arrival order. */
  observe(ev: TraceEvent): void;
  /**
   * Fill executablePath, confirm parentProcessId, set containerId ('' on the host) and `isolated` (mount and
   * pid namespaces both not the host's).
   */
  enrich(ev: TraceEvent): void;
  /** The container of a record, or undefined on the host. */
  container(ev: TraceEvent): ContainerInfo | undefined;
  close(): void;
}

function fillPrevComm(ev: TraceEvent, tree: ProcessTree): void {
  const i = ev.args.findIndex((a) => a.name === 'prev_comm');
  const arg = ev.args[i];
  if (arg === undefined || arg.value !== '') return;
  const before = tree.get(ev.hostProcessId)?.comm;
  if (before) (ev.args as EventArg[])[i] = { ...arg, value: before };
}

/**
 * The host's mount and pid namespace inode numbers: those of pid 1, or ktrail's own when pid 1's cannot be
 * read (some machines refuse even root), or undefined when neither can.
 */
export function hostNamespaces(procRoot: string): { mnt: number; pid: number } | undefined {
  const inode = (pid: string, kind: string): number | undefined => {
    try {
      const m = /^\w+:\[(\d+)\]$/.exec(readlinkSync(join(procRoot, pid, 'ns', kind)));
      return m === null ? undefined : Number(m[1]);
    } catch {
      return undefined;
    }
  };
  for (const pid of ['1', 'self']) {
    const mnt = inode(pid, 'mnt');
    const ns = inode(pid, 'pid');
    if (mnt !== undefined && ns !== undefined) return { mnt, pid: ns };
  }
  return undefined;
}

/** Seeds the tree (unless `seed: false`) and returns the enricher. */
export function createEnricher(opts: EnricherOptions = {}): Enricher {
  const tree = new ProcessTree({
    maxEntries: opts.treeSize,
    graceMs: opts.graceMs,
    bootToEpochNs: opts.bootToEpochNs,
    procRoot: opts.procRoot,
    now: opts.now,
  });
  if (opts.seed ?? true) tree.seedFromProc();
  const containers =
    (opts.containers ?? true)
      ? new ContainerResolver({ procRoot: opts.procRoot, cgroupRoot: opts.cgroupRoot, now: opts.now })
      : undefined;
  containers?.rescan();
  const hostNs = hostNamespaces(opts.procRoot ?? '/proc');

  return {
    tree,
    containers,
    observe(ev) {
      // The kernel has already renamed the task when sched_process_exec fires, so prev_comm arrives empty;
      // the tree still holds the name from before the exec (`nginx` for a worker that runs a shell).
      if (ev.spec.name === 'sched_process_exec') fillPrevComm(ev, tree);
      tree.observe(ev);
      // A new image or an ended group may mean a new cgroup, or a reused pid.
      if (ev.spec.name === 'sched_process_exec' || ev.spec.name === 'sched_process_exit')
        containers?.forgetPid(ev.hostProcessId);
    },
    enrich(ev) {
      tree.enrich(ev);
      if (containers !== undefined)
        ev.containerId = containers.resolve(ev.cgroupId, ev.hostProcessId)?.id ?? '';
      if (hostNs !== undefined)
        ev.isolated = ev.mountNamespace !== hostNs.mnt && ev.pidNamespace !== hostNs.pid;
    },
    container(ev) {
      return containers?.resolve(ev.cgroupId, ev.hostProcessId);
    },
    close() {
      // Nothing is held open: the maps are dropped with the object.
    },
  };
}
