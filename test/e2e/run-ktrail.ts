/**
 * Support for end-to-end tests: run the real `ktrail` CLI as a child process, wait until it has attached,
 * run triggers, stop it with SIGINT and hand back what it printed. Not a test file itself.
 */
import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { nativeAvailable, packageRoot } from '../../src/native/binding.js';

export const root = packageRoot();
export const cli = resolve(root, 'dist', 'src', 'cli', 'main.js');
export const helpers = resolve(root, 'build', 'helpers');

/** Why the live e2e tests cannot run here, or undefined. */
export function liveSkipReason(): string | undefined {
  if (process.geteuid?.() !== 0) return 'needs root (loads BPF programs)';
  if (!existsSync(resolve(root, 'build', 'bpf', 'ktrail.bpf.o')))
    return 'build/bpf/ktrail.bpf.o is missing: run npm run setup';
  if (!nativeAvailable()) return 'the native addon is missing: run npm run setup';
  if (!existsSync(resolve(helpers, 'trigger'))) return 'build/helpers/trigger is missing: run npm run setup';
  if (spawnSync('rmmod', ['--version']).error !== undefined) return 'rmmod (kmod) is not installed';
  return undefined;
}

export interface Run {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
}

/**
 * Starts ktrail, waits for "tracing", runs `during`, then SIGINT; resolves when it exits. `wrapper` is a
 * command that execs the rest of its arguments (e.g. `setpriv --reuid=nobody ...`): ktrail then runs under it.
 */
export async function traceWhile(
  args: readonly string[],
  during: () => Promise<void> | void,
  settleMs = 400,
  wrapper: readonly string[] = [],
): Promise<Run> {
  const argv = [...wrapper, process.execPath, cli, ...args];
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    const deadline = Date.now() + 10_000;
    while (!stderr.includes('ktrail: tracing') && child.exitCode === null && Date.now() < deadline)
      await sleep(20);
    if (stderr.includes('ktrail: tracing')) {
      await during();
      await sleep(settleMs);
    }
  } finally {
    if (child.exitCode === null) child.kill('SIGINT');
  }
  const code = await exited;
  return { stdout, stderr, code };
}

/** Runs a command to completion; returns its stdout. */
export function run(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.stdout;
}

/** Runs build/helpers/trigger and returns the pid it printed. */
export function trigger(...args: string[]): number {
  const out = run(resolve(helpers, 'trigger'), args);
  const m = /^pid (\d+)/.exec(out);
  if (!m) throw new Error(`trigger ${args.join(' ')} printed no pid: ${out}`);
  return Number(m[1]);
}

/** The JSON event lines of a run, parsed (lost_events records excluded). */
export function jsonEvents(r: Run): Record<string, unknown>[] {
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => e['eventName'] !== 'lost_events');
}

export interface Done {
  readonly pid: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
}

/** Runs a program to its end without blocking the event loop (ktrail's output pipe must keep draining). */
export function runAsync(cmd: string, args: readonly string[], opts: SpawnOptions = {}): Promise<Done> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ pid: child.pid ?? 0, stdout, stderr, code }));
  });
}

/** What build/helpers/kevents printed: its pid and its "key value" lines. */
export interface Kevents {
  readonly pid: number;
  readonly facts: Readonly<Record<string, string>>;
}

/** Runs build/helpers/kevents ACTION ARG...; throws with its output when it fails. */
export async function kevents(...args: string[]): Promise<Kevents> {
  const d = await runAsync(resolve(helpers, 'kevents'), args);
  const m = /^pid (\d+)/.exec(d.stdout);
  if (m === null || d.code !== 0)
    throw new Error(`kevents ${args.join(' ')} exited ${d.code}: ${d.stdout}${d.stderr}`);
  const facts: Record<string, string> = {};
  for (const line of d.stdout.split('\n').slice(1)) {
    const sp = line.indexOf(' ');
    if (sp > 0) facts[line.slice(0, sp)] = line.slice(sp + 1);
  }
  return { pid: Number(m[1]), facts };
}

/** What build/helpers/netlab printed: the client's pid and the server's (0 when there is none). */
export interface Lab {
  readonly pid: number;
  readonly server: number;
}

/** Runs build/helpers/netlab ACTION (network traffic in a namespace of its own); throws when it fails. */
export async function netlab(action: string): Promise<Lab> {
  const d = await runAsync(resolve(helpers, 'netlab'), [action]);
  const pid = /^pid (\d+)$/m.exec(d.stdout);
  const server = /^server (\d+)$/m.exec(d.stdout);
  if (pid === null || d.code !== 0)
    throw new Error(`netlab ${action} exited ${d.code}: ${d.stdout}${d.stderr}`);
  return { pid: Number(pid[1]), server: server === null ? 0 : Number(server[1]) };
}

/** A running ktrail for tests that talk to it while it runs (signals, HTTP, files). */
export interface Live {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when stderr matches `re` (after `from` characters), rejects after `ms`. */
  waitFor(re: RegExp, ms?: number, from?: number): Promise<void>;
  /** The exit status (or the signal name). */
  readonly exited: Promise<number | string>;
}

/** Starts ktrail with `args` and waits until it is tracing (or has exited). */
export async function startKtrail(
  args: readonly string[],
  stdout: 'pipe' | 'ignore' = 'pipe',
): Promise<Live> {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', stdout, 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | string>((r) =>
    child.on('exit', (code, signal) => r(code ?? signal ?? 'unknown')),
  );
  const live: Live = {
    child,
    stdout: () => out,
    stderr: () => err,
    async waitFor(re, ms = 10_000, from = 0) {
      const end = Date.now() + ms;
      while (!re.test(err.slice(from))) {
        if (Date.now() > end || child.exitCode !== null)
          throw new Error(`ktrail did not print ${re} (exit ${child.exitCode}); stderr:\n${err}`);
        await sleep(20);
      }
    },
    exited,
  };
  await live.waitFor(/ktrail: tracing|"msg":"tracing/);
  return live;
}

/** ktrail's BPF programs loaded now (bpftool; names cut to 15 characters). */
export function ourPrograms(): string[] {
  const r = spawnSync('bpftool', ['prog', 'show'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => /raw_tp__|tp_btf__|kt_|cgroup_skb__|cgroup_sock__/.test(l));
}

/** ktrail's programs still loaded after up to 3 s (the kernel frees detached programs asynchronously). */
export async function ourProgramsAfterExit(): Promise<string[]> {
  for (let i = 0; i < 30 && ourPrograms().length > 0; i++) await sleep(100);
  return ourPrograms();
}

/**
 * delete_module calls from one python3 process: `names` in turn, `count` calls in all, `burst` calls then a
 * `pauseMs` pause. Resolves with its exit status when it is done.
 */
export function deleteModuleStorm(o: {
  names: readonly string[];
  count: number;
  burst?: number;
  pauseMs?: number;
  /** The storm ends early, after a burst, once this file exists. */
  stopFile?: string;
}): { readonly done: Promise<number | null>; readonly child: ChildProcess } {
  const script = [
    'import ctypes, os, sys, time',
    'f = ctypes.CDLL(None).syscall',
    'stop = sys.argv[4]',
    'names = [n.encode() for n in sys.argv[5:]]',
    'count, burst, pause = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000',
    // Written buffers: an untouched page cannot be read from the tracepoint (docs/KERNEL.md).
    'bufs = [ctypes.create_string_buffer(n) for n in names]',
    'for i in range(count):',
    '    f(176, bufs[i % len(bufs)], 0)',
    '    if pause and i % burst == burst - 1: time.sleep(pause)',
    '    if stop and i % burst == burst - 1 and os.path.exists(stop): break',
  ].join('\n');
  const child = spawn(
    'python3',
    [
      '-c',
      script,
      String(o.count),
      String(o.burst ?? 1),
      String(o.pauseMs ?? 0),
      o.stopFile ?? '',
      ...o.names,
    ],
    { stdio: 'ignore' },
  );
  return { child, done: new Promise((r) => child.on('exit', (code) => r(code))) };
}

/** The `seq` numbers of the delete_module events in JSON-lines `text`, sorted, with their names. */
export function deleteModuleSeqs(text: string): { seq: number; name: string }[] {
  return text
    .split('\n')
    .filter((l) => l.includes('"eventName":"delete_module"'))
    .map((l) => {
      const e = JSON.parse(l) as { seq: number; args: { name: string; value: unknown }[] };
      return { seq: e.seq, name: String(e.args[0]?.value) };
    })
    .sort((a, b) => a.seq - b.seq);
}

/** Numbers missing between 1 and `last` in sorted `seqs` (duplicates throw). */
export function seqGaps(seqs: readonly number[], last: number): number {
  let gaps = 0;
  let prev = 0;
  for (const s of seqs) {
    if (s <= prev) throw new Error(`seq ${s} repeats or goes back after ${prev}`);
    gaps += s - prev - 1;
    prev = s;
  }
  return gaps + (last - prev);
}
