/**
 * End to end for the detection rules: one `ktrail -o json` run with the default selection (every available rule),
 * real triggers for each rule ktrail can observe here, then one exact check per rule on the finding of the
 * trigger's pid (event name, signature id, severity, the rule's data, detectedFrom). A benign workload (cc, npm ci,
 * apt-get --reinstall) runs in the same trace and must give no severity-3 finding.
 *
 * Nothing on the machine changes: files are made in a temp dir; paths under /etc (and /proc stand-ins for files
 * this kernel lacks) are made inside a private mount namespace of the trigger; real /proc and /lib files are opened
 * for writing without a write. Container-only rules run their trigger in a cgroup named like a docker container
 * (`docker-<64 hex>.scope`), removed afterwards. Root only; skips with a reason otherwise.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { findCgroup2Mount } from '../../src/enrich/container.js';
import { kernelDev } from '../../src/enrich/inode-watch.js';
import {
  type Done,
  helpers,
  jsonEvents,
  liveSkipReason,
  type Run,
  runAsync,
  traceWhile,
} from './run-ktrail.js';

const skip = liveSkipReason();
const TRIGGER = join(helpers, 'trigger');
const KEVENTS = join(helpers, 'kevents');
const PYTHON = '/usr/bin/python3';
const LOADER = '/lib64/ld-linux-x86-64.so.2';
/** The fake docker container the container-only triggers run in. */
const CONTAINER_ID = 'c0ffee00d15ea5e5ca75babe0123456789abcdef0123456789abcdef0e2e2e6d';

type Json = Record<string, unknown>;
interface Arg {
  readonly name: string;
  readonly type: string;
  readonly value: unknown;
}

interface Triggered {
  /** The trigger's pid (what it printed). */
  readonly pid: number;
  /** The child a fork action worked on, when it printed one. */
  readonly target: number | undefined;
}

function parseTrigger(d: Done, what: string): Triggered {
  const m = /^pid (\d+)/.exec(d.stdout);
  if (m === null) throw new Error(`trigger ${what} printed no pid: ${d.stdout} ${d.stderr}`);
  if (d.code !== 0) throw new Error(`trigger ${what} exited ${d.code}: ${d.stderr}`);
  const t = /^target (\d+)$/m.exec(d.stdout);
  return { pid: Number(m[1]), target: t === null ? undefined : Number(t[1]) };
}

/** build/helpers/trigger ACTION ARG... on the host. */
async function trig(...args: string[]): Promise<Triggered> {
  return parseTrigger(await runAsync(TRIGGER, args), args.join(' '));
}

/** build/helpers/kevents ACTION ARG... on the host. */
async function kev(...args: string[]): Promise<Triggered> {
  return parseTrigger(await runAsync(KEVENTS, args), args.join(' '));
}

/** Runs `cmd args` after moving its shell (same pid, it execs) into the cgroup whose cgroup.procs is `procs`. */
function inCgroup(procs: string, cmd: string, args: readonly string[]): Promise<Done> {
  return runAsync('/bin/sh', ['-c', 'echo $$ > "$0" && exec "$@"', procs, cmd, ...args]);
}

function ktrailPrograms(): Map<number, string> {
  const r = spawnSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' });
  const progs = JSON.parse(r.stdout || '[]') as { id: number; name?: string }[];
  return new Map(
    progs.filter((p) => /^(raw_tp__|tp_btf__|kt_)/.test(p.name ?? '')).map((p) => [p.id, p.name ?? '']),
  );
}

/** BPF program ids some live process holds (a program or link fd): another ktrail's, not a leak of ours. */
function heldPrograms(): Set<number> {
  const held = new Set<number>();
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${p}/fdinfo`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^prog_id:\s+(\d+)$/m.exec(readFileSync(`/proc/${p}/fdinfo/${fd}`, 'utf8'));
        if (m !== null) held.add(Number(m[1]));
      } catch {
        // The fd or the process is gone.
      }
    }
  }
  return held;
}

/** ktrail programs loaded since `before` that no live process holds. */
function leftPrograms(before: Map<number, string>): string[] {
  const now = [...ktrailPrograms()].filter(([id]) => !before.has(id));
  if (now.length === 0) return [];
  const held = heldPrograms();
  return now.filter(([id]) => !held.has(id)).map(([id, name]) => `${id} ${name}`);
}

function findingsOf(r: Run): Json[] {
  return jsonEvents(r).filter((e) => e['metadata'] !== undefined);
}

function props(f: Json): Json {
  return (f['metadata'] as { Properties: Json }).Properties;
}

/** The rule's data args of a finding (everything but detectedFrom). */
function dataOf(f: Json): Arg[] {
  return (f['args'] as Arg[]).filter((a) => a.name !== 'detectedFrom');
}

function detectedFrom(f: Json): { name: string; args: Arg[]; returnValue: number } {
  const d = (f['args'] as Arg[]).find((a) => a.name === 'detectedFrom');
  assert.ok(d, `finding ${String(f['eventName'])} has no detectedFrom`);
  return d.value as { name: string; args: Arg[]; returnValue: number };
}

const str = (name: string, value: string): Arg => ({ name, type: 'const char *', value });
const int = (name: string, value: number): Arg => ({ name, type: 'int', value });
/** security_file_open's args, with dev, inode and ctime as the file had them (any number when undefined). */
const fileOpenArgs = (pathname: string, flags: number, syscallPathname = pathname, id?: FileId): Arg[] => [
  { name: 'pathname', type: 'string', value: pathname },
  { name: 'flags', type: 'int32', value: flags },
  { name: 'dev', type: 'uint32', value: id?.dev },
  { name: 'inode', type: 'uint64', value: id?.inode },
  { name: 'ctime', type: 'uint64', value: id?.ctime },
  { name: 'syscall_pathname', type: 'string', value: syscallPathname },
];
/** f_flags as the kernel keeps them: the open flags plus O_LARGEFILE (64-bit), O_CREAT and O_TRUNC gone. */
const O_LARGEFILE = 0o100000;
const O_RDONLY = O_LARGEFILE;
const O_WRONLY = O_LARGEFILE | 1;
const O_WRONLY_APPEND = O_LARGEFILE | 1 | 0o2000;

interface FileId {
  readonly dev: number;
  readonly inode: number;
  readonly ctime: number;
}

/** A host file's identity as a kernel event shows it (dev in the kernel's encoding). */
function fileId(path: string): FileId {
  const st = statSync(path, { bigint: true });
  return { dev: kernelDev(st.dev), inode: Number(st.ino), ctime: Number(st.ctimeNs) };
}

/** Args compared exactly, except fields expected as undefined: those must only be numbers. */
function sameArgs(got: readonly Arg[], want: readonly Arg[]): void {
  assert.deepEqual(
    got.map((a, i) =>
      want[i]?.value === undefined && typeof a.value === 'number' ? { ...a, value: undefined } : a,
    ),
    want,
  );
}

interface Expect {
  readonly id: string;
  readonly eventName: string;
  readonly severity: number;
  readonly data: readonly Arg[];
  /** The trigger event: its name, and its exact args when given. */
  readonly from: string;
  readonly fromArgs?: readonly Arg[];
  readonly containerId?: string;
}

describe('detections, live: one ktrail run with every rule', { skip }, () => {
  let dir = '';
  let cgroupDir: string | undefined;
  let procs = '';
  let tcp: Server | undefined;
  let unix: Server | undefined;
  let tcpPort = 0;
  let sleeper: ReturnType<typeof spawn> | undefined;
  let programsBefore = new Map<number, string>();
  let aptDebsBefore: Set<string> | undefined;
  let npmSkip: string | undefined;
  let aptSkip: string | undefined;
  let run: Run = { stdout: '', stderr: '', code: null };
  let findings: Json[] = [];
  /** Trigger pids by name. */
  const pid: Record<string, number> = {};
  const target: Record<string, number> = {};
  const failures: string[] = [];
  /** Roots of the benign workload and the outcome of each step. */
  const benignRoots = new Set<number>();
  const benignSteps: Record<string, Done> = {};
  const python = existsSync(PYTHON);
  const hasKcore = existsSync('/proc/kcore');
  const hasSysrq = existsSync('/proc/sys/kernel/sysrq');
  const hasSchedDebug = existsSync('/proc/sched_debug');

  /** Records a trigger's pid; a trigger that fails leaves its checks failing with the reason. */
  async function record(name: string, t: Promise<Triggered>): Promise<void> {
    try {
      const r = await t;
      pid[name] = r.pid;
      if (r.target !== undefined) target[name] = r.target;
    } catch (e) {
      failures.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  async function containerTrig(...args: string[]): Promise<Triggered> {
    return parseTrigger(await inCgroup(procs, TRIGGER, args), args.join(' '));
  }

  before(async () => {
    programsBefore = ktrailPrograms();
    dir = mkdtempSync(join(tmpdir(), 'ktrail-detect-'));
    for (const name of ['notify_on_release', 'release_agent']) writeFileSync(join(dir, name), '');
    mkdirSync(join(dir, 'secrets', 'kubernetes.io', 'serviceaccount'), { recursive: true });
    writeFileSync(join(dir, 'secrets', 'kubernetes.io', 'serviceaccount', 'token'), 'not-a-token');
    mkdirSync(join(dir, 'mnt'));
    for (const name of ['crontab', 'update-rc.d']) copyFileSync('/bin/true', join(dir, name));
    copyFileSync('/bin/bash', join(dir, 'nginx'));
    const cgroupRoot = findCgroup2Mount(readFileSync('/proc/self/mountinfo', 'utf8'));
    if (cgroupRoot !== undefined) {
      cgroupDir = join(cgroupRoot, `docker-${CONTAINER_ID}.scope`);
      mkdirSync(cgroupDir);
      procs = join(cgroupDir, 'cgroup.procs');
    }
    tcp = createServer((s) => s.destroy());
    await new Promise<void>((r) => tcp!.listen(0, '127.0.0.1', r));
    tcpPort = (tcp.address() as { port: number }).port;
    unix = createServer((s) => s.destroy());
    await new Promise<void>((r) => unix!.listen(join(dir, 'docker.sock'), r));
    sleeper = spawn('sleep', ['120'], { stdio: 'ignore' });

    // The benign workload's inputs: a C file, and an npm project whose lock file is made before tracing.
    writeFileSync(join(dir, 'hello.c'), '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n');
    const proj = join(dir, 'proj');
    mkdirSync(proj);
    writeFileSync(
      join(proj, 'package.json'),
      JSON.stringify({
        name: 'ktrail-e2e-benign',
        version: '1.0.0',
        private: true,
        dependencies: { 'is-number': '7.0.0' },
      }),
    );
    const npmFlags = ['--cache', join(dir, 'npm-cache'), '--no-audit', '--no-fund', '--no-update-notifier'];
    const lock = await runAsync('npm', ['install', '--package-lock-only', ...npmFlags], { cwd: proj });
    if (lock.code !== 0)
      npmSkip = `the npm registry is unreachable (npm install --package-lock-only: ${lock.stderr.trim().split('\n').pop()})`;
    if (spawnSync('apt-get', ['--version']).error !== undefined) aptSkip = 'apt-get is not installed';
    else aptDebsBefore = new Set(readdirSync('/var/cache/apt/archives'));

    run = await traceWhile(
      ['-o', 'json', '-o', 'option:ancestry=64'],
      async () => {
        // Kernel modules.
        const rmmod = await runAsync('rmmod', ['-f', 'ktr_e2e']);
        pid['rmmod'] = rmmod.pid;
        if (python) {
          const nobody = await runAsync(
            PYTHON,
            ['-c', 'import ctypes; ctypes.CDLL(None).syscall(176, b"x", 0)'],
            {
              uid: 65534,
              gid: 65534,
              cwd: '/',
              env: { PATH: '/usr/bin:/bin' },
            },
          );
          pid['nonRoot'] = nobody.pid;
          const load = await runAsync(PYTHON, [
            '-c',
            'import ctypes; l = ctypes.CDLL(None); l.syscall(175, None, 0, b"ktr_e2e=1"); l.syscall(313, -1, b"ktr_e2e=2", 0)',
          ]);
          pid['load'] = load.pid;
        }
        // Process, memory and socket rules.
        await record('traceme', trig('traceme'));
        await record('poke', trig('poke'));
        await record('vmWritev', trig('vm_writev'));
        await record('memfd', trig('memfd_exec', '/bin/true'));
        await record('stdio', trig('stdio_socket', String(tcpPort)));
        const preload = await runAsync('/bin/true', [], { env: { LD_PRELOAD: '/nonexistent.so' } });
        pid['ldPreloadEnv'] = preload.pid;
        await record('ldPreloadFile', trig('nsopen', 'tmpfs', '/etc', '/etc/ld.so.preload', 'w'));
        // File rules on the host.
        await record('aslr', trig('open', '/proc/sys/kernel/randomize_va_space', 'r'));
        if (existsSync(LOADER)) await record('loader', trig('open', LOADER, 'w'));
        const mem = `/proc/${sleeper!.pid}/mem`;
        await record('memRead', trig('open', mem, 'r'));
        await record('memWrite', trig('open', mem, 'w'));
        await record('certs', trig('nsopen', 'tmpfs', '/etc', '/etc/kubernetes/pki/ca.key', 'r'));
        await record('rcLocal', trig('nsopen', 'tmpfs', '/etc', '/etc/rc.local', 'w'));
        pid['updateRcd'] = (await runAsync(join(dir, 'update-rc.d'), [])).pid;
        await record('crontabFile', trig('nsopen', 'tmpfs', '/etc', '/etc/crontab', 'w'));
        pid['crontabRun'] = (await runAsync(join(dir, 'crontab'), [])).pid;
        // A process named nginx whose child execs a shell (bash forks for the first of two commands).
        pid['webServer'] = (await runAsync(join(dir, 'nginx'), ['-c', '/bin/sh -c true; true'])).pid;
        await record('sudoers', trig('nsopen', 'tmpfs', '/etc', '/etc/sudoers', 'w'));
        await record('shadow', kev('open', 'plain', '/etc/shadow', 'w'));
        // Memory and dropped code.
        await record('mprotect', kev('mprotect', '/bin/true'));
        mkdirSync(join(dir, '.cache'));
        await record('hiddenElf', kev('write', join(dir, '.cache', 'payload')));
        // A container-only rule's file opened on the host: no finding.
        await record('hostNotify', trig('open', join(dir, 'notify_on_release'), 'w'));
        // Container-only rules, from the fake docker container.
        if (cgroupDir !== undefined) {
          const ct = await inCgroup(procs, 'rmmod', ['-f', 'ktr_e2e_ct']);
          pid['ctRmmod'] = ct.pid;
          await record('notify', containerTrig('open', join(dir, 'notify_on_release'), 'w'));
          await record('releaseAgent', containerTrig('open', join(dir, 'release_agent'), 'w'));
          await record('corePattern', containerTrig('open', '/proc/sys/kernel/core_pattern', 'w'));
          await record(
            'sysrq',
            hasSysrq
              ? containerTrig('open', '/proc/sys/kernel/sysrq', 'w')
              : containerTrig('nsopen', 'tmpfs', '/proc/sys/kernel', '/proc/sys/kernel/sysrq', 'w'),
          );
          await record(
            'kcore',
            hasKcore
              ? containerTrig('open', '/proc/kcore', 'r')
              : containerTrig('nsopen', 'tmpfs', '/proc', '/proc/kcore', 'r'),
          );
          await record(
            'schedDebug',
            hasSchedDebug
              ? containerTrig('open', '/proc/sched_debug', 'r')
              : containerTrig('nsopen', 'debugfs', '/sys/kernel/debug', '/sys/kernel/debug/sched/debug', 'r'),
          );
          await record(
            'saToken',
            containerTrig('open', join(dir, 'secrets/kubernetes.io/serviceaccount/token'), 'r'),
          );
          await record('dockerSock', containerTrig('connect_unix', join(dir, 'docker.sock')));
          await record('diskMount', containerTrig('mount', '/dev/ktr_e2e', join(dir, 'mnt'), 'tmpfs'));
          await record(
            'dropped',
            inCgroup(procs, KEVENTS, ['write', join(dir, 'dropped')]).then((d) =>
              parseTrigger(d, 'write dropped'),
            ),
          );
        }
        // The benign workload.
        const step = async (name: string, d: Promise<Done>) => {
          const r = await d;
          benignRoots.add(r.pid);
          benignSteps[name] = r;
        };
        await step('cc', runAsync('cc', ['-O2', '-o', join(dir, 'hello'), join(dir, 'hello.c')]));
        if (npmSkip === undefined) await step('npm', runAsync('npm', ['ci', ...npmFlags], { cwd: proj }));
        if (aptSkip === undefined)
          await step(
            'apt',
            runAsync('apt-get', ['install', '--reinstall', '-y', '-qq', 'hostname'], {
              env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
            }),
          );
      },
      1500,
    );
    findings = findingsOf(run);
  });

  after(async () => {
    sleeper?.kill('SIGKILL');
    await new Promise<void>((r) => (tcp === undefined ? r() : tcp.close(() => r())));
    await new Promise<void>((r) => (unix === undefined ? r() : unix.close(() => r())));
    if (aptDebsBefore !== undefined) {
      // apt-get leaves the downloaded package in its cache; remove only what this test added.
      for (const f of readdirSync('/var/cache/apt/archives'))
        if (f.endsWith('.deb') && !aptDebsBefore.has(f)) rmSync(join('/var/cache/apt/archives', f));
    }
    for (let i = 0; i < 100 && cgroupDir !== undefined && existsSync(cgroupDir); i++) {
      try {
        rmdirSync(cgroupDir);
      } catch {
        await sleep(20);
      }
    }
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
    if (cgroupDir !== undefined) assert.equal(existsSync(cgroupDir), false, `${cgroupDir} left behind`);
    // The kernel frees detached programs asynchronously; programs another ktrail holds (a benchmark) are not ours.
    for (let i = 0; i < 30 && leftPrograms(programsBefore).length > 0; i++) await sleep(100);
    assert.deepEqual(leftPrograms(programsBefore), [], 'ktrail programs left loaded');
  });

  it('ktrail ran every trigger and stopped cleanly', () => {
    assert.deepEqual(failures, []);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /ktrail: SIGINT: \d+ events, 0 lost, \d+ findings/);
  });

  /** The findings of one rule from one process. */
  function of(id: string, p: number | undefined): Json[] {
    assert.ok(p !== undefined && p > 0, `${id}: the trigger did not run`);
    return findings.filter((f) => props(f)['signatureID'] === id && f['hostProcessId'] === p);
  }

  /** Exactly the expected findings, in order, for one rule and process. */
  function check(p: number | undefined, expected: readonly Expect[]): void {
    const got = of(expected[0]!.id, p);
    assert.equal(
      got.length,
      expected.length,
      `${expected[0]!.id} findings of pid ${p}: ${JSON.stringify(got)}`,
    );
    expected.forEach((x, i) => {
      const f = got[i]!;
      assert.equal(f['eventName'], x.eventName);
      assert.equal(props(f)['signatureID'], x.id);
      assert.equal(props(f)['Severity'], x.severity);
      assert.deepEqual(dataOf(f), x.data);
      const from = detectedFrom(f);
      assert.equal(from.name, x.from);
      if (x.fromArgs !== undefined) sameArgs(from.args, x.fromArgs);
      if (x.containerId !== undefined) assert.equal(f['containerId'], x.containerId);
    });
  }

  const deleteModuleArgs = (name: string, flags: number): Arg[] => [
    { name: 'name', type: 'string', value: name },
    { name: 'flags', type: 'int32', value: flags },
  ];

  describe('kernel modules', () => {
    it('KTR-001 kernel_module_unload: rmmod -f ktr_e2e', () => {
      check(pid['rmmod'], [
        {
          id: 'KTR-001',
          eventName: 'kernel_module_unload',
          severity: 1,
          data: [str('name', 'ktr_e2e'), int('flags', 2560)],
          from: 'delete_module',
          fromArgs: deleteModuleArgs('ktr_e2e', 2560),
        },
      ]);
    });
    it('KTR-002 kernel_module_forced_unload: rmmod -f ktr_e2e (O_TRUNC), severity 3', () => {
      check(pid['rmmod'], [
        {
          id: 'KTR-002',
          eventName: 'kernel_module_forced_unload',
          severity: 3,
          data: [str('name', 'ktr_e2e'), int('flags', 2560)],
          from: 'delete_module',
          fromArgs: deleteModuleArgs('ktr_e2e', 2560),
        },
      ]);
    });
    it('KTR-003 kernel_module_op_in_container: rmmod -f from the docker cgroup', (t) => {
      if (cgroupDir === undefined) return t.skip('no cgroup2 mount for the fake container');
      check(pid['ctRmmod'], [
        {
          id: 'KTR-003',
          eventName: 'kernel_module_op_in_container',
          severity: 3,
          data: [
            str('syscall', 'delete_module'),
            str('name', 'ktr_e2e_ct'),
            str('containerId', CONTAINER_ID),
          ],
          from: 'delete_module',
          fromArgs: deleteModuleArgs('ktr_e2e_ct', 2560),
          containerId: CONTAINER_ID,
        },
      ]);
      assert.deepEqual(of('KTR-003', pid['rmmod']), [], 'a host rmmod is not in a container');
    });
    it('KTR-004 kernel_module_op_non_root: delete_module as uid 65534', (t) => {
      if (!python) return t.skip(`${PYTHON} is missing`);
      check(pid['nonRoot'], [
        {
          id: 'KTR-004',
          eventName: 'kernel_module_op_non_root',
          severity: 2,
          data: [str('syscall', 'delete_module'), str('name', 'x'), int('userId', 65534)],
          from: 'delete_module',
          fromArgs: deleteModuleArgs('x', 0),
        },
      ]);
      assert.deepEqual(of('KTR-004', pid['rmmod']), [], 'root is not flagged');
    });
    it('KTR-006 kernel_module_load_syscall: init_module and finit_module (ENOSYS here)', (t) => {
      if (!python) return t.skip(`${PYTHON} is missing`);
      check(pid['load'], [
        {
          id: 'KTR-006',
          eventName: 'kernel_module_load_syscall',
          severity: 2,
          data: [str('syscall', 'init_module'), str('param_values', 'ktr_e2e=1')],
          from: 'init_module',
          fromArgs: [
            { name: 'module_image', type: 'trace.Pointer', value: 0 },
            { name: 'len', type: 'uint64', value: 0 },
            { name: 'param_values', type: 'string', value: 'ktr_e2e=1' },
          ],
        },
        {
          id: 'KTR-006',
          eventName: 'kernel_module_load_syscall',
          severity: 2,
          data: [str('syscall', 'finit_module'), str('param_values', 'ktr_e2e=2')],
          from: 'finit_module',
          fromArgs: [
            { name: 'fd', type: 'int32', value: -1 },
            { name: 'param_values', type: 'string', value: 'ktr_e2e=2' },
            { name: 'flags', type: 'int32', value: 0 },
          ],
        },
      ]);
    });
  });

  describe('processes, memory, sockets', () => {
    it('TRC-101 stdio_over_socket: connect to 127.0.0.1 then dup2 onto 0 and 1, dup3 onto 2', () => {
      const x = (fd: number, from: string): Expect => ({
        id: 'TRC-101',
        eventName: 'stdio_over_socket',
        severity: 3,
        data: [str('IP address', '127.0.0.1'), str('Port', String(tcpPort)), int('File descriptor', fd)],
        from,
        fromArgs: [
          { name: 'oldfd', type: 'int32', value: 3 },
          { name: 'newfd', type: 'int32', value: fd },
          ...(from === 'dup3' ? [{ name: 'flags', type: 'int32', value: 0 }] : []),
        ],
      });
      check(pid['stdio'], [x(0, 'dup2'), x(1, 'dup2'), x(2, 'dup3')]);
    });
    it('TRC-102 anti_debugging: ptrace(PTRACE_TRACEME)', () => {
      check(pid['traceme'], [
        {
          id: 'TRC-102',
          eventName: 'anti_debugging',
          severity: 1,
          data: [str('request', 'PTRACE_TRACEME')],
          from: 'ptrace',
          fromArgs: [
            { name: 'request', type: 'int64', value: 0 },
            { name: 'pid', type: 'int32', value: 0 },
            { name: 'addr', type: 'trace.Pointer', value: 0 },
            { name: 'data', type: 'trace.Pointer', value: 0 },
          ],
        },
      ]);
    });
    it('TRC-103 ptrace_code_injection: PTRACE_POKEDATA then PTRACE_POKETEXT into an attached child', () => {
      const child = target['poke'];
      assert.ok(child !== undefined);
      const x = (request: string): Expect => ({
        id: 'TRC-103',
        eventName: 'ptrace_code_injection',
        severity: 3,
        data: [str('request', request), int('pid', child)],
        from: 'ptrace',
      });
      check(pid['poke'], [x('PTRACE_POKEDATA'), x('PTRACE_POKETEXT')]);
      const [data, text] = of('TRC-103', pid['poke']).map((f) => detectedFrom(f).args);
      const addr = data![2]!.value;
      assert.ok(typeof addr === 'number' && addr > 0);
      assert.deepEqual(data, [
        { name: 'request', type: 'int64', value: 5 },
        { name: 'pid', type: 'int32', value: child },
        { name: 'addr', type: 'trace.Pointer', value: addr },
        { name: 'data', type: 'trace.Pointer', value: 2 },
      ]);
      assert.deepEqual(text, [
        { name: 'request', type: 'int64', value: 4 },
        { name: 'pid', type: 'int32', value: child },
        { name: 'addr', type: 'trace.Pointer', value: addr },
        { name: 'data', type: 'trace.Pointer', value: 3 },
      ]);
    });
    it('TRC-105 fileless_execution: memfd_create + execveat(fd, "", AT_EMPTY_PATH)', () => {
      check(pid['memfd'], [
        {
          id: 'TRC-105',
          eventName: 'fileless_execution',
          severity: 3,
          data: [str('pathname', 'memfd:ktr_e2e')],
          from: 'sched_process_exec',
        },
      ]);
      const exec = detectedFrom(of('TRC-105', pid['memfd'])[0]!).args;
      const arg = (n: string) => exec.find((a) => a.name === n)?.value;
      assert.equal(arg('cmdpath'), '/dev/fd/3');
      assert.equal(arg('pathname'), 'memfd:ktr_e2e');
      assert.deepEqual(arg('argv'), ['ktr_e2e']);
    });
    it('TRC-107 ld_preload: LD_PRELOAD in execve envp, once per exec', () => {
      check(pid['ldPreloadEnv'], [
        {
          id: 'TRC-107',
          eventName: 'ld_preload',
          severity: 2,
          data: [str('LD_PRELOAD', 'LD_PRELOAD=/nonexistent.so')],
          from: 'execve',
          fromArgs: [
            { name: 'pathname', type: 'string', value: '/bin/true' },
            { name: 'argv', type: '[]string', value: ['/bin/true'] },
            { name: 'envp', type: '[]string', value: ['LD_PRELOAD=/nonexistent.so'] },
          ],
        },
      ]);
    });
    it('TRC-107 ld_preload: /etc/ld.so.preload opened for writing (private mount namespace)', () => {
      check(pid['ldPreloadFile'], [
        {
          id: 'TRC-107',
          eventName: 'ld_preload',
          severity: 2,
          data: [str('pathname', '/etc/ld.so.preload')],
          from: 'security_file_open',
          fromArgs: fileOpenArgs('/etc/ld.so.preload', O_WRONLY),
        },
      ]);
    });
    it('TRC-1025 process_vm_write_inject: process_vm_writev into a child', () => {
      const child = target['vmWritev'];
      assert.ok(child !== undefined);
      check(pid['vmWritev'], [
        {
          id: 'TRC-1025',
          eventName: 'process_vm_write_inject',
          severity: 3,
          data: [int('pid', child)],
          from: 'process_vm_writev',
        },
      ]);
      const args = detectedFrom(of('TRC-1025', pid['vmWritev'])[0]!).args;
      assert.deepEqual(
        args.filter((a) => a.type !== 'trace.Pointer'),
        [
          { name: 'pid', type: 'int32', value: child },
          { name: 'liovcnt', type: 'uint64', value: 1 },
          { name: 'riovcnt', type: 'uint64', value: 1 },
          { name: 'flags', type: 'uint64', value: 0 },
        ],
      );
    });
  });

  /**
   * A file rule's one finding for `p`: pathname data, from security_file_open with the given f_flags; the
   * file's dev, inode and ctime are checked exactly when the test can stat it (`host`).
   */
  function fileFinding(
    p: number | undefined,
    id: string,
    eventName: string,
    severity: number,
    path: string,
    flags: number,
    containerId?: string,
    host = false,
  ): void {
    check(p, [
      {
        id,
        eventName,
        severity,
        data: [str('pathname', path)],
        from: 'security_file_open',
        fromArgs: fileOpenArgs(path, flags, path, host ? fileId(path) : undefined),
        ...(containerId === undefined ? {} : { containerId }),
      },
    ]);
  }

  describe('files on the host', () => {
    it('TRC-109 aslr_inspection: /proc/sys/kernel/randomize_va_space read', () => {
      fileFinding(
        pid['aslr'],
        'TRC-109',
        'aslr_inspection',
        0,
        '/proc/sys/kernel/randomize_va_space',
        O_RDONLY,
      );
      // /proc files: dev and inode are procfs's own, ctime 0 is fine; checked as numbers only.
    });
    it('TRC-1012 default_loader_mod: the loader opened for writing (no write)', (t) => {
      if (!existsSync(LOADER)) return t.skip(`${LOADER} is missing`);
      // The kernel names the file the symlink leads to; the caller named the link.
      const real = realpathSync(LOADER);
      check(pid['loader'], [
        {
          id: 'TRC-1012',
          eventName: 'default_loader_mod',
          severity: 3,
          data: [str('pathname', real)],
          from: 'security_file_open',
          fromArgs: fileOpenArgs(real, O_WRONLY, LOADER, fileId(real)),
        },
      ]);
    });
    it('TRC-1018 k8s_cert_theft: /etc/kubernetes/pki/ca.key read (private mount namespace)', () => {
      fileFinding(pid['certs'], 'TRC-1018', 'k8s_cert_theft', 3, '/etc/kubernetes/pki/ca.key', O_RDONLY);
    });
    it('TRC-1023 proc_mem_access: /proc/<child>/mem read', () => {
      const path = `/proc/${sleeper?.pid}/mem`;
      fileFinding(pid['memRead'], 'TRC-1023', 'proc_mem_access', 3, path, O_RDONLY);
    });
    it('TRC-1024 proc_mem_code_injection: /proc/<child>/mem opened for writing', () => {
      const path = `/proc/${sleeper?.pid}/mem`;
      fileFinding(pid['memWrite'], 'TRC-1024', 'proc_mem_code_injection', 3, path, O_WRONLY);
      assert.deepEqual(of('TRC-1024', pid['memRead']), [], 'a read is not an injection');
    });
    it('TRC-1026 rcd_modification: /etc/rc.local written; update-rc.d run (one finding per exec)', () => {
      fileFinding(pid['rcLocal'], 'TRC-1026', 'rcd_modification', 2, '/etc/rc.local', O_WRONLY);
      const got = of('TRC-1026', pid['updateRcd']);
      assert.equal(got.length, 1, JSON.stringify(got));
      assert.equal(got[0]!['eventName'], 'rcd_modification');
      assert.equal(props(got[0]!)['Severity'], 2);
      assert.deepEqual(dataOf(got[0]!), [str('pathname', join(dir, 'update-rc.d'))]);
      assert.equal(detectedFrom(got[0]!).name, 'sched_process_exec');
    });
    it('TRC-1027 scheduled_task_mod: /etc/crontab written; crontab run (one finding per exec)', () => {
      fileFinding(pid['crontabFile'], 'TRC-1027', 'scheduled_task_mod', 2, '/etc/crontab', O_WRONLY);
      const got = of('TRC-1027', pid['crontabRun']);
      assert.equal(got.length, 1, JSON.stringify(got));
      assert.equal(got[0]!['eventName'], 'scheduled_task_mod');
      assert.equal(props(got[0]!)['Severity'], 2);
      assert.deepEqual(dataOf(got[0]!), [str('pathname', join(dir, 'crontab'))]);
      assert.equal(detectedFrom(got[0]!).name, 'sched_process_exec');
    });
    it('TRC-1016 illegitimate_shell: a shell started by a process named nginx (prev_comm from the tree)', () => {
      const got = findings.filter(
        (f) => props(f)['signatureID'] === 'TRC-1016' && f['hostParentProcessId'] === pid['webServer'],
      );
      assert.equal(
        got.length,
        1,
        JSON.stringify(findings.filter((f) => props(f)['signatureID'] === 'TRC-1016')),
      );
      assert.equal(got[0]!['eventName'], 'illegitimate_shell');
      assert.equal(props(got[0]!)['Severity'], 2);
      assert.deepEqual(dataOf(got[0]!), [
        str('prev_comm', 'nginx'),
        str('pathname', realpathSync('/bin/sh')),
      ]);
      assert.equal(detectedFrom(got[0]!).name, 'sched_process_exec');
    });

    it('TRC-1028 sudoers_modification: /etc/sudoers opened for writing (private mount namespace)', () => {
      fileFinding(pid['sudoers'], 'TRC-1028', 'sudoers_modification', 2, '/etc/sudoers', O_WRONLY);
    });
    it('KTR-007 credential_files_modification: /etc/shadow opened for writing (no write)', () => {
      check(pid['shadow'], [
        {
          id: 'KTR-007',
          eventName: 'credential_files_modification',
          severity: 3,
          data: [str('pathname', '/etc/shadow')],
          from: 'security_file_open',
          fromArgs: fileOpenArgs('/etc/shadow', O_WRONLY_APPEND, '/etc/shadow', fileId('/etc/shadow')),
        },
      ]);
    });
  });

  describe('memory and written code', () => {
    it('TRC-104 dynamic_code_loading: an anonymous RW mapping made R|X (mem_prot_alert 4)', () => {
      check(pid['mprotect'], [
        { id: 'TRC-104', eventName: 'dynamic_code_loading', severity: 2, data: [], from: 'mem_prot_alert' },
      ]);
      const alert = detectedFrom(of('TRC-104', pid['mprotect'])[0]!).args;
      assert.deepEqual(
        alert.filter((a) => a.name !== 'addr'),
        [
          { name: 'alert', type: 'uint32', value: 4 },
          { name: 'len', type: 'uint64', value: 4096 },
          { name: 'prot', type: 'int32', value: 5 },
          { name: 'prev_prot', type: 'int32', value: 3 },
          { name: 'pathname', type: 'string', value: '' },
          { name: 'dev', type: 'uint32', value: 0 },
          { name: 'inode', type: 'uint64', value: 0 },
          { name: 'ctime', type: 'uint64', value: 0 },
        ],
      );
    });
    it('TRC-1015 hidden_file_created: an ELF header written under a dot directory', () => {
      const path = join(dir, '.cache', 'payload');
      check(pid['hiddenElf'], [
        { id: 'TRC-1015', eventName: 'hidden_file_created', severity: 2, data: [], from: 'magic_write' },
      ]);
      const w = detectedFrom(of('TRC-1015', pid['hiddenElf'])[0]!).args;
      assert.equal(w[0]!.value, path);
      // The first 32 of the 40 bytes written: the ELF magic, class 64, little endian, version 1, x86_64.
      assert.equal(w[1]!.value, 'f0VMRgIBAQAAAAAAAAAAAAIAPgABAAAAAQIDBAUGBwg=');
    });
    it('TRC-1022 dropped_executable: an ELF written from a container', (t) => {
      if (cgroupDir === undefined) return t.skip('no cgroup2 mount for the fake container');
      check(pid['dropped'], [
        {
          id: 'TRC-1022',
          eventName: 'dropped_executable',
          severity: 2,
          data: [str('path', join(dir, 'dropped'))],
          from: 'magic_write',
          containerId: CONTAINER_ID,
        },
      ]);
      assert.deepEqual(of('TRC-1022', pid['hiddenElf']), [], 'a host write is not a container drop');
    });
  });

  describe('files and mounts from a container', () => {
    const needCgroup = (t: { skip: (m: string) => void }): boolean => {
      if (cgroupDir !== undefined) return true;
      t.skip('no cgroup2 mount for the fake container');
      return false;
    };
    it('TRC-106 cgroup_notify_on_release: notify_on_release opened for writing; not on the host', (t) => {
      if (!needCgroup(t)) return;
      const path = join(dir, 'notify_on_release');
      fileFinding(
        pid['notify'],
        'TRC-106',
        'cgroup_notify_on_release',
        3,
        path,
        O_WRONLY,
        CONTAINER_ID,
        true,
      );
      assert.deepEqual(of('TRC-106', pid['hostNotify']), []);
    });
    it('TRC-1010 cgroup_release_agent: release_agent opened for writing', (t) => {
      if (!needCgroup(t)) return;
      const path = join(dir, 'release_agent');
      fileFinding(
        pid['releaseAgent'],
        'TRC-1010',
        'cgroup_release_agent',
        3,
        path,
        O_WRONLY,
        CONTAINER_ID,
        true,
      );
    });
    it('TRC-1011 core_pattern_modification: /proc/sys/kernel/core_pattern opened for writing (no write)', (t) => {
      if (!needCgroup(t)) return;
      const path = '/proc/sys/kernel/core_pattern';
      fileFinding(
        pid['corePattern'],
        'TRC-1011',
        'core_pattern_modification',
        3,
        path,
        O_WRONLY,
        CONTAINER_ID,
      );
    });
    it('TRC-1031 system_request_key_mod: /proc/sys/kernel/sysrq opened for writing', (t) => {
      if (!needCgroup(t)) return;
      // Without CONFIG_MAGIC_SYSRQ the file is a stand-in on a tmpfs in the trigger's own mount namespace.
      const path = '/proc/sys/kernel/sysrq';
      fileFinding(pid['sysrq'], 'TRC-1031', 'system_request_key_mod', 3, path, O_WRONLY, CONTAINER_ID);
    });
    it('TRC-1021 proc_kcore_read: /proc/kcore read', (t) => {
      if (!needCgroup(t)) return;
      // Without CONFIG_PROC_KCORE the file is a stand-in on a tmpfs in the trigger's own mount namespace.
      fileFinding(pid['kcore'], 'TRC-1021', 'proc_kcore_read', 2, '/proc/kcore', O_RDONLY, CONTAINER_ID);
    });
    it('TRC-1029 sched_debug_recon: the scheduler debug file read (debugfs in a private mount namespace)', (t) => {
      if (!needCgroup(t)) return;
      const path = hasSchedDebug ? '/proc/sched_debug' : '/sys/kernel/debug/sched/debug';
      fileFinding(pid['schedDebug'], 'TRC-1029', 'sched_debug_recon', 1, path, O_RDONLY, CONTAINER_ID);
    });
    it('TRC-108 k8s_service_account_token: a serviceaccount token read', (t) => {
      if (!needCgroup(t)) return;
      const path = join(dir, 'secrets/kubernetes.io/serviceaccount/token');
      fileFinding(
        pid['saToken'],
        'TRC-108',
        'k8s_service_account_token',
        0,
        path,
        O_RDONLY,
        CONTAINER_ID,
        true,
      );
    });
    it('TRC-1019 docker_abuse: connect to a docker.sock', (t) => {
      if (!needCgroup(t)) return;
      const path = join(dir, 'docker.sock');
      check(pid['dockerSock'], [
        {
          id: 'TRC-1019',
          eventName: 'docker_abuse',
          severity: 2,
          data: [str('pathname', path)],
          from: 'security_socket_connect',
          fromArgs: [
            { name: 'sockfd', type: 'int32', value: 3 },
            { name: 'type', type: 'int32', value: 1 },
            { name: 'remote_addr', type: 'SockAddr', value: { sa_family: 'AF_UNIX', sun_path: path } },
          ],
          containerId: CONTAINER_ID,
        },
      ]);
    });
    it('TRC-1014 disk_mount: mount of a /dev source (tmpfs, private mount namespace)', (t) => {
      if (!needCgroup(t)) return;
      check(pid['diskMount'], [
        {
          id: 'TRC-1014',
          eventName: 'disk_mount',
          severity: 3,
          data: [str('dev_name', '/dev/ktr_e2e')],
          from: 'security_sb_mount',
          fromArgs: [
            { name: 'dev_name', type: 'string', value: '/dev/ktr_e2e' },
            { name: 'path', type: 'string', value: join(dir, 'mnt') },
            { name: 'type', type: 'string', value: 'tmpfs' },
            { name: 'flags', type: 'uint64', value: 0 },
          ],
          containerId: CONTAINER_ID,
        },
      ]);
    });
  });

  describe('benign workload', () => {
    /** The workload's processes: its roots and every process whose parent chain or ancestry reaches one. */
    function workloadPids(): Set<number> {
      const mine = new Set(benignRoots);
      for (const e of jsonEvents(run)) {
        const p = e['hostProcessId'] as number;
        const parent = e['hostParentProcessId'] as number;
        const ancestors = (e['ancestors'] as { pid: number }[] | undefined) ?? [];
        if (mine.has(parent) || ancestors.some((a) => mine.has(a.pid))) mine.add(p);
      }
      return mine;
    }

    it('cc, npm ci and apt-get install --reinstall give no severity-3 finding', (t) => {
      assert.equal(benignSteps['cc']?.code, 0, benignSteps['cc']?.stderr);
      if (npmSkip === undefined) assert.equal(benignSteps['npm']?.code, 0, benignSteps['npm']?.stderr);
      else t.diagnostic(`npm ci not run: ${npmSkip}`);
      if (aptSkip === undefined) assert.equal(benignSteps['apt']?.code, 0, benignSteps['apt']?.stderr);
      else t.diagnostic(`apt-get not run: ${aptSkip}`);
      const mine = workloadPids();
      assert.ok(mine.size > benignRoots.size, 'the workload started child processes');
      const lower = findings
        .filter((f) => mine.has(f['hostProcessId'] as number) && props(f)['Severity'] !== 3)
        .map((f) => `${props(f)['signatureID']} ${f['processName']}`);
      t.diagnostic(`${mine.size} workload processes; lower-severity findings: ${lower.join(', ') || 'none'}`);
      const high = findings
        .filter((f) => mine.has(f['hostProcessId'] as number) && props(f)['Severity'] === 3)
        .map((f) => `${props(f)['signatureID']} ${f['processName']} ${JSON.stringify(dataOf(f))}`);
      assert.deepEqual(high, []);
    });
  });
});
