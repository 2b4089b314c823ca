/**
 * End to end for the kernel events (security_file_open, security_inode_unlink/rename, security_socket_*,
 * security_sb_mount/umount, security_file_mprotect, mem_prot_alert, magic_write) and for what they are for:
 * rules that see the file the kernel opened, whatever path led there.
 *
 * 1. One trace of every kernel event (plus delete_module and sched_process_exec), scoped to the kevents helper,
 *    while it makes real system calls; each event is checked value by value: the paths the kernel resolved,
 *    ports and addresses the helper printed, mapping addresses, the bytes written, pseudo files (pipe:[ino],
 *    memfd:NAME), programs run from a deleted file, a memfd and an overlay, paths too deep or too long (cut,
 *    with problem "truncated"), and calls whose entry ktrail never saw (denied by seccomp before sys_enter; in
 *    flight when ktrail started): entrySeen false, the arguments read at exit.
 * 2. Evasion: a watched cron file and a sudoers file opened for writing, or replaced, by twelve ways around a
 *    string match on the caller's path (relative to the cwd or a dirfd, `..`, /proc/self/root, /proc/self/cwd,
 *    a symlink, a hard link, /proc/self/fd, openat2, a deleted cwd, a bind mount, a rename onto it); each gives
 *    exactly one finding that names the file.
 * 3. An in-kernel prefix filter on security_file_open's pathname: it tests the resolved path, so a relative open
 *    of a matching file passes and an absolute open of another file is dropped in the kernel.
 *
 * The cron and sudoers files are made for the test (a name with this process's pid) and removed after, with
 * /etc/sudoers.d when the test made it. Everything else lives in a temp dir. Root only; skips otherwise.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { kernelDev } from '../../src/enrich/inode-watch.js';
import {
  jsonEvents,
  type Kevents,
  kevents,
  liveSkipReason,
  type Run,
  runAsync,
  traceWhile,
} from './run-ktrail.js';

const skip = liveSkipReason();

type Json = Record<string, unknown>;
interface Arg {
  readonly name: string;
  readonly type: string;
  readonly value: unknown;
  readonly problem?: string;
}

/** Any number: a value the test cannot know in advance (a new file's inode or ctime). */
const NUM = Symbol('any number');
type Want = Record<string, unknown>;

const O_LARGEFILE = 0o100000;
const O_WRONLY = 1;
const O_NONBLOCK = 0o4000;
const O_APPEND = 0o2000;
const O_DIRECTORY = 0o200000;
const O_PATH = 0o10000000;

const KERNEL_EVENTS = [
  'security_file_open',
  'security_inode_unlink',
  'security_inode_rename',
  'security_socket_connect',
  'security_socket_bind',
  'security_socket_accept',
  'security_socket_listen',
  'security_sb_mount',
  'security_sb_umount',
  'security_file_mprotect',
  'mem_prot_alert',
  'magic_write',
];

/** An event's args as name → value. */
function values(e: Json): Record<string, unknown> {
  return Object.fromEntries((e['args'] as Arg[]).map((a) => [a.name, a.value]));
}

/** The args of `e`, compared exactly with `want` except where `want` says NUM (then a number is enough). */
function sameValues(e: Json, want: Want, what: string): void {
  const got = values(e);
  const norm = Object.fromEntries(
    Object.entries(got).map(([k, v]) => [k, want[k] === NUM && typeof v === 'number' ? NUM : v]),
  );
  assert.deepEqual(norm, want, `${what}: ${JSON.stringify(got)}`);
}

/** [syscall, args] of each event, for exact comparison of a sequence. */
function seq(events: readonly Json[]): [unknown, Record<string, unknown>][] {
  return events.map((e) => [e['syscall'], values(e)]);
}

function fileDev(path: string): number {
  return kernelDev(statSync(path, { bigint: true }).dev);
}

describe('kernel events, live: exact values', { skip }, () => {
  let dir = '';
  let run: Run = { stdout: '', stderr: '', code: null };
  let events: Json[] = [];
  const k: Record<string, Kevents> = {};
  const failures: string[] = [];
  let mapped = '';
  let sleepPid = 0;

  async function step(name: string, ...args: string[]): Promise<void> {
    try {
      k[name] = await kevents(...args);
    } catch (e) {
      failures.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** The events of one helper run, by name. */
  function of(name: string, ...eventNames: string[]): Json[] {
    const pid = k[name]?.pid;
    assert.ok(pid !== undefined, `${name} did not run: ${failures.join('; ')}`);
    return events.filter(
      (e) =>
        e['hostProcessId'] === pid &&
        (eventNames.length === 0 || eventNames.includes(e['eventName'] as string)),
    );
  }

  before(async () => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'ktrail-kev-')));
    mkdirSync(join(dir, 'mnt'));
    mkdirSync(join(dir, 'deep1'));
    mkdirSync(join(dir, 'deep2'));
    mapped = join(dir, 'mapped');
    writeFileSync(mapped, Buffer.alloc(4096, 0x90));
    for (const d of ['lower', 'upper', 'work', 'merged']) mkdirSync(join(dir, 'ov', d), { recursive: true });
    writeFileSync(join(dir, 'ov', 'lower', 'f'), 'lower\n');
    copyFileSync('/bin/true', join(dir, 'ov', 'lower', 'prog'));
    // Asleep in clock_nanosleep before ktrail starts: its exit is the first ktrail sees of that call.
    const sleeper = runAsync('sleep', ['3']);
    run = await traceWhile(
      [
        '-o',
        'json',
        '-e',
        [
          ...KERNEL_EVENTS,
          'delete_module',
          'sched_process_exec',
          'clock_nanosleep',
          'fileless_execution',
        ].join(','),
        '--scope',
        'comm=kevents,sleep',
        '--scope',
        'follow',
      ],
      async () => {
        await step('unlink', 'unlink', dir);
        await step('rename', 'rename', dir);
        await step('sockets', 'sockets');
        await step('mount', 'mount', dir);
        await step('mprotect', 'mprotect', mapped);
        await step('write', 'write', join(dir, 'w'));
        await step('pseudo', 'pseudo');
        await step('deep1', 'deep', join(dir, 'deep1'), '60', '1');
        await step('deep2', 'deep', join(dir, 'deep2'), '20', '250');
        await step('seccomp', 'seccomp_delmod', 'ktr_e2e');
        await step('execDeleted', 'exec_deleted', '/bin/true');
        await step('overlay', 'overlay', join(dir, 'ov'));
        await step('memfdProc', 'memfd_proc', '/bin/true');
        sleepPid = (await sleeper).pid;
      },
      800,
    );
    events = jsonEvents(run);
  });

  after(() => {
    // rm, not fs.rmSync: the deep tree's paths are longer than PATH_MAX, rm walks it by dirfds.
    if (dir !== '') spawnSync('rm', ['-rf', '--one-file-system', dir]);
  });

  it('ktrail ran, every trigger ran, nothing was lost', () => {
    assert.deepEqual(failures, []);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /ktrail: SIGINT: \d+ events, 0 lost/);
  });

  it('security_inode_unlink: unlink, rmdir, unlinkat(dirfd): the kernel path of the dirfd or cwd', () => {
    const zero = { inode: 0, dev: 0, ctime: 0 };
    assert.deepEqual(seq(of('unlink', 'security_inode_unlink')), [
      ['unlink', { pathname: `${dir}/ku`, ...zero }],
      ['rmdir', { pathname: `${dir}/kd`, ...zero }],
      ['unlinkat', { pathname: `${dir}/ku2`, ...zero }],
    ]);
  });

  it('security_file_open: creat relative to the cwd, O_PATH of a directory; dev of the file system', () => {
    const dev = fileDev(dir);
    const opens = of('unlink', 'security_file_open').filter((e) =>
      String(values(e)['pathname']).startsWith(dir),
    );
    assert.equal(opens.length, 3, JSON.stringify(opens.map(values)));
    const want: [string, Want][] = [
      [
        'creat',
        {
          pathname: `${dir}/ku`,
          flags: O_LARGEFILE | O_WRONLY,
          dev,
          inode: NUM,
          ctime: NUM,
          syscall_pathname: 'ku',
        },
      ],
      [
        'openat',
        {
          pathname: dir,
          flags: O_PATH | O_DIRECTORY,
          dev,
          inode: Number(statSync(dir).ino),
          ctime: NUM,
          syscall_pathname: dir,
        },
      ],
      [
        'creat',
        {
          pathname: `${dir}/ku2`,
          flags: O_LARGEFILE | O_WRONLY,
          dev,
          inode: NUM,
          ctime: NUM,
          syscall_pathname: 'ku2',
        },
      ],
    ];
    opens.forEach((e, i) => {
      assert.equal(e['syscall'], want[i]![0]);
      sameValues(e, want[i]![1], `open ${i}`);
    });
  });

  it('security_inode_rename: rename, renameat(dirfd, ..., "./sub/../rc") joined and cleaned', () => {
    assert.deepEqual(seq(of('rename', 'security_inode_rename')), [
      ['rename', { old_path: `${dir}/ra`, new_path: `${dir}/rb` }],
      ['renameat', { old_path: `${dir}/rb`, new_path: `${dir}/rc` }],
    ]);
  });

  it('security_socket_bind/listen/connect/accept: TCP on 127.0.0.1 and ::1, abstract AF_UNIX, a refused connect', () => {
    const f = k['sockets']!.facts;
    const v4 = { sa_family: 'AF_INET', sin_port: f['tcp4'], sin_addr: '127.0.0.1' };
    const v6 = {
      sa_family: 'AF_INET6',
      sin6_port: f['tcp6'],
      sin6_flowinfo: '0',
      sin6_addr: '::1',
      sin6_scopeid: '0',
    };
    const unix = { sa_family: 'AF_UNIX', sun_path: `@${f['unix']}` };
    const refused = { sa_family: 'AF_INET', sin_port: '9', sin_addr: '127.0.0.1' };
    const got = of('sockets', ...KERNEL_EVENTS.filter((n) => n.startsWith('security_socket_'))).map((e) => [
      e['eventName'],
      values(e),
    ]);
    // File descriptors: the helper starts with 0-2 open, so each socket takes the lowest free number.
    assert.deepEqual(got, [
      ['security_socket_bind', { sockfd: 3, local_addr: v4 }],
      ['security_socket_listen', { sockfd: 3, local_addr: v4, backlog: 7 }],
      ['security_socket_bind', { sockfd: 4, local_addr: v6 }],
      ['security_socket_listen', { sockfd: 4, local_addr: v6, backlog: 7 }],
      ['security_socket_connect', { sockfd: 5, type: 1, remote_addr: v4 }],
      ['security_socket_accept', { sockfd: 3, local_addr: v4 }],
      ['security_socket_connect', { sockfd: 3, type: 1, remote_addr: v6 }],
      ['security_socket_accept', { sockfd: 4, local_addr: v6 }],
      ['security_socket_bind', { sockfd: 3, local_addr: unix }],
      ['security_socket_listen', { sockfd: 3, local_addr: unix, backlog: 3 }],
      ['security_socket_connect', { sockfd: 4, type: 1, remote_addr: unix }],
      ['security_socket_accept', { sockfd: 3, local_addr: unix }],
      ['security_socket_connect', { sockfd: 3, type: 1, remote_addr: refused }],
    ]);
  });

  it('security_sb_mount/umount: in a private mount namespace, the mount point resolved from the cwd', () => {
    assert.deepEqual(
      of('mount', 'security_sb_mount', 'security_sb_umount').map((e) => [e['eventName'], values(e)]),
      [
        ['security_sb_mount', { dev_name: 'none', path: '/', type: '', flags: 0x44000 }],
        ['security_sb_mount', { dev_name: 'ktrail', path: `${dir}/mnt`, type: 'tmpfs', flags: 2 }],
        ['security_sb_umount', { mountpoint: `${dir}/mnt`, type: '', flags: 2 }],
      ],
    );
  });

  it('mem_prot_alert and security_file_mprotect: W->X, R->X, a file mapping made executable, mmap W+X', () => {
    const f = k['mprotect']!.facts;
    const addr = (key: string) => Number.parseInt(f[key]!, 16);
    const st = statSync(mapped, { bigint: true });
    const file = {
      pathname: mapped,
      dev: kernelDev(st.dev),
      inode: Number(st.ino),
      ctime: Number(st.ctimeNs),
    };
    const anon = { pathname: '', dev: 0, inode: 0, ctime: 0 };
    const page = 4096;
    assert.deepEqual(seq(of('mprotect', 'mem_prot_alert')), [
      ['mprotect', { alert: 4, addr: addr('rw'), len: page, prot: 5, prev_prot: 3, ...anon }],
      ['mprotect', { alert: 2, addr: addr('r'), len: page, prot: 5, prev_prot: 1, ...anon }],
      ['mprotect', { alert: 2, addr: addr('file'), len: page, prot: 5, prev_prot: 1, ...file }],
      ['mmap', { alert: 1, addr: addr('rwx'), len: page, prot: 7, prev_prot: 0, ...anon }],
    ]);
    const ours = new Set(['rw', 'r', 'file'].map(addr));
    assert.deepEqual(
      seq(of('mprotect', 'security_file_mprotect').filter((e) => ours.has(values(e)['addr'] as number))),
      [
        ['mprotect', { pathname: '', prot: 5, ctime: 0, prev_prot: 3, addr: addr('rw'), len: page, pkey: 0 }],
        ['mprotect', { pathname: '', prot: 5, ctime: 0, prev_prot: 1, addr: addr('r'), len: page, pkey: 0 }],
        [
          'mprotect',
          {
            pathname: mapped,
            prot: 5,
            ctime: file.ctime,
            prev_prot: 1,
            addr: addr('file'),
            len: page,
            pkey: 0,
          },
        ],
      ],
    );
  });

  it('magic_write: write, pwrite64 and writev at offset 0; the first 32 bytes; none for a later write', () => {
    const path = join(dir, 'w');
    const created = of('write', 'security_file_open').find((e) => values(e)['pathname'] === path);
    assert.ok(created, 'the creat of the file');
    const id = { dev: fileDev(dir), inode: values(created)['inode'] };
    const elf = Buffer.from([
      0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0x3e, 0, 1, 0, 0, 0, 1, 2, 3, 4, 5, 6,
      7, 8,
    ]);
    assert.deepEqual(seq(of('write', 'magic_write').filter((e) => values(e)['pathname'] === path)), [
      ['write', { pathname: path, bytes: elf.toString('base64'), ...id }],
      ['pwrite64', { pathname: path, bytes: Buffer.from('MAGIC').toString('base64'), ...id }],
      ['writev', { pathname: path, bytes: Buffer.from('VEC1').toString('base64'), ...id }],
    ]);
  });

  it('security_file_open of pseudo files through /proc/self/fd: pipe:[ino] and memfd:NAME', () => {
    const opens = of('pseudo', 'security_file_open').filter((e) =>
      String(values(e)['syscall_pathname']).startsWith('/proc/self/fd/'),
    );
    assert.equal(opens.length, 2, JSON.stringify(opens.map(values)));
    const ino = Number(k['pseudo']!.facts['pipe']);
    sameValues(
      opens[0]!,
      {
        pathname: `pipe:[${ino}]`,
        flags: O_LARGEFILE | O_NONBLOCK,
        dev: NUM,
        inode: ino,
        ctime: NUM,
        syscall_pathname: '/proc/self/fd/3',
      },
      'pipe',
    );
    sameValues(
      opens[1]!,
      {
        pathname: 'memfd:ktrail-e2e',
        flags: O_LARGEFILE,
        dev: NUM,
        inode: NUM,
        ctime: NUM,
        syscall_pathname: '/proc/self/fd/5',
      },
      'memfd',
    );
  });

  it('paths too deep or too long are cut and marked truncated', () => {
    const leaf = (name: string): Arg => {
      const e = of(name, 'security_file_open').find((x) => values(x)['syscall_pathname'] === 'leaf');
      assert.ok(e, `${name}: the open of leaf`);
      return (e['args'] as Arg[]).find((a) => a.name === 'pathname')!;
    };
    // 60 levels: the walk keeps the last 48 steps (the file and 47 directories).
    assert.deepEqual(leaf('deep1'), {
      name: 'pathname',
      type: 'string',
      value: `${'/d'.repeat(47)}/leaf`,
      problem: 'truncated',
    });
    // 20 names of 250 bytes: more than 4096 bytes; the path keeps its first 4095.
    const full = `${dir}/deep2${`/${'d'.repeat(250)}`.repeat(20)}/leaf`;
    assert.deepEqual(leaf('deep2'), {
      name: 'pathname',
      type: 'string',
      value: full.slice(0, 4095),
      problem: 'truncated',
    });
  });

  it('a call seccomp denied before sys_enter: delete_module from sys_exit alone, entrySeen false', () => {
    assert.equal(k['seccomp']!.facts['rc'], '-1 errno 1');
    const got = of('seccomp', 'delete_module');
    assert.equal(got.length, 1);
    const e = got[0]!;
    assert.equal(e['returnValue'], -1);
    assert.equal(e['entrySeen'], false);
    assert.equal(e['durationNs'], undefined, 'no duration without an entry');
    assert.deepEqual(values(e), { name: 'ktr_e2e', flags: 2560 });
  });

  it('sched_process_exec of a deleted file by execveat(fd, "", AT_EMPTY_PATH): "(deleted)" after its path', () => {
    const pid = k['execDeleted']!.pid;
    const path = k['execDeleted']!.facts['path']!;
    const execs = of('execDeleted', 'sched_process_exec').map(values);
    assert.equal(execs.length, 2, JSON.stringify(execs));
    assert.equal(execs[1]!['pathname'], `${path} (deleted)`);
    assert.match(String(execs[1]!['cmdpath']), /^\/dev\/fd\/\d+$/);
    assert.deepEqual(execs[1]!['argv'], ['kte']);
    assert.equal(path, `/tmp/kte.${pid}`);
  });

  it('an overlay mount: the open (a copy-up) and the program run show the merged path', () => {
    const merged = join(dir, 'ov', 'merged');
    const open = of('overlay', 'security_file_open').filter((e) => values(e)['pathname'] === `${merged}/f`);
    assert.equal(open.length, 1);
    sameValues(
      open[0]!,
      {
        pathname: `${merged}/f`,
        flags: O_LARGEFILE | O_WRONLY | O_APPEND,
        dev: NUM,
        inode: NUM,
        ctime: NUM,
        syscall_pathname: `${merged}/f`,
      },
      'overlay open',
    );
    const execs = of('overlay', 'sched_process_exec').map(values);
    assert.equal(execs.length, 2);
    assert.equal(execs[1]!['pathname'], `${merged}/prog`);
    assert.deepEqual(execs[1]!['argv'], ['prog']);
    // The overlay's own device, not the file system under it.
    assert.equal(execs[1]!['dev'], values(open[0]!)['dev']);
    assert.notEqual(execs[1]!['dev'], fileDev(dir));
  });

  it('execve("/proc/self/fd/N") of a memfd: pathname memfd:NAME, and TRC-105 fires', () => {
    const fdPath = k['memfdProc']!.facts['path']!;
    const execs = of('memfdProc', 'sched_process_exec').map(values);
    assert.equal(execs.length, 2);
    assert.equal(execs[1]!['pathname'], 'memfd:ktrail-e2e');
    assert.equal(execs[1]!['cmdpath'], fdPath);
    const found = of('memfdProc', 'fileless_execution');
    assert.equal(found.length, 1);
    assert.deepEqual(values(found[0]!)['pathname'], 'memfd:ktrail-e2e');
  });

  it('a call in flight when ktrail started: clock_nanosleep of a running sleep, from its exit alone', () => {
    const got = events.filter((e) => e['hostProcessId'] === sleepPid && e['eventName'] === 'clock_nanosleep');
    assert.equal(got.length, 1, JSON.stringify(got));
    assert.equal(got[0]!['entrySeen'], false);
    assert.equal(got[0]!['returnValue'], 0);
    assert.equal(got[0]!['durationNs'], undefined);
    const v = values(got[0]!);
    assert.equal(v['clockid'], 0);
    assert.equal(v['flags'], 0);
    assert.equal(v['request'], 3);
  });
});

describe('in-kernel filter on a resolved path, live', { skip }, () => {
  let dir = '';
  let run: Run = { stdout: '', stderr: '', code: null };
  const k: Record<string, Kevents> = {};

  before(async () => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'ktrail-kfilt-')));
    for (const f of ['keep1', 'keep2', 'drop1']) writeFileSync(join(dir, f), '');
    run = await traceWhile(
      ['-o', 'json', '-e', `security_file_open.data.pathname=${dir}/keep*`, '--scope', 'comm=kevents'],
      async () => {
        k['plain'] = await kevents('open', 'plain', join(dir, 'keep1'), 'r');
        k['rel'] = await kevents('open', 'rel', join(dir, 'keep2'), 'r');
        k['drop'] = await kevents('open', 'plain', join(dir, 'drop1'), 'r');
      },
    );
  });

  after(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('passes the files under the prefix however they were named, drops the rest in the kernel', () => {
    assert.equal(run.code, 0, run.stderr);
    const got = jsonEvents(run).map((e) => [
      e['hostProcessId'],
      values(e)['pathname'],
      values(e)['syscall_pathname'],
    ]);
    assert.deepEqual(got, [
      [k['plain']!.pid, join(dir, 'keep1'), join(dir, 'keep1')],
      [k['rel']!.pid, join(dir, 'keep2'), 'keep2'],
    ]);
    const filtered = /(\d+) filtered in the kernel/.exec(run.stderr);
    assert.ok(filtered !== null && Number(filtered[1]) > 0, run.stderr);
  });
});

describe('evasion, live: a watched file reached by other paths', { skip }, () => {
  const tag = `ktrail-e2e-${process.pid}`;
  const CRON = `/etc/cron.d/${tag}`;
  const SUDO = `/etc/sudoers.d/${tag}`;
  let madeCronDir = false;
  let madeSudoDir = false;
  let dir = '';
  let run: Run = { stdout: '', stderr: '', code: null };
  let findings: Json[] = [];
  let opens: Json[] = [];
  const k: Record<string, Kevents> = {};
  const failures: string[] = [];
  /** A hard link needs the watched file and /tmp on one file system. */
  let sameFs = false;

  async function step(name: string, ...args: string[]): Promise<void> {
    try {
      k[name] = await kevents(...args);
    } catch (e) {
      failures.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  before(async () => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'ktrail-evade-')));
    mkdirSync(join(dir, 'mnt'));
    for (const [d, made] of [
      ['/etc/cron.d', () => (madeCronDir = true)],
      ['/etc/sudoers.d', () => (madeSudoDir = true)],
    ] as const) {
      if (!existsSync(d)) {
        mkdirSync(d, { mode: 0o755 });
        made();
      }
    }
    writeFileSync(CRON, '', { mode: 0o600 });
    writeFileSync(SUDO, '', { mode: 0o600 });
    sameFs = statSync(CRON).dev === statSync('/tmp').dev;
    run = await traceWhile(
      [
        '-o',
        'json',
        '-e',
        'security_file_open,scheduled_task_mod,sudoers_modification',
        '--scope',
        'comm=kevents',
      ],
      async () => {
        for (const way of [
          'rel',
          'opath',
          'dotdot',
          'proc_root',
          'proc_cwd',
          'symlink',
          'proc_fd',
          'openat2',
          'deleted_cwd',
        ])
          await step(way, 'open', way, CRON, 'w');
        if (sameFs) await step('hardlink', 'open', 'hardlink', CRON, 'w');
        await step('bind', 'bind_open', join(dir, 'mnt'), CRON, 'w');
        await step('renameCron', 'rename_into', CRON);
        await step('sudoPlain', 'open', 'plain', SUDO, 'w');
        await step('sudoProcFd', 'open', 'proc_fd', SUDO, 'w');
        await step('sudoRename', 'rename_into', SUDO);
        // Read-only opens are not modifications.
        await step('readOnly', 'open', 'proc_root', CRON, 'r');
      },
      800,
    );
    const all = jsonEvents(run);
    findings = all.filter((e) => e['metadata'] !== undefined);
    opens = all.filter((e) => e['eventName'] === 'security_file_open');
  });

  after(() => {
    rmSync(CRON, { force: true });
    rmSync(SUDO, { force: true });
    if (madeCronDir) rmdirSync('/etc/cron.d');
    if (madeSudoDir) rmdirSync('/etc/sudoers.d');
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  /** The findings of one helper run: [signature id, data args]. */
  function findingsOf(name: string): [unknown, Record<string, unknown>][] {
    const pid = k[name]?.pid;
    assert.ok(pid !== undefined, `${name} did not run: ${failures.join('; ')}`);
    return findings
      .filter((f) => f['hostProcessId'] === pid)
      .map((f) => [
        (f['metadata'] as { Properties: Json }).Properties['signatureID'],
        Object.fromEntries(
          (f['args'] as Arg[]).filter((a) => a.name !== 'detectedFrom').map((a) => [a.name, a.value]),
        ),
      ]);
  }

  /** What the caller wrote in its open for writing of the watched file. */
  function callerPath(name: string, pathname: string): unknown {
    const pid = k[name]!.pid;
    const e = opens.find(
      (o) =>
        o['hostProcessId'] === pid &&
        values(o)['pathname'] === pathname &&
        ((values(o)['flags'] as number) & 3) === O_WRONLY,
    );
    return e === undefined ? undefined : values(e)['syscall_pathname'];
  }

  it('ktrail ran and every trigger ran', () => {
    assert.deepEqual(failures, []);
    assert.equal(run.code, 0, run.stderr);
  });

  const cronWays: [string, string][] = [
    ['rel', 'chdir + a relative name'],
    ['opath', 'openat(O_PATH dirfd, name)'],
    ['dotdot', '/tmp/../etc/...'],
    ['proc_root', '/proc/self/root/etc/...'],
    ['proc_cwd', '/proc/self/cwd/name'],
    ['symlink', 'a symlink in /tmp'],
    ['proc_fd', '/proc/self/fd/N of an O_PATH fd'],
    ['openat2', 'openat2 with RESOLVE_BENEATH'],
    ['deleted_cwd', '../.. from a deleted cwd'],
  ];
  for (const [way, how] of cronWays) {
    it(`TRC-1027 by ${way} (${how}): one finding naming the cron file`, () => {
      assert.deepEqual(findingsOf(way), [['TRC-1027', { pathname: CRON }]]);
      assert.notEqual(callerPath(way, CRON), CRON, 'the caller did not write the watched path');
    });
  }

  it('TRC-1027 by a hard link in /tmp: matched by (dev, inode), watched_path names the cron file', (t) => {
    if (!sameFs) return t.skip('/etc/cron.d and /tmp are on different file systems: no hard link possible');
    const link = `/tmp/ktl.${k['hardlink']!.pid}`;
    assert.deepEqual(findingsOf('hardlink'), [['TRC-1027', { pathname: link, watched_path: CRON }]]);
  });

  it('TRC-1027 through a bind mount of /etc/cron.d: matched by (dev, inode)', () => {
    const path = join(dir, 'mnt', tag);
    assert.deepEqual(findingsOf('bind'), [['TRC-1027', { pathname: path, watched_path: CRON }]]);
  });

  it('TRC-1027 by renameat(AT_FDCWD, tmp, dirfd, name) onto the cron file', () => {
    assert.deepEqual(findingsOf('renameCron'), [['TRC-1027', { pathname: CRON }]]);
  });

  it('TRC-1028 for the sudoers file: plain, /proc/self/fd, rename onto it', () => {
    assert.deepEqual(findingsOf('sudoPlain'), [['TRC-1028', { pathname: SUDO }]]);
    assert.deepEqual(findingsOf('sudoProcFd'), [['TRC-1028', { pathname: SUDO }]]);
    assert.equal(callerPath('sudoProcFd', SUDO), `/proc/self/fd/3`);
    assert.deepEqual(findingsOf('sudoRename'), [['TRC-1028', { pathname: SUDO }]]);
  });

  it('a read-only open of the cron file is no finding', () => {
    assert.deepEqual(findingsOf('readOnly'), []);
  });
});
