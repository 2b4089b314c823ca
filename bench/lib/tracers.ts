/**
 * The configurations the benchmarks compare, behind one interface: start (attached and ready when the promise
 * resolves), stop (detached, exited). ktrail and bpftrace run as child processes the way a user runs them; the
 * empty-program floor is loaded into this process through the addon; auditd is driven by ./audit.ts.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Capture, type FastPaths, openCapture } from '../../src/capture/session.js';
import { eventByName } from '../../src/catalog/index.js';
import { loadNative, type NativeBpfObject } from '../../src/native/binding.js';
import { type Child, start, stop, waitFor } from './proc.js';

/** Where the repository's builds live, from dist/bench/lib. */
export const ROOT = resolve(import.meta.dirname, '..', '..', '..');
export const KTRAIL_MAIN = resolve(ROOT, 'dist', 'src', 'cli', 'main.js');
export const LOADGEN = resolve(ROOT, 'build', 'bench', 'loadgen');
export const EMPTY_OBJ = resolve(ROOT, 'build', 'bpf', 'bench_empty.bpf.o');
export const EMPTY_PROG = 'raw_tp__bench__empty';
export const EMPTY_EXIT_PROG = 'raw_tp__bench__empty_exit';
/** The minimal ring-buffer tracer (bench/minitrace.bpf.c) and its C consumer (bench/minitrace.c). */
export const MINI_OBJ = resolve(ROOT, 'build', 'bench', 'minitrace.bpf.o');
export const MINI_CONSUMER = resolve(ROOT, 'build', 'bench', 'minitrace');
/** ktrail's object with its fast-path switches in writable data (bench/Makefile). */
export const WRITABLE_FLAGS_OBJ = resolve(ROOT, 'build', 'bench', 'ktrail-writable-flags.bpf.o');
/** ktrail's main() under the V8 profiler (./prof-child.ts). */
export const PROF_CHILD = resolve(import.meta.dirname, 'prof-child.js');

/** What a tracer reported when it stopped. */
export interface StopReport {
  /** Events the tracer says it delivered (ktrail's summary), when it says. */
  readonly events?: number;
  /** Events it says it lost. */
  readonly lost?: number;
  readonly stderr?: string;
}

export interface Tracer {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<StopReport>;
  /** The traced process, for RSS. */
  pid(): number | undefined;
  /**
   * Total ns the tracer's BPF programs have run so far (kernel.bpf_stats_enabled must be 1), when the bench
   * can read it; a difference of two readings is the programs' cost over an interval.
   */
  bpfRunNs?(): number | undefined;
}

export const nothing: Tracer = {
  name: 'nothing attached',
  start: async () => {},
  stop: async () => ({}),
  pid: () => undefined,
};

/**
 * The empty raw_tp/sys_enter program: what any syscall tracer pays at least. With `exit`, an empty sys_exit
 * program too: what a tracer that pairs each call's entry with its exit pays at least.
 */
export function emptyProgram(exit = false): Tracer {
  let obj: NativeBpfObject | undefined;
  const progs = exit ? [EMPTY_PROG, EMPTY_EXIT_PROG] : [EMPTY_PROG];
  return {
    name: exit ? 'empty raw_tp programs on sys_enter and sys_exit' : 'empty raw_tp program (floor)',
    async start() {
      const o = new (loadNative().BpfObject)(EMPTY_OBJ);
      try {
        if (!exit) o.setAutoload(EMPTY_EXIT_PROG, false);
        o.load();
        for (const p of progs) o.attach(p);
      } catch (e) {
        o.close();
        throw e;
      }
      obj = o;
    },
    async stop() {
      obj?.close();
      obj = undefined;
      return {};
    },
    pid: () => undefined,
    bpfRunNs: () =>
      obj
        ?.programs()
        .filter((p) => progs.includes(p.name))
        .reduce((a, p) => a + (p.runTimeNs ?? 0), 0),
  };
}

/** Total run ns of the loaded programs whose name starts with `prefix` (bpftool; bpf_stats must be on). */
function bpftoolRunNs(prefix: string): number | undefined {
  const r = spawnSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) return undefined;
  try {
    const progs = JSON.parse(r.stdout) as { name?: string; run_time_ns?: number }[];
    const mine = progs.filter((p) => p.name?.startsWith(prefix));
    return mine.length === 0 ? undefined : mine.reduce((a, p) => a + (p.run_time_ns ?? 0), 0);
  } catch {
    return undefined;
  }
}

/**
 * ktrail's capture of `eventNames` (default delete_module) opened in this process (src/capture, as
 * `ktrail -e ...` opens it), with some kernel fast paths turned off; the consumer only counts the records.
 * Measures the kernel side alone, one lever at a time.
 */
export function ktrailCapture(
  name: string,
  fastPaths: FastPaths = {},
  eventNames: readonly string[] = ['delete_module'],
  objectPath?: string,
): Tracer {
  let cap: Capture | undefined;
  let records = 0;
  return {
    name,
    async start() {
      const events = eventNames.map((n) => {
        const spec = eventByName(n);
        if (spec === undefined) throw new Error(`the catalog has no ${n}`);
        return spec;
      });
      records = 0;
      cap = await openCapture({
        events,
        fastPaths,
        ...(objectPath === undefined ? {} : { objectPath }),
        onBatch: (b) => {
          for (let off = 0; off + 4 <= b.length; off += 4 + b.readUInt32LE(off)) records++;
        },
      });
    },
    async stop() {
      const c = cap;
      if (c === undefined) return {};
      cap = undefined;
      await c.close();
      return { events: records };
    },
    pid: () => undefined,
    bpfRunNs: () => cap?.programStats().reduce((a, p) => a + p.runTimeNs, 0),
  };
}

/**
 * The minimal ring-buffer tracer: a raw_tp/sys_enter program that tests the id, reserves a 96-byte record
 * with the module name in the ring (one wakeup per 256 KiB) and a C consumer that counts the records. The
 * yardstick of what a traced call must cost at least.
 */
export function minimalTracer(name = 'minimal ring-buffer tracer (C consumer)'): Tracer {
  let child: Child | undefined;
  return {
    name,
    async start() {
      const c = start(name, MINI_CONSUMER, [MINI_OBJ]);
      child = c;
      const ok = await waitFor(() => c.stderr.includes('ready\n'), 30_000, c);
      if (!ok) {
        await stop(c, 'SIGKILL');
        throw new Error(`starting ${name}: not ready: ${c.stderr.trim() || `exit ${c.exitCode}`}`);
      }
    },
    async stop() {
      const c = child;
      if (c === undefined) return {};
      child = undefined;
      await stop(c, 'SIGINT', 10_000);
      const m = /records=(\d+) lost=(\d+)/.exec(c.stderr);
      return m ? { events: Number(m[1]), lost: Number(m[2]), stderr: c.stderr } : { stderr: c.stderr };
    },
    pid: () => child?.pid,
    bpfRunNs: () => bpftoolRunNs('raw_tp__mini'),
  };
}

export interface KtrailOptions {
  readonly name: string;
  readonly args: readonly string[];
  /** Where ktrail's stdout goes: a file path (truncated), '/dev/null', or 'pipe'. */
  readonly stdout: string;
  /** The script node runs instead of ktrail's CLI entry (the profiling wrapper), and its leading arguments. */
  readonly main?: string;
  readonly mainArgs?: readonly string[];
}

/** ktrail as a child process; ready once it prints "tracing N events" (everything attached by then). */
export function ktrail(o: KtrailOptions): Tracer & { child(): Child | undefined } {
  let child: Child | undefined;
  return {
    name: o.name,
    async start() {
      let fd: number | undefined;
      if (o.stdout !== 'pipe') fd = openSync(o.stdout, 'w', 0o600);
      try {
        child = start(o.name, process.execPath, [o.main ?? KTRAIL_MAIN, ...(o.mainArgs ?? []), ...o.args], {
          stdio: ['ignore', fd ?? 'pipe', 'pipe'],
          collectStdout: false,
        });
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
      const c = child;
      if (o.stdout === 'pipe') c.proc.stdout?.resume();
      const ok = await waitFor(() => c.stderr.includes('ktrail: tracing'), 30_000, c);
      if (!ok) {
        await stop(c, 'SIGKILL');
        throw new Error(`starting ${o.name}: not ready: ${c.stderr.trim() || `exit ${c.exitCode}`}`);
      }
    },
    async stop() {
      const c = child;
      if (c === undefined) return {};
      child = undefined;
      await stop(c, 'SIGINT', 10_000);
      const m = /(\d+) events, (\d+) lost/.exec(c.stderr);
      return m ? { events: Number(m[1]), lost: Number(m[2]), stderr: c.stderr } : { stderr: c.stderr };
    },
    pid: () => child?.pid,
    child: () => child,
  };
}

/**
 * The bpftrace one-liner a user would write for the same data: raw_syscalls (tracefs has no
 * sys_enter_delete_module here), filter on the id, print the fields as a JSON-ish line. BEGIN runs after every
 * probe is attached, so its line marks "ready".
 */
export const BPFTRACE_SCRIPT = `BEGIN { printf("ready\\n"); }
tracepoint:raw_syscalls:sys_enter /args->id == 176/ {
  printf("{\\"ts\\":%llu,\\"pid\\":%d,\\"tid\\":%d,\\"comm\\":\\"%s\\",\\"name\\":\\"%s\\",\\"flags\\":%d}\\n",
    nsecs, pid, tid, comm, str(uptr(args->args[0])), args->args[1]);
}
`;

/** bpftrace with its stdout in `outFile`; stop() counts the lines and sums "Lost N events". */
export function bpftrace(name: string, scriptFile: string, outFile: string): Tracer {
  let child: Child | undefined;
  return {
    name,
    async start() {
      if (!existsSync(scriptFile)) writeFileSync(scriptFile, BPFTRACE_SCRIPT);
      const fd = openSync(outFile, 'w', 0o600);
      try {
        child = start(name, 'bpftrace', [scriptFile], { stdio: ['ignore', fd, 'pipe'] });
      } finally {
        closeSync(fd);
      }
      const c = child;
      const ok = await waitFor(() => readFileSync(outFile, 'latin1').includes('ready\n'), 60_000, c, 20);
      if (!ok) {
        await stop(c, 'SIGKILL');
        throw new Error(`starting bpftrace: not ready: ${c.stderr.trim() || `exit ${c.exitCode}`}`);
      }
    },
    async stop() {
      const c = child;
      if (c === undefined) return {};
      child = undefined;
      await stop(c, 'SIGINT', 10_000);
      return { stderr: c.stderr };
    },
    pid: () => child?.pid,
  };
}
