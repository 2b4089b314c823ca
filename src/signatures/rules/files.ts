/**
 * Tracee's file rules (watched paths from its signatures/golang sources), on the kernel events ktrail builds:
 * "file opened" is security_file_open (the file the new fd points at, whatever path, symlink, `..`, dirfd or
 * /proc/self/... led there), "file renamed" is security_inode_rename (both paths joined to the kernel's path of
 * their dirfd or cwd), "program run" is sched_process_exec (the file the kernel ran). Files a rule names are
 * also matched by (dev, inode) in a live trace (RuleContext.host, src/enrich/inode-watch.ts), so a hard link
 * or a bind mount of a watched file is caught under its other name.
 *
 * Container origin: a container cgroup (`containerId`) or a process whose mount and pid namespaces are both
 * not the host's (`isolated`), see inContainer.
 */
import type { TraceEvent } from '../../decode/event.js';
import {
  basename,
  EXEC_EVENTS,
  fileOpen,
  fileRename,
  inContainer,
  isRead,
  isWrite,
  OPEN_EVENTS,
  programExec,
  RENAME_EVENTS,
} from '../match.js';
import {
  defineRule,
  type FindingArg,
  type HostFacts,
  type Mitre,
  type Requirement,
  type Rule,
} from '../types.js';

export const ESCAPE_TO_HOST: Mitre = {
  tactic: 'privilege-escalation',
  technique: 'Escape to Host',
  techniqueId: 'T1611',
  attackPatternId: 'attack-pattern--4a5b7ade-8bb5-4853-84ed-23f262002665',
};
export const HIJACK_FLOW: Mitre = {
  tactic: 'defense-evasion',
  technique: 'Hijack Execution Flow',
  techniqueId: 'T1574',
  attackPatternId: 'attack-pattern--aedfca76-3b30-4866-b2aa-0f1d7fd1e4b6',
};
export const PRIV_ESC_EXPLOIT: Mitre = {
  tactic: 'privilege-escalation',
  technique: 'Exploitation for Privilege Escalation',
  techniqueId: 'T1068',
  attackPatternId: 'attack-pattern--b21c3b2d-02e6-45b1-980b-e69051040839',
};

export interface FileWatch {
  /** Which opens count. */
  readonly access: 'read' | 'write';
  /** The path test, on the path the kernel resolved. */
  readonly path: (p: string) => boolean;
  /** Also watch renames; the path tested is the new name (or the old one, for theft of a file). */
  readonly rename?: 'new' | 'old';
  /** Also watch executions; the test gets the program's path. */
  readonly exec?: (p: string) => boolean;
  /** Tracee's Origin: "container". */
  readonly containerOnly?: boolean;
  /** Process names (comm) that are expected to touch the file. */
  readonly legitProcs?: readonly string[];
  /**
   * Files to also match by (dev, inode): paths that pass `path`, and directories ending in '/' whose files do
   * (RuleDefinition.watchFiles).
   */
  readonly files?: readonly string[];
}

type Def = Omit<Rule, 'requires' | 'onEvent' | 'newState' | 'version' | 'tags'>;

/** What a watch matched: the path the event named, and the watched file it is when matched by inode. */
export interface WatchHit {
  readonly path: string;
  readonly watched: string | undefined;
}

/** The watched file an event touches, or undefined. */
export function watchedPath(w: FileWatch, ev: TraceEvent, host?: HostFacts): WatchHit | undefined {
  const open = fileOpen(ev);
  if (open !== undefined) {
    const ok = w.access === 'write' ? isWrite(open.flags) : isRead(open.flags);
    if (!ok) return undefined;
    if (w.path(open.pathname)) return { path: open.pathname, watched: undefined };
    if (host === undefined || w.files === undefined || open.dev === undefined || open.inode === undefined)
      return undefined;
    const watched = host.watchedInode(open.dev, open.inode);
    return watched !== undefined && w.path(watched) ? { path: open.pathname, watched } : undefined;
  }
  if (w.rename !== undefined) {
    const r = fileRename(ev);
    if (r !== undefined) {
      const p = w.rename === 'new' ? r.newpath : r.oldpath;
      return w.path(p) ? { path: p, watched: undefined } : undefined;
    }
  }
  if (w.exec !== undefined) {
    const x = programExec(ev);
    if (x !== undefined && w.exec(x.pathname)) return { path: x.pathname, watched: undefined };
  }
  return undefined;
}

/** The finding data of a watch hit: the path, and the watched file when it was matched by inode. */
export function hitData(hit: WatchHit): FindingArg[] {
  const data: FindingArg[] = [{ name: 'pathname', type: 'const char *', value: hit.path }];
  if (hit.watched !== undefined)
    data.push({ name: 'watched_path', type: 'const char *', value: hit.watched });
  return data;
}

/** The requirements of a file watch: the open events, plus renames and executions when watched. */
export function watchRequires(w: FileWatch): Requirement[] {
  const events: string[] = [...OPEN_EVENTS];
  if (w.rename !== undefined) events.push(...RENAME_EVENTS);
  if (w.exec !== undefined) events.push(...EXEC_EVENTS);
  const filter = (ev: TraceEvent): boolean =>
    (w.containerOnly !== true || inContainer(ev)) &&
    (w.legitProcs === undefined || !w.legitProcs.includes(ev.processName));
  return events.map((event) => ({ event, filter }));
}

/** Builds a rule that fires when a watched file is opened (renamed, executed) with the right access. */
function fileRule(def: Def, w: FileWatch): Rule {
  return defineRule({
    ...def,
    version: '1',
    tags: [],
    requires: watchRequires(w),
    ...(w.files === undefined ? {} : { watchFiles: w.files }),
    onEvent(ev, ctx) {
      const hit = watchedPath(w, ev, ctx.host);
      return hit === undefined ? undefined : [ctx.finding(ev, hitData(hit))];
    },
  });
}

function underAny(dirs: readonly string[]): (p: string) => boolean {
  return (p) => dirs.some((d) => p.startsWith(d));
}

export const cgroupNotifyOnRelease = fileRule(
  {
    id: 'TRC-106',
    eventName: 'cgroup_notify_on_release',
    title: 'Cgroups notify_on_release file modification',
    description:
      'A container process opened a cgroup notify_on_release file for writing. With release_agent, this is a ' +
      'known way to run a command on the host and escape the container.',
    severity: 3,
    mitre: ESCAPE_TO_HOST,
  },
  {
    access: 'write',
    path: (p) => basename(p) === 'notify_on_release',
    containerOnly: true,
  },
);

export const cgroupReleaseAgent = fileRule(
  {
    id: 'TRC-1010',
    eventName: 'cgroup_release_agent',
    title: 'Cgroups release agent file modification',
    description:
      'A container process wrote (or renamed a file onto) a cgroup release_agent file, which the host kernel ' +
      'runs as root when the cgroup empties: a container escape.',
    severity: 3,
    mitre: ESCAPE_TO_HOST,
  },
  {
    access: 'write',
    path: (p) => basename(p) === 'release_agent',
    rename: 'new',
    containerOnly: true,
  },
);

export const corePatternModification = fileRule(
  {
    id: 'TRC-1011',
    eventName: 'core_pattern_modification',
    title: 'Core dumps configuration file modification detected',
    description:
      'A container process opened /proc/sys/kernel/core_pattern for writing. A piped core_pattern makes the ' +
      'host kernel run a program as root on the next crash: a container escape.',
    severity: 3,
    mitre: ESCAPE_TO_HOST,
  },
  { access: 'write', path: (p) => p.endsWith('/proc/sys/kernel/core_pattern'), containerOnly: true },
);

const LOADER = /^\/(lib|usr\/lib).*\/ld.*\.so[^/]*/;
/** Where Linux distributions keep the dynamic loader (x86_64, i386, arm64, musl); symlinks lead to the file. */
const LOADER_FILES = [
  '/lib64/ld-linux-x86-64.so.2',
  '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2',
  '/lib/ld-linux.so.2',
  '/lib/ld-linux-aarch64.so.1',
  '/lib/ld-musl-x86_64.so.1',
];

export const defaultLoaderModification = fileRule(
  {
    id: 'TRC-1012',
    eventName: 'default_loader_mod',
    title: 'Default dynamic loader modification detected',
    description:
      'The dynamic loader (ld*.so under /lib or /usr/lib) was opened for writing or replaced by a rename. The ' +
      'loader runs before every dynamically linked program, so changing it hijacks them all.',
    severity: 3,
    mitre: HIJACK_FLOW,
  },
  { access: 'write', path: (p) => LOADER.test(p), rename: 'new', files: LOADER_FILES },
);

export const k8sServiceAccountToken = fileRule(
  {
    id: 'TRC-108',
    eventName: 'k8s_service_account_token',
    title: 'K8s service account token file read',
    description:
      'A container process other than the usual Kubernetes components read a service account token, the ' +
      'credential a pod uses to talk to the API server.',
    severity: 0,
    mitre: {
      tactic: 'credential-access',
      technique: 'Exploitation for Credential Access',
      techniqueId: 'T1212',
      attackPatternId: 'attack-pattern--9c306d8d-cde7-4b4c-b6e8-d0bb16caca36',
    },
  },
  {
    access: 'read',
    path: (p) => /secrets\/kubernetes\.io\/serviceaccount\/.*token$/.test(p),
    containerOnly: true,
    legitProcs: ['flanneld', 'kube-proxy', 'etcd', 'kube-apiserver', 'coredns', 'kube-controller', 'kubectl'],
  },
);

export const aslrInspection = fileRule(
  {
    id: 'TRC-109',
    eventName: 'aslr_inspection',
    title: 'ASLR inspection detected',
    description:
      'The ASLR setting (/proc/sys/kernel/randomize_va_space) was read. An exploit may check it before ' +
      'choosing how to attack memory.',
    severity: 0,
    mitre: PRIV_ESC_EXPLOIT,
  },
  { access: 'read', path: (p) => p === '/proc/sys/kernel/randomize_va_space' },
);

export const k8sCertTheft = fileRule(
  {
    id: 'TRC-1018',
    eventName: 'k8s_cert_theft',
    title: 'K8s TLS certificate theft detected',
    description:
      'A process other than the Kubernetes control plane read (or moved away) a file under /etc/kubernetes/pki/, ' +
      'where the cluster keeps its TLS keys and certificates.',
    severity: 3,
    mitre: {
      tactic: 'credential-access',
      technique: 'Steal Application Access Token',
      techniqueId: 'T1528',
      attackPatternId: 'attack-pattern--890c9858-598c-401d-a4d5-c67ebcdd703a',
    },
  },
  {
    access: 'read',
    path: (p) => p.startsWith('/etc/kubernetes/pki/'),
    rename: 'old',
    files: ['/etc/kubernetes/pki/'],
    legitProcs: ['kube-apiserver', 'kubelet', 'kube-controller', 'etcd'],
  },
);

export const procKcoreRead = fileRule(
  {
    id: 'TRC-1021',
    eventName: 'proc_kcore_read',
    title: 'Kcore memory file read',
    description:
      'A container process read /proc/kcore, an image of the whole kernel memory: secrets and host data leak ' +
      'through it.',
    severity: 2,
    mitre: ESCAPE_TO_HOST,
  },
  { access: 'read', path: (p) => p.endsWith('/proc/kcore'), containerOnly: true },
);

const PROC_MEM = /\/proc\/(?:\d.+)\/mem$/;

export const procMemAccess = fileRule(
  {
    id: 'TRC-1023',
    eventName: 'proc_mem_access',
    title: 'Process memory access detected',
    description:
      "A process opened another process's /proc/PID/mem for reading. Credential dumpers read secrets out of " +
      'live processes this way.',
    severity: 3,
    mitre: {
      tactic: 'credential-access',
      technique: 'Proc Filesystem',
      techniqueId: 'T1003.007',
      attackPatternId: 'attack-pattern--3120b9fa-23b8-4500-ae73-09494f607b7d',
    },
  },
  { access: 'read', path: (p) => PROC_MEM.test(p) },
);

export const procMemCodeInjection = fileRule(
  {
    id: 'TRC-1024',
    eventName: 'proc_mem_code_injection',
    title: 'Code injection detected through /proc/<pid>/mem file',
    description:
      'A process opened /proc/PID/mem for writing: it can overwrite the code or data of the target process.',
    severity: 3,
    mitre: {
      tactic: 'defense-evasion',
      technique: 'Proc Memory',
      techniqueId: 'T1055.009',
      attackPatternId: 'attack-pattern--d201d4cc-214d-4a74-a1ba-b3fa09fd4591',
    },
  },
  { access: 'write', path: (p) => PROC_MEM.test(p) },
);

const RCD_FILES = ['/etc/rc.local', '/etc/init.d/rc.local'];
const RCD_DIRS = [
  '/etc/rc1.d',
  '/etc/rc2.d',
  '/etc/rc3.d',
  '/etc/rc4.d',
  '/etc/rc5.d',
  '/etc/rc6.d',
  '/etc/rcs.d',
  '/etc/init.d',
  '/etc/rc.d/rc.local',
  '/etc/rc.d/init.d',
  '/etc/rc.d',
];

export const rcdModification = fileRule(
  {
    id: 'TRC-1026',
    eventName: 'rcd_modification',
    title: 'Rcd modification detected',
    description:
      'An rc script (/etc/rc.local, /etc/init.d, /etc/rcN.d) was written or replaced, or update-rc.d ran. These ' +
      'scripts run at boot and on runlevel changes, so a change survives a reboot.',
    severity: 2,
    mitre: {
      tactic: 'persistence',
      technique: 'RC Scripts',
      techniqueId: 'T1037.004',
      attackPatternId: 'attack-pattern--dca670cf-eeec-438f-8185-fd959d9ef211',
    },
  },
  {
    access: 'write',
    path: (p) => RCD_FILES.includes(p) || underAny(RCD_DIRS)(p),
    rename: 'new',
    files: [...RCD_FILES, ...RCD_DIRS.map((d) => `${d}/`)],
    exec: (p) => basename(p) === 'update-rc.d',
  },
);

const CREDENTIAL_FILES = ['/etc/shadow', '/etc/gshadow', '/etc/passwd', '/etc/group'];

const CRON_FILES = ['/etc/crontab', '/etc/anacrontab', '/etc/cron.deny', '/etc/cron.allow'];
const CRON_DIRS = [
  '/etc/cron.hourly',
  '/etc/cron.daily',
  '/etc/cron.weekly',
  '/etc/cron.monthly',
  '/etc/cron.d',
  '/var/spool/cron/crontabs',
  '/var/spool/anacron',
];
const CRON_COMMANDS = ['crontab', 'at', 'batch', 'launchd'];

export const scheduledTaskModification = fileRule(
  {
    id: 'TRC-1027',
    eventName: 'scheduled_task_mod',
    title: 'Scheduled tasks modification detected',
    description:
      'A cron or anacron table was written or replaced, or crontab/at/batch ran. Scheduled tasks let an ' +
      'adversary run code again later and persist.',
    severity: 2,
    mitre: {
      tactic: 'persistence',
      technique: 'Cron',
      techniqueId: 'T1053.003',
      attackPatternId: 'attack-pattern--2acf44aa-542f-4366-b4eb-55ef5747759c',
    },
  },
  {
    access: 'write',
    path: (p) => CRON_FILES.includes(p) || underAny(CRON_DIRS)(p),
    rename: 'new',
    files: [...CRON_FILES, ...CRON_DIRS.map((d) => `${d}/`)],
    exec: (p) => CRON_COMMANDS.includes(basename(p)),
  },
);

export const sudoersModification = fileRule(
  {
    id: 'TRC-1028',
    eventName: 'sudoers_modification',
    title: 'Sudoers file modification detected',
    description:
      'The sudoers policy (/etc/sudoers or a file in /etc/sudoers.d/) was written or replaced: a way to give ' +
      'a user root without a password.',
    severity: 2,
    mitre: {
      tactic: 'privilege-escalation',
      technique: 'Sudo and Sudo Caching',
      techniqueId: 'T1548.003',
      attackPatternId: 'attack-pattern--1365fe3b-0f50-455d-b4da-266ce31c23b0',
    },
  },
  {
    access: 'write',
    path: (p) =>
      p === '/etc/sudoers' ||
      p === '/private/etc/sudoers' ||
      p.startsWith('/etc/sudoers.d/') ||
      p.startsWith('/private/etc/sudoers.d/'),
    rename: 'new',
    files: ['/etc/sudoers', '/etc/sudoers.d/'],
  },
);

export const schedDebugRecon = fileRule(
  {
    id: 'TRC-1029',
    eventName: 'sched_debug_recon',
    title: 'sched_debug CPU file was read',
    description:
      'A container process read the scheduler debug file, which lists every task on the host with its cgroup: ' +
      'reconnaissance of the host and its containers.',
    severity: 1,
    mitre: {
      tactic: 'discovery',
      technique: 'Container and Resource Discovery',
      techniqueId: 'T1613',
      attackPatternId: 'attack-pattern--0470e792-32f8-46b0-a351-652bc35e9336',
    },
  },
  {
    access: 'read',
    path: (p) => p === '/proc/sched_debug' || p === '/sys/kernel/debug/sched/debug',
    containerOnly: true,
  },
);

export const systemRequestKeyMod = fileRule(
  {
    id: 'TRC-1031',
    eventName: 'system_request_key_mod',
    title: 'System request key configuration modification',
    description:
      'A container process opened /proc/sys/kernel/sysrq or /proc/sysrq-trigger for writing: from a container ' +
      'this can reboot, crash or dump the host.',
    severity: 3,
    mitre: ESCAPE_TO_HOST,
  },
  {
    access: 'write',
    path: (p) => p === '/proc/sys/kernel/sysrq' || p === '/proc/sysrq-trigger',
    containerOnly: true,
  },
);

export const credentialFilesModification = fileRule(
  {
    id: 'KTR-007',
    eventName: 'credential_files_modification',
    title: 'Credential file modification detected',
    description:
      'The password or group databases (/etc/shadow, /etc/gshadow, /etc/passwd, /etc/group) were opened for ' +
      'writing, or replaced by a rename, by a program other than the account tools: a way to add a user or ' +
      'set a known password. ktrail rule, no Tracee equivalent.',
    severity: 3,
    mitre: {
      tactic: 'persistence',
      technique: 'Account Manipulation',
      techniqueId: 'T1098',
      attackPatternId: 'attack-pattern--a10641f4-87b4-45a3-a906-92a149cb2c27',
    },
  },
  {
    access: 'write',
    path: (p) => CREDENTIAL_FILES.includes(p),
    rename: 'new',
    files: CREDENTIAL_FILES,
    legitProcs: [
      'passwd',
      'chpasswd',
      'chage',
      'useradd',
      'usermod',
      'userdel',
      'groupadd',
      'groupmod',
      'groupdel',
      'gpasswd',
      'vipw',
      'vigr',
      'chsh',
      'chfn',
      'newusers',
      'pwconv',
      'grpconv',
    ],
  },
);

export const FILE_RULES = [
  credentialFilesModification,
  cgroupNotifyOnRelease,
  cgroupReleaseAgent,
  corePatternModification,
  defaultLoaderModification,
  k8sServiceAccountToken,
  aslrInspection,
  k8sCertTheft,
  procKcoreRead,
  procMemAccess,
  procMemCodeInjection,
  rcdModification,
  scheduledTaskModification,
  sudoersModification,
  schedDebugRecon,
  systemRequestKeyMod,
];
