import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Engine } from '../engine.js';
import { makeEvent, runRule } from '../test-events.js';
import {
  aslrInspection,
  cgroupNotifyOnRelease,
  cgroupReleaseAgent,
  corePatternModification,
  credentialFilesModification,
  defaultLoaderModification,
  k8sCertTheft,
  k8sServiceAccountToken,
  procKcoreRead,
  procMemAccess,
  procMemCodeInjection,
  rcdModification,
  schedDebugRecon,
  scheduledTaskModification,
  sudoersModification,
  systemRequestKeyMod,
} from './files.js';

const O_RDONLY = 0;
const O_WRONLY = 1;
const O_RDWR = 2;
const O_WRONLY_CREAT_TRUNC = 0o1101;
const C = { containerId: 'c0ffee' };

/** The kernel events the rules read: the opened file, a rename, a program run. */
const openat = (pathname: string, flags: number, ctx = {}, inode = 7) =>
  makeEvent('security_file_open', { pathname, flags, dev: 2049, inode }, { syscall: 'openat', ...ctx });
const rename = (oldpath: string, newpath: string, ctx = {}) =>
  makeEvent(
    'security_inode_rename',
    { old_path: oldpath, new_path: newpath },
    { syscall: 'renameat2', ...ctx },
  );
const execve = (pathname: string, ctx = {}) =>
  makeEvent('sched_process_exec', { cmdpath: pathname, pathname, argv: [pathname] }, ctx);

describe('TRC-106 cgroup_notify_on_release', () => {
  it('fires on a write open in a container', () => {
    assert.deepEqual(
      runRule(cgroupNotifyOnRelease, [openat('/sys/fs/cgroup/memory/x/notify_on_release', O_WRONLY, C)]),
      [{ pathname: '/sys/fs/cgroup/memory/x/notify_on_release' }],
    );
  });
  it('counts a process in its own mount and pid namespaces as a container, without a container cgroup', () => {
    assert.deepEqual(
      runRule(cgroupNotifyOnRelease, [
        openat('/sys/fs/cgroup/memory/x/notify_on_release', O_WRONLY, { isolated: true }),
      ]),
      [{ pathname: '/sys/fs/cgroup/memory/x/notify_on_release' }],
    );
  });
  it('does not fire on the host or for a read', () => {
    assert.deepEqual(
      runRule(cgroupNotifyOnRelease, [openat('/sys/fs/cgroup/x/notify_on_release', O_WRONLY)]),
      [],
    );
    assert.deepEqual(
      runRule(cgroupNotifyOnRelease, [openat('/sys/fs/cgroup/x/notify_on_release', O_RDONLY, C)]),
      [],
    );
  });
});

describe('TRC-1010 cgroup_release_agent', () => {
  it('fires on a write open and on a rename onto release_agent', () => {
    assert.deepEqual(
      runRule(cgroupReleaseAgent, [
        openat('/tmp/cg/release_agent', O_RDWR, C),
        rename('/tmp/x', '/tmp/cg/release_agent', C),
      ]),
      [{ pathname: '/tmp/cg/release_agent' }, { pathname: '/tmp/cg/release_agent' }],
    );
  });
  it('does not fire on a read, nor on the host', () => {
    assert.deepEqual(
      runRule(cgroupReleaseAgent, [
        openat('/tmp/cg/release_agent', O_RDONLY, C),
        openat('/tmp/cg/release_agent', O_WRONLY),
      ]),
      [],
    );
  });
});

describe('TRC-1011 core_pattern_modification', () => {
  it('fires on a write open of core_pattern in a container', () => {
    assert.deepEqual(
      runRule(corePatternModification, [openat('/proc/sys/kernel/core_pattern', O_WRONLY, C)]),
      [{ pathname: '/proc/sys/kernel/core_pattern' }],
    );
  });
  it('does not fire on another file of /proc/sys/kernel', () => {
    assert.deepEqual(
      runRule(corePatternModification, [openat('/proc/sys/kernel/core_uses_pid', O_WRONLY, C)]),
      [],
    );
  });
});

describe('TRC-1012 default_loader_mod', () => {
  it('fires on a write open and a rename onto the loader', () => {
    assert.deepEqual(
      runRule(defaultLoaderModification, [
        openat('/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', O_WRONLY),
        rename('/tmp/evil', '/usr/lib64/ld-linux-x86-64.so.2'),
      ]),
      [
        { pathname: '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2' },
        { pathname: '/usr/lib64/ld-linux-x86-64.so.2' },
      ],
    );
  });
  it('does not fire when the loader is only read, nor for ld.so.cache', () => {
    assert.deepEqual(
      runRule(defaultLoaderModification, [
        openat('/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', O_RDONLY),
        openat('/etc/ld.so.cache', O_RDONLY),
      ]),
      [],
    );
  });
});

describe('TRC-108 k8s_service_account_token', () => {
  const token = '/var/run/secrets/kubernetes.io/serviceaccount/token';
  it('fires on a read by an unexpected process in a container', () => {
    assert.deepEqual(
      runRule(k8sServiceAccountToken, [openat(token, O_RDONLY, { ...C, processName: 'curl' })]),
      [{ pathname: token }],
    );
  });
  it('does not fire for kube-proxy', () => {
    assert.deepEqual(
      runRule(k8sServiceAccountToken, [openat(token, O_RDONLY, { ...C, processName: 'kube-proxy' })]),
      [],
    );
  });
});

describe('TRC-109 aslr_inspection', () => {
  it('fires on a read of randomize_va_space', () => {
    assert.deepEqual(runRule(aslrInspection, [openat('/proc/sys/kernel/randomize_va_space', O_RDONLY)]), [
      { pathname: '/proc/sys/kernel/randomize_va_space' },
    ]);
  });
  it('does not fire on a write-only open', () => {
    assert.deepEqual(runRule(aslrInspection, [openat('/proc/sys/kernel/randomize_va_space', O_WRONLY)]), []);
  });
});

describe('TRC-1018 k8s_cert_theft', () => {
  it('fires on a read and on a rename away from the pki directory', () => {
    assert.deepEqual(
      runRule(k8sCertTheft, [
        openat('/etc/kubernetes/pki/ca.key', O_RDONLY, { processName: 'cat' }),
        rename('/etc/kubernetes/pki/sa.key', '/tmp/sa.key'),
      ]),
      [{ pathname: '/etc/kubernetes/pki/ca.key' }, { pathname: '/etc/kubernetes/pki/sa.key' }],
    );
  });
  it('does not fire for the kubelet', () => {
    assert.deepEqual(
      runRule(k8sCertTheft, [openat('/etc/kubernetes/pki/ca.key', O_RDONLY, { processName: 'kubelet' })]),
      [],
    );
  });
});

describe('TRC-1021 proc_kcore_read', () => {
  it('fires on a read of /proc/kcore in a container', () => {
    assert.deepEqual(runRule(procKcoreRead, [openat('/proc/kcore', O_RDONLY, C)]), [
      { pathname: '/proc/kcore' },
    ]);
  });
  it('does not fire on the host', () => {
    assert.deepEqual(runRule(procKcoreRead, [openat('/proc/kcore', O_RDONLY)]), []);
  });
});

describe('TRC-1023 proc_mem_access and TRC-1024 proc_mem_code_injection', () => {
  it('fire on a read and a write of /proc/PID/mem', () => {
    assert.deepEqual(runRule(procMemAccess, [openat('/proc/1234/mem', O_RDONLY)]), [
      { pathname: '/proc/1234/mem' },
    ]);
    assert.deepEqual(runRule(procMemCodeInjection, [openat('/proc/1234/mem', O_RDWR)]), [
      { pathname: '/proc/1234/mem' },
    ]);
  });
  it('do not fire on /proc/self/mem or /proc/1234/maps, nor with the other access', () => {
    assert.deepEqual(
      runRule(procMemAccess, [openat('/proc/self/mem', O_RDONLY), openat('/proc/1234/maps', O_RDONLY)]),
      [],
    );
    assert.deepEqual(runRule(procMemCodeInjection, [openat('/proc/1234/mem', O_RDONLY)]), []);
    assert.deepEqual(runRule(procMemAccess, [openat('/proc/1234/mem', O_WRONLY)]), []);
  });
});

describe('TRC-1026 rcd_modification', () => {
  it('fires on a write under /etc/init.d, a rename onto rc.local and update-rc.d', () => {
    assert.deepEqual(
      runRule(rcdModification, [
        openat('/etc/init.d/evil', O_WRONLY_CREAT_TRUNC),
        rename('/tmp/rc', '/etc/rc.local'),
        execve('/usr/sbin/update-rc.d'),
      ]),
      [
        { pathname: '/etc/init.d/evil' },
        { pathname: '/etc/rc.local' },
        { pathname: '/usr/sbin/update-rc.d' },
      ],
    );
  });
  it('does not fire on a read of an rc script', () => {
    assert.deepEqual(runRule(rcdModification, [openat('/etc/init.d/ssh', O_RDONLY)]), []);
  });
});

describe('TRC-1027 scheduled_task_mod', () => {
  it('fires on creat of /etc/cron.d/x and on running crontab', () => {
    assert.deepEqual(
      runRule(scheduledTaskModification, [
        openat('/etc/cron.d/job', O_WRONLY_CREAT_TRUNC, { syscall: 'creat' }),
        execve('/usr/bin/crontab'),
      ]),
      [{ pathname: '/etc/cron.d/job' }, { pathname: '/usr/bin/crontab' }],
    );
  });
  it('does not fire on cron reading its table, nor on another program run', () => {
    assert.deepEqual(
      runRule(scheduledTaskModification, [openat('/etc/crontab', O_RDONLY), execve('/usr/sbin/cron')]),
      [],
    );
  });
});

describe('watched files by identity', () => {
  /** An engine whose host knows /etc/sudoers.d/ktrail as (2049, 99). */
  const run = (events: ReturnType<typeof openat>[]) => {
    const host = {
      watchedInode: (dev: number, ino: number) =>
        dev === 2049 && ino === 99 ? '/etc/sudoers.d/ktrail' : undefined,
    };
    const engine = new Engine([sudoersModification], { host });
    return events.flatMap((ev) =>
      engine.dispatch(ev).map((f) => Object.fromEntries(f.data.map((a) => [a.name, a.value]))),
    );
  };
  it('a hard link or a bind mount of a watched file matches by inode, naming both paths', () => {
    assert.deepEqual(run([openat('/tmp/innocent', O_WRONLY, {}, 99)]), [
      { pathname: '/tmp/innocent', watched_path: '/etc/sudoers.d/ktrail' },
    ]);
  });
  it('another inode, or a read, does not', () => {
    assert.deepEqual(
      run([openat('/tmp/innocent', O_WRONLY, {}, 98), openat('/tmp/innocent', O_RDONLY, {}, 99)]),
      [],
    );
  });
  it('declares the files it watches', () => {
    assert.deepEqual(sudoersModification.watchFiles, ['/etc/sudoers', '/etc/sudoers.d/']);
    assert.deepEqual(credentialFilesModification.watchFiles, [
      '/etc/shadow',
      '/etc/gshadow',
      '/etc/passwd',
      '/etc/group',
    ]);
  });
});

describe('KTR-007 credential_files_modification', () => {
  it('fires on a write of /etc/shadow and on a rename onto /etc/passwd', () => {
    assert.deepEqual(
      runRule(credentialFilesModification, [
        openat('/etc/shadow', O_RDWR, { processName: 'python3' }),
        rename('/tmp/p', '/etc/passwd', { processName: 'sh' }),
      ]),
      [{ pathname: '/etc/shadow' }, { pathname: '/etc/passwd' }],
    );
  });
  it('does not fire for passwd(1), nor on a read', () => {
    assert.deepEqual(
      runRule(credentialFilesModification, [
        openat('/etc/shadow', O_RDWR, { processName: 'passwd' }),
        openat('/etc/shadow', O_RDONLY),
      ]),
      [],
    );
  });
});

describe('TRC-1028 sudoers_modification', () => {
  it('fires on a write of /etc/sudoers and a file in sudoers.d', () => {
    assert.deepEqual(
      runRule(sudoersModification, [openat('/etc/sudoers', O_RDWR), rename('/tmp/s', '/etc/sudoers.d/evil')]),
      [{ pathname: '/etc/sudoers' }, { pathname: '/etc/sudoers.d/evil' }],
    );
  });
  it('does not fire when sudo reads its policy', () => {
    assert.deepEqual(runRule(sudoersModification, [openat('/etc/sudoers', O_RDONLY)]), []);
  });
});

describe('TRC-1029 sched_debug_recon', () => {
  it('fires on a read of /proc/sched_debug in a container', () => {
    assert.deepEqual(runRule(schedDebugRecon, [openat('/proc/sched_debug', O_RDONLY, C)]), [
      { pathname: '/proc/sched_debug' },
    ]);
  });
  it('does not fire on the host', () => {
    assert.deepEqual(runRule(schedDebugRecon, [openat('/proc/sched_debug', O_RDONLY)]), []);
  });
});

describe('TRC-1031 system_request_key_mod', () => {
  it('fires on a write of /proc/sysrq-trigger in a container', () => {
    assert.deepEqual(runRule(systemRequestKeyMod, [openat('/proc/sysrq-trigger', O_WRONLY, C)]), [
      { pathname: '/proc/sysrq-trigger' },
    ]);
  });
  it('does not fire on a read', () => {
    assert.deepEqual(runRule(systemRequestKeyMod, [openat('/proc/sys/kernel/sysrq', O_RDONLY, C)]), []);
  });
});

describe("Tracee's security_file_open (analyze of a Tracee file)", () => {
  it('is read with decoded flags', () => {
    const ev = makeEvent('security_file_open', { pathname: '/etc/sudoers', flags: 'O_WRONLY|O_TRUNC' });
    assert.deepEqual(runRule(sudoersModification, [ev]), [{ pathname: '/etc/sudoers' }]);
  });
});
