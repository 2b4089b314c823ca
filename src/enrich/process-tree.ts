/**
 * The process tree: host pid -> {ppid, comm, exe, start}, seeded from /proc at start and kept current from
 * the lifecycle records (sched_process_fork/exec/exit, selected or KT_F_INTERNAL). Memory is bounded: at
 * most `maxEntries` processes (default 32768), least recently used evicted first; an exited process stays
 * `graceMs` (default 5000 ms) so that records read late from the ring still resolve, then goes.
 *
 * Concurrency: single-threaded (main thread). Errors: reading /proc never throws; a process that vanished
 * while being read is skipped.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { type ArgValue, argValue, type TraceEvent } from '../decode/event.js';

const DEFAULT_TREE_SIZE = 32768;
const DEFAULT_GRACE_MS = 5000;
/** observe() reads the clock for the sweep once per this many records. */
const SWEEP_CHECK = 64;

/** One process (thread group) as the tree knows it. */
export interface ProcessInfo {
  /** Host tgid. */
  readonly pid: number;
  /** Host tgid of the parent; 0 when unknown. */
  ppid: number;
  /** comm, at most 15 chars. */
  comm: string;
  /** Path of the executable, '' when unknown (kernel threads). */
  exe: string;
  /** Leader start, ns since the epoch; 0n when unknown. */
  startTime: bigint;
  /** When the whole group exited (tree clock, ms); undefined while alive. */
  exitedAt: number | undefined;
}

/** An ancestor as printed by `option:ancestry`. */
export interface Ancestor {
  readonly pid: number;
  readonly comm: string;
  readonly exe: string;
}

export interface ProcessTreeOptions {
  /** Most processes kept (LRU); default 32768. */
  readonly maxEntries?: number;
  /** How long an exited process stays resolvable, ms; default 5000. */
  readonly graceMs?: number;
  /** Adds to a boot-clock ns value to give epoch ns (for /proc start times); default 0n. */
  readonly bootToEpochNs?: bigint;
  /** The proc mount; default /proc. */
  readonly procRoot?: string;
  /** Clock in ms; default Date.now (tests inject one). */
  readonly now?: () => number;
  /** Read /proc/<pid> for a pid first seen in a record (exe, comm); default true. */
  readonly lookupMisses?: boolean;
}

/** USER_HZ: /proc/<pid>/stat start times count these since boot (100 on every mainstream architecture). */
const CLK_TCK = 100n;

function num(v: ArgValue | undefined): number {
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : 0;
}

function big(v: ArgValue | undefined): bigint {
  return typeof v === 'bigint' ? v : typeof v === 'number' ? BigInt(v) : 0n;
}

/** Parses /proc/<pid>/stat: comm (may hold spaces and parentheses), ppid, start time in clock ticks. */
export function parseProcStat(text: string): { comm: string; ppid: number; startTicks: bigint } | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const rest = text
    .slice(close + 2)
    .trim()
    .split(' ');
  // rest[0] is field 3 (state); ppid is field 4, starttime field 22.
  const ppid = Number(rest[1]);
  const start = rest[19];
  if (!Number.isInteger(ppid) || start === undefined || !/^\d+$/.test(start)) return undefined;
  return { comm: text.slice(open + 1, close), ppid, startTicks: BigInt(start) };
}

export class ProcessTree {
  readonly #max: number;
  readonly #grace: number;
  readonly #boot: bigint;
  readonly #proc: string;
  readonly #now: () => number;
  readonly #lookup: boolean;
  /** Insertion order = recency order: the first key is the least recently used. */
  readonly #map = new Map<number, ProcessInfo>();
  /** The pid last in insertion order (-1: unknown): touching it again needs no reordering. */
  #mru = -1;
  #lastSweep = 0;
  /** Records observed since the clock was last read for the sweep. */
  #sinceClock = 0;

  constructor(opts: ProcessTreeOptions = {}) {
    this.#max = opts.maxEntries ?? DEFAULT_TREE_SIZE;
    this.#grace = opts.graceMs ?? DEFAULT_GRACE_MS;
    this.#boot = opts.bootToEpochNs ?? 0n;
    this.#proc = opts.procRoot ?? '/proc';
    this.#now = opts.now ?? Date.now;
    this.#lookup = opts.lookupMisses ?? true;
    if (!Number.isInteger(this.#max) || this.#max < 1) {
      throw new RangeError(`sizing the process tree: ${this.#max} is not a positive integer`);
    }
  }

  /** Processes currently kept (alive and within their grace period). */
  get size(): number {
    return this.#map.size;
  }

  /**
   * Adds every process under the proc root (pid, ppid, comm, exe via readlink, start time). Returns how
   * many were added. Processes that end while being read are skipped.
   */
  seedFromProc(): number {
    let added = 0;
    let entries: string[];
    try {
      entries = readdirSync(this.#proc);
    } catch {
      return 0;
    }
    for (const name of entries) {
      if (!/^\d+$/.test(name)) continue;
      const info = this.#readProc(Number(name));
      if (info === undefined) continue;
      this.#put(info);
      added++;
    }
    return added;
  }

  #readProc(pid: number): ProcessInfo | undefined {
    let stat: ReturnType<typeof parseProcStat>;
    try {
      stat = parseProcStat(readFileSync(join(this.#proc, String(pid), 'stat'), 'utf8'));
    } catch {
      return undefined;
    }
    if (stat === undefined) return undefined;
    let exe = '';
    try {
      exe = readlinkSync(join(this.#proc, String(pid), 'exe'));
    } catch {
      // kernel thread, or no permission: unknown
    }
    return {
      pid,
      ppid: stat.ppid,
      comm: stat.comm,
      exe,
      startTime: stat.startTicks * (1_000_000_000n / CLK_TCK) + this.#boot,
      exitedAt: undefined,
    };
  }

  /** Inserts or replaces `info` as the most recently used entry, evicting the least recent beyond the bound. */
  #put(info: ProcessInfo): void {
    this.#map.delete(info.pid);
    this.#map.set(info.pid, info);
    this.#mru = info.pid;
    while (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next().value;
      if (oldest === undefined) break;
      this.#map.delete(oldest);
      if (oldest === this.#mru) this.#mru = -1;
    }
  }

  /** Adds or replaces a process (tests, seeding from other sources). */
  upsert(info: Omit<ProcessInfo, 'exitedAt'> & { exitedAt?: number }): void {
    this.#put({ ...info, exitedAt: info.exitedAt });
  }

  /** The process, or undefined when unknown or past its grace period. Marks it recently used. */
  get(pid: number): ProcessInfo | undefined {
    const p = this.#map.get(pid);
    if (p === undefined) return undefined;
    if (p.exitedAt !== undefined && this.#now() - p.exitedAt > this.#grace) {
      this.#map.delete(pid);
      if (pid === this.#mru) this.#mru = -1;
      return undefined;
    }
    // Re-inserting moves it last; the most recent entry is already there (a storm from one process).
    if (pid !== this.#mru) {
      this.#map.delete(pid);
      this.#map.set(pid, p);
      this.#mru = pid;
    }
    return p;
  }

  /** Drops exited processes past their grace period (called from observe at most once per grace period). */
  sweep(): void {
    const now = this.#now();
    this.#lastSweep = now;
    for (const [pid, p] of this.#map) {
      if (p.exitedAt !== undefined && now - p.exitedAt > this.#grace) {
        this.#map.delete(pid);
        if (pid === this.#mru) this.#mru = -1;
      }
    }
  }

  /**
   * Updates the tree from one decoded record. Lifecycle records change it (fork adds the child, exec sets
   * exe and comm, a group exit starts the grace period); any other record adds its process when unknown.
   */
  observe(ev: TraceEvent): void {
    // The clock is read every SWEEP_CHECK records, not for each: a sweep only frees memory (lookups check
    // expiry themselves), and a storm of records would pay for a clock read each.
    if (++this.#sinceClock >= SWEEP_CHECK) {
      this.#sinceClock = 0;
      if (this.#now() - this.#lastSweep > this.#grace) this.sweep();
    }
    switch (ev.spec.name) {
      case 'sched_process_fork': {
        const child = num(argValue(ev, 'child_pid'));
        if (child === 0 || num(argValue(ev, 'child_tid')) !== child) return; // a new thread: same process
        const parent = this.get(ev.hostProcessId);
        this.#put({
          pid: child,
          ppid: num(argValue(ev, 'parent_process_pid')) || ev.hostProcessId,
          comm: ev.processName,
          exe: parent?.exe ?? '',
          startTime: big(argValue(ev, 'start_time')),
          exitedAt: undefined,
        });
        return;
      }
      case 'sched_process_exec': {
        const p = this.get(ev.hostProcessId);
        const pathname = argValue(ev, 'pathname');
        this.#put({
          pid: ev.hostProcessId,
          ppid: ev.hostParentProcessId,
          comm: ev.processName,
          exe: typeof pathname === 'string' && pathname !== '' ? pathname : (p?.exe ?? ''),
          startTime: ev.leaderStartTime ?? p?.startTime ?? 0n,
          exitedAt: undefined,
        });
        return;
      }
      case 'sched_process_exit': {
        if (argValue(ev, 'process_group_exit') !== true) return;
        const p = this.#map.get(ev.hostProcessId);
        if (p !== undefined) p.exitedAt = this.#now();
        return;
      }
      default:
        this.#learn(ev);
    }
  }

  /** Adds the record's process when unknown; follows a reparenting the kernel reports. */
  #learn(ev: TraceEvent): ProcessInfo {
    const p = this.get(ev.hostProcessId);
    if (p !== undefined) {
      if (ev.hostParentProcessId !== 0 && p.ppid !== ev.hostParentProcessId && p.exitedAt === undefined)
        p.ppid = ev.hostParentProcessId;
      return p;
    }
    const fromProc = this.#lookup ? this.#readProc(ev.hostProcessId) : undefined;
    const info: ProcessInfo = {
      pid: ev.hostProcessId,
      ppid: ev.hostParentProcessId,
      comm: ev.processName,
      exe: fromProc?.exe ?? '',
      startTime: ev.leaderStartTime ?? fromProc?.startTime ?? 0n,
      exitedAt: undefined,
    };
    this.#put(info);
    return info;
  }

  /**
   * Fills `executablePath` from the tree and confirms `parentProcessId`: the kernel's value is kept; when the
   * record has none (0) and the process lives in the initial pid namespace, the tree's parent is used.
   */
  enrich(ev: TraceEvent): void {
    const p = this.#learn(ev);
    if (ev.executablePath === '') ev.executablePath = p.exe;
    if (ev.parentProcessId === 0 && ev.processId === ev.hostProcessId && p.ppid !== 0)
      ev.parentProcessId = p.ppid;
  }

  /** The ancestors of `hostPid`, parent first, at most `depth` of them; stops at an unknown pid or pid 0. */
  ancestry(hostPid: number, depth: number): Ancestor[] {
    const out: Ancestor[] = [];
    const seen = new Set<number>([hostPid]);
    let cur = this.get(hostPid);
    while (cur !== undefined && out.length < depth) {
      const ppid = cur.ppid;
      if (ppid === 0 || seen.has(ppid)) break;
      seen.add(ppid);
      const parent = this.get(ppid);
      if (parent === undefined) break;
      out.push({ pid: parent.pid, comm: parent.comm, exe: parent.exe });
      cur = parent;
    }
    return out;
  }

  /**
   * True when `hostPid` itself or one of its ancestors satisfies `predicate` (the `follow` scope: a
   * process and everything it started). Loops and unknown pids end the walk.
   */
  isDescendantOf(hostPid: number, predicate: (p: ProcessInfo) => boolean): boolean {
    const seen = new Set<number>();
    let cur = this.get(hostPid);
    while (cur !== undefined && !seen.has(cur.pid)) {
      if (predicate(cur)) return true;
      seen.add(cur.pid);
      if (cur.ppid === 0) return false;
      cur = this.get(cur.ppid);
    }
    return false;
  }
}
