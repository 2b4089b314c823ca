/**
 * Child processes of the benchmark. Every child is registered here so that one cleanup can stop all of them on
 * every exit path (normal end, error, SIGINT/SIGTERM): tracers get SIGINT first (so they detach and print their
 * summary), then SIGKILL after a grace period. A killed tracer's BPF links die with its file descriptors.
 */
import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** A running child with its collected output (when piped) and a promise of its exit. */
export interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
  exitCode: number | null | undefined;
}

const live = new Set<Child>();

/**
 * Spawns `cmd args`. Piped stdout/stderr are collected into `stdout`/`stderr` unless `collect` is false for
 * stdout (then the caller reads proc.stdout itself). Throws when the command cannot be started.
 */
export function start(
  name: string,
  cmd: string,
  args: readonly string[],
  opts: SpawnOptions & { collectStdout?: boolean } = {},
): Child {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  if (proc.pid === undefined) throw new Error(`starting ${name}: spawn ${cmd} failed`);
  let resolveExit: (code: number | null) => void = () => {};
  const exited = new Promise<number | null>((r) => {
    resolveExit = r;
  });
  const child: Child = { name, proc, pid: proc.pid, stdout: '', stderr: '', exited, exitCode: undefined };
  if (opts.collectStdout !== false) proc.stdout?.on('data', (d: Buffer) => (child.stdout += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (child.stderr += d.toString()));
  proc.on('error', () => {});
  proc.on('exit', (code, signal) => {
    child.exitCode = code ?? (signal ? 128 : null);
    live.delete(child);
    resolveExit(child.exitCode);
  });
  live.add(child);
  return child;
}

/** Waits until `test()` is true, polling every `everyMs`; false on timeout or when `child` exits first. */
export async function waitFor(
  test: () => boolean,
  timeoutMs: number,
  child?: Child,
  everyMs = 10,
): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (test()) return true;
    if (child !== undefined && child.exitCode !== undefined) return test();
    await sleep(everyMs);
  }
  return test();
}

/** Sends `signal`, then SIGKILL after `graceMs`; resolves with the exit code. */
export async function stop(
  child: Child,
  signal: NodeJS.Signals = 'SIGINT',
  graceMs = 5000,
): Promise<number | null> {
  if (child.exitCode !== undefined) return child.exitCode;
  try {
    process.kill(child.pid, signal);
  } catch {
    // already gone
  }
  const timer = setTimeout(() => {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, graceMs);
  const code = await child.exited;
  clearTimeout(timer);
  return code;
}

/** Stops every child still running (tracers first get SIGINT). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((c) => stop(c, 'SIGINT', 3000)));
}

/** Last resort on a synchronous exit path: SIGKILL whatever is left. */
export function killAllNow(): void {
  for (const c of live) {
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Runs a command to completion; returns stdout, throws with stderr on failure. */
export function run(cmd: string, args: readonly string[], input?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, maxBuffer: 64 << 20 });
  if (r.error !== undefined) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Runs a command; true when it exits 0. */
export function tryRun(cmd: string, args: readonly string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.status === 0;
}

/** VmRSS of a process in KiB, or undefined when it is gone. */
export function rssKiB(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Parses loadgen's `key=value` line. */
export interface LoadResult {
  readonly calls: number;
  readonly threads: number;
  readonly ns: number;
  readonly nsPerCall: number;
  /** Thread CPU time per call (0 in rate mode). */
  readonly cpuNsPerCall: number;
  readonly callsPerS: number;
}

export function parseLoad(out: string): LoadResult {
  const kv = new Map<string, number>();
  for (const m of out.matchAll(/(\w+)=([\d.]+)/g)) kv.set(m[1]!, Number(m[2]));
  const need = (k: string): number => {
    const v = kv.get(k);
    if (v === undefined) throw new Error(`loadgen printed no ${k}: '${out.trim()}'`);
    return v;
  };
  return {
    calls: need('calls'),
    threads: need('threads'),
    ns: need('ns'),
    nsPerCall: need('ns_per_call'),
    cpuNsPerCall: kv.get('cpu_ns_per_call') ?? 0,
    callsPerS: need('calls_per_s'),
  };
}
