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
