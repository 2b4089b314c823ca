/**
 * Tracee's process, memory and socket rules on ktrail's events: kernel events where Tracee uses LSM hooks
 * (security_socket_connect, security_sb_mount, security_file_open, sched_process_exec's resolved path) and
 * syscalls where Tracee does too. Where Tracee relies on an event ktrail lacks (socket_dup), the rule rebuilds
 * the fact from syscalls with a small bounded per-process state, and says so.
 */
import type { TraceEvent } from '../../decode/event.js';
import {
  argInt,
  argString,
  BoundedMap,
  execEnv,
  fileOpen,
  inContainer,
  isWrite,
  OPEN_EVENTS,
  type Peer,
  programExec,
  socketConnect,
  succeeded,
} from '../match.js';
import { defineRule, type FindingArg } from '../types.js';
import {
  ESCAPE_TO_HOST,
  HIJACK_FLOW,
  hitData,
  PRIV_ESC_EXPLOIT,
  watchedPath,
  watchRequires,
} from './files.js';

const PTRACE_TRACEME = 0;
const PTRACE_POKETEXT = 4;
const PTRACE_POKEDATA = 5;

/** Processes and fds remembered per rule; the oldest process is forgotten first. */
const MAX_PROCESSES = 4096;
const MAX_FDS_PER_PROCESS = 16;

function ptraceRequest(ev: TraceEvent): number | undefined {
  return argInt(ev, 'request', 'ptrace_request');
}

export const antiDebugging = defineRule({
  id: 'TRC-102',
  version: '1',
  eventName: 'anti_debugging',
  title: 'Anti-Debugging detected',
  description:
    'A process called ptrace(PTRACE_TRACEME): a process can be traced by one tracer only, so this blocks a ' +
    'debugger from attaching. Malware does it to resist analysis.',
  severity: 1,
  mitre: {
    tactic: 'defense-evasion',
    technique: 'Debugger Evasion',
    techniqueId: 'T1622',
    attackPatternId: 'attack-pattern--e4dc8c01-417f-458d-9ee0-bb0617c1b391',
  },
  tags: [],
  requires: [{ event: 'ptrace', filter: (ev) => ptraceRequest(ev) === PTRACE_TRACEME }],
  onEvent: (ev, ctx) => [
    ctx.finding(ev, [{ name: 'request', type: 'const char *', value: 'PTRACE_TRACEME' }]),
  ],
});

export const ptraceCodeInjection = defineRule({
  id: 'TRC-103',
  version: '1',
  eventName: 'ptrace_code_injection',
  title: 'Code injection detected using ptrace',
  description:
    'A process wrote into the memory of another process with ptrace(PTRACE_POKETEXT or PTRACE_POKEDATA), ' +
    'the classic way to inject code into a running program.',
  severity: 3,
  mitre: {
    tactic: 'defense-evasion',
    technique: 'Ptrace System Calls',
    techniqueId: 'T1055.008',
    attackPatternId: 'attack-pattern--ea016b56-ae0e-47fe-967a-cc0ad51af67f',
  },
  tags: [],
  requires: [
    {
      event: 'ptrace',
      filter: (ev) => {
        const r = ptraceRequest(ev);
        return r === PTRACE_POKETEXT || r === PTRACE_POKEDATA;
      },
    },
  ],
  onEvent: (ev, ctx) => [
    ctx.finding(ev, [
      {
        name: 'request',
        type: 'const char *',
        value: ptraceRequest(ev) === PTRACE_POKETEXT ? 'PTRACE_POKETEXT' : 'PTRACE_POKEDATA',
      },
      { name: 'pid', type: 'int', value: argInt(ev, 'pid') ?? 0 },
    ]),
  ],
});

export const processVmWriteInject = defineRule({
  id: 'TRC-1025',
  version: '1',
  eventName: 'process_vm_write_inject',
  title: 'Code injection detected using process_vm_writev syscall',
  description:
    'A process wrote into the memory of another process with process_vm_writev: a way to inject code ' +
    'without ptrace.',
  severity: 3,
  mitre: {
    tactic: 'defense-evasion',
    technique: 'Process Injection',
    techniqueId: 'T1055',
    attackPatternId: 'attack-pattern--43e7dc91-05b2-474c-b9ac-2ed4fe101f4d',
  },
  tags: [],
  requires: [{ event: 'process_vm_writev', filter: (ev) => argInt(ev, 'pid') !== ev.processId }],
  onEvent: (ev, ctx) => [ctx.finding(ev, [{ name: 'pid', type: 'int', value: argInt(ev, 'pid') ?? 0 }])],
});

/** Tracee's IsMemoryPath: a memfd, or a file in a memory filesystem. */
function memoryPath(p: string): boolean {
  return p.startsWith('memfd:') || p.startsWith('/run/shm/') || p.startsWith('/dev/shm/');
}

export const filelessExecution = defineRule({
  id: 'TRC-105',
  version: '1',
  eventName: 'fileless_execution',
  title: 'Fileless execution detected',
  description:
    'A program was executed from memory rather than from a file: a memfd (however it was reached: execveat ' +
    'with AT_EMPTY_PATH, /proc/self/fd/N), or a file in /dev/shm or /run/shm. It leaves no binary on disk for ' +
    "scanners to find. The path is the one the kernel ran (sched_process_exec's pathname, memfd:NAME).",
  severity: 3,
  mitre: {
    tactic: 'defense-evasion',
    technique: 'Reflective Code Loading',
    techniqueId: 'T1620',
    attackPatternId: 'attack-pattern--4933e63b-9b77-476e-ab29-761bc5b7d15a',
  },
  tags: [],
  requires: [{ event: 'sched_process_exec' }],
  onEvent(ev, ctx) {
    const x = programExec(ev);
    if (x === undefined || !memoryPath(x.pathname)) return undefined;
    return [ctx.finding(ev, [{ name: 'pathname', type: 'const char *', value: x.pathname }])];
  },
});

const LD_PRELOAD_ENV = ['LD_PRELOAD', 'LD_LIBRARY_PATH'];
const LD_PRELOAD_WATCH = {
  access: 'write',
  path: (p: string) => p.endsWith('/etc/ld.so.preload'),
  rename: 'new',
  files: ['/etc/ld.so.preload'],
} as const;

export const ldPreload = defineRule({
  id: 'TRC-107',
  version: '1',
  eventName: 'ld_preload',
  title: 'LD_PRELOAD code injection detected',
  description:
    'A program was started with LD_PRELOAD or LD_LIBRARY_PATH in its environment, or /etc/ld.so.preload was ' +
    'written or replaced. Both make the loader map an attacker library into processes to hook their functions. ' +
    "The environment is execve's envp (sched_process_exec carries none).",
  severity: 2,
  mitre: { ...HIJACK_FLOW, tactic: 'persistence' },
  tags: [],
  requires: [{ event: 'execve' }, { event: 'execveat' }, ...watchRequires(LD_PRELOAD_WATCH)],
  watchFiles: LD_PRELOAD_WATCH.files,
  onEvent(ev, ctx) {
    const env = execEnv(ev);
    if (env !== undefined) {
      for (const v of env) {
        const key = LD_PRELOAD_ENV.find((k) => v.startsWith(`${k}=`));
        if (key !== undefined) return [ctx.finding(ev, [{ name: key, type: 'const char *', value: v }])];
      }
      return undefined;
    }
    const hit = watchedPath(LD_PRELOAD_WATCH, ev, ctx.host);
    return hit === undefined ? undefined : [ctx.finding(ev, hitData(hit))];
  },
});

export const dockerAbuse = defineRule({
  id: 'TRC-1019',
  version: '1',
  eventName: 'docker_abuse',
  title: 'Docker socket abuse detected',
  description:
    'A container process opened the Docker socket (docker.sock) for writing or connected to it. Whoever talks ' +
    'to the Docker API can start a privileged container and own the host.',
  severity: 2,
  mitre: PRIV_ESC_EXPLOIT,
  tags: [],
  requires: [...OPEN_EVENTS, 'security_socket_connect'].map((event) => ({ event, filter: inContainer })),
  onEvent(ev, ctx) {
    let path: string | undefined;
    const open = fileOpen(ev);
    if (open !== undefined) path = isWrite(open.flags) ? open.pathname : undefined;
    else {
      const c = socketConnect(ev);
      if (c !== undefined && c.peer.family === 'AF_UNIX') path = c.peer.path;
    }
    if (path === undefined || !path.endsWith('docker.sock')) return undefined;
    return [ctx.finding(ev, [{ name: 'pathname', type: 'const char *', value: path }])];
  },
});

export const diskMount = defineRule({
  id: 'TRC-1014',
  version: '1',
  eventName: 'disk_mount',
  title: 'Container device mount detected',
  description:
    'A container process mounted a device from /dev. Mounting the host disk inside a container gives access ' +
    "to the host filesystem: a container escape. Only once the container has started: the runtime's own " +
    'mounts while it sets the container up are not findings.',
  severity: 3,
  mitre: ESCAPE_TO_HOST,
  tags: [],
  requires: [{ event: 'security_sb_mount', filter: inContainer }],
  onEvent(ev, ctx) {
    if (ev.containerStarted === false) return undefined;
    const dev = argString(ev, 'dev_name');
    if (dev === undefined || !dev.startsWith('/dev/')) return undefined;
    return [ctx.finding(ev, [{ name: 'dev_name', type: 'const char *', value: dev }])];
  },
});

const SHELLS = ['ash', 'bash', 'csh', 'ksh', 'sh', 'tcsh', 'zsh', 'dash'];
const WEB_SERVERS = ['nginx', 'httpd', 'httpd-foregroun', 'http-nio', 'lighttpd', 'apache', 'apache2'];

export const illegitimateShell = defineRule({
  id: 'TRC-1016',
  version: '1',
  eventName: 'illegitimate_shell',
  title: 'Web server spawned a shell',
  description:
    'A web server process executed a shell: the usual sign of a command injection or web shell. Needs the ' +
    "command name before the exec (sched_process_exec's prev_comm); execve records carry only the new one.",
  severity: 2,
  mitre: {
    tactic: 'initial-access',
    technique: 'Exploit Public-Facing Application',
    techniqueId: 'T1190',
    attackPatternId: 'attack-pattern--3f886f2a-874f-4333-b794-aa6075009b1c',
  },
  tags: [],
  requires: [{ event: 'sched_process_exec' }],
  onEvent(ev, ctx) {
    const prev = argString(ev, 'prev_comm');
    if (prev === undefined || !WEB_SERVERS.includes(prev) || !SHELLS.includes(ev.processName))
      return undefined;
    return [
      ctx.finding(ev, [
        { name: 'prev_comm', type: 'const char *', value: prev },
        { name: 'pathname', type: 'const char *', value: argString(ev, 'pathname') ?? '' },
      ]),
    ];
  },
});

/** Per process: connected inet sockets by fd. */
type SocketState = BoundedMap<number, Map<number, Peer>>;

const STDIO = [0, 1, 2];

function stdioData(peer: Peer, fd: number): FindingArg[] {
  return [
    { name: 'IP address', type: 'const char *', value: peer.ip },
    { name: 'Port', type: 'const char *', value: peer.port },
    { name: 'File descriptor', type: 'int', value: fd },
  ];
}

export const stdioOverSocket = defineRule<SocketState>({
  id: 'TRC-101',
  version: '1',
  eventName: 'stdio_over_socket',
  title: 'Process standard input/output over socket detected',
  description:
    "A process's stdin, stdout or stderr became a network socket: the base of a reverse shell. ktrail sees it " +
    'as a connect (security_socket_connect) on fd X followed by dup2/dup3(X, 0|1|2) in the same process (or a ' +
    'connect on fd 0-2 itself); a socket inherited from a parent or passed over a unix socket is not followed.',
  severity: 3,
  mitre: {
    tactic: 'execution',
    technique: 'Unix Shell',
    techniqueId: 'T1059.004',
    attackPatternId: 'attack-pattern--a9d4b653-6915-42af-98b2-5758c4ceee56',
  },
  tags: [],
  requires: [
    { event: 'security_socket_connect' },
    { event: 'dup2', filter: succeeded },
    { event: 'dup3', filter: succeeded },
  ],
  newState: () => new BoundedMap(MAX_PROCESSES),
  onEvent(ev, ctx) {
    const c = socketConnect(ev);
    if (c !== undefined) {
      const { fd, peer } = c;
      if (peer.family !== 'AF_INET' && peer.family !== 'AF_INET6') return undefined;
      if (peer.port === '' || peer.port === '0') return undefined;
      if (STDIO.includes(fd)) return [ctx.finding(ev, stdioData(peer, fd))];
      const fds = ctx.state.get(ev.hostProcessId) ?? new Map<number, Peer>();
      if (fds.size >= MAX_FDS_PER_PROCESS) fds.delete(fds.keys().next().value as number);
      fds.set(fd, peer);
      ctx.state.set(ev.hostProcessId, fds);
      return undefined;
    }
    if (ev.spec.name !== 'dup2' && ev.spec.name !== 'dup3') return undefined;
    const oldfd = argInt(ev, 'oldfd');
    const newfd = argInt(ev, 'newfd');
    if (oldfd === undefined || newfd === undefined || !STDIO.includes(newfd)) return undefined;
    const peer = ctx.state.get(ev.hostProcessId)?.get(oldfd);
    return peer === undefined ? undefined : [ctx.finding(ev, stdioData(peer, newfd))];
  },
});

export const PROCESS_RULES = [
  stdioOverSocket,
  antiDebugging,
  ptraceCodeInjection,
  filelessExecution,
  ldPreload,
  diskMount,
  illegitimateShell,
  dockerAbuse,
  processVmWriteInject,
];
