import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeEvent, runRule } from '../test-events.js';
import {
  aslrInspection,
  cgroupNotifyOnRelease,
  cgroupReleaseAgent,
  corePatternModification,
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

const openat = (pathname: string, flags: number, ctx = {}) =>
  makeEvent('openat', { dirfd: -100, pathname, flags }, { returnValue: 3, ...ctx });
const rename = (oldpath: string, newpath: string, ctx = {}) =>
  makeEvent('renameat2', { olddirfd: -100, oldpath, newdirfd: -100, newpath }, ctx);
const execve = (pathname: string, ctx = {}) => makeEvent('execve', { pathname, argv: [pathname] }, ctx);

describe('TRC-106 cgroup_notify_on_release', () => {
  it('fires on a write open in a container, relative paths included (base name rule)', () => {
    assert.deepEqual(runRule(cgroupNotifyOnRelease, [openat('notify_on_release', O_WRONLY, C)]), [
      { pathname: 'notify_on_release' },
    ]);
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
  it('does not fire when the open failed', () => {
    assert.deepEqual(
      runRule(cgroupReleaseAgent, [openat('/tmp/cg/release_agent', O_WRONLY, { ...C, returnValue: -13 })]),
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
  it('does not fire on a relative path (not resolved)', () => {
    assert.deepEqual(runRule(corePatternModification, [openat('kernel/core_pattern', O_WRONLY, C)]), []);
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
    const creat = makeEvent('creat', { pathname: '/etc/cron.d/job', mode: 0o644 }, { returnValue: 4 });
    assert.deepEqual(runRule(scheduledTaskModification, [creat, execve('/usr/bin/crontab')]), [
      { pathname: '/etc/cron.d/job' },
      { pathname: '/usr/bin/crontab' },
    ]);
  });
  it('does not fire on cron reading its table, nor on a failed exec of crontab', () => {
    assert.deepEqual(
      runRule(scheduledTaskModification, [
        openat('/etc/crontab', O_RDONLY),
        execve('/usr/bin/crontab', { returnValue: -2 }),
      ]),
      [],
    );
  });
});

describe('exec watches fire once per program start', () => {
  const sched = (pathname: string, ctx = {}) =>
    makeEvent('sched_process_exec', { pathname, cmdpath: pathname, argv: [pathname] }, ctx);
  it('sched_process_exec then the execve exit of the same start give one finding', () => {
    assert.deepEqual(
      runRule(scheduledTaskModification, [sched('/usr/bin/crontab'), execve('/usr/bin/crontab')]),
      [{ pathname: '/usr/bin/crontab' }],
    );
    assert.deepEqual(
      runRule(rcdModification, [execve('/usr/sbin/update-rc.d'), sched('/usr/sbin/update-rc.d')]),
      [{ pathname: '/usr/sbin/update-rc.d' }],
    );
  });
  it('two starts of the same kind, or by two processes, give two findings', () => {
    assert.deepEqual(
      runRule(scheduledTaskModification, [sched('/usr/bin/crontab'), sched('/usr/bin/crontab')]),
      [{ pathname: '/usr/bin/crontab' }, { pathname: '/usr/bin/crontab' }],
    );
    assert.deepEqual(
      runRule(scheduledTaskModification, [
        sched('/usr/bin/crontab', { hostProcessId: 200 }),
        sched('/usr/bin/crontab', { hostProcessId: 201 }),
        execve('/usr/bin/crontab', { hostProcessId: 200 }),
        execve('/usr/bin/crontab', { hostProcessId: 201 }),
      ]),
      [{ pathname: '/usr/bin/crontab' }, { pathname: '/usr/bin/crontab' }],
    );
  });
  it('the second report fires when only it matches (a symlink resolved by sched_process_exec)', () => {
    assert.deepEqual(
      runRule(scheduledTaskModification, [sched('/usr/bin/cron-helper'), execve('/usr/local/bin/crontab')]),
      [{ pathname: '/usr/local/bin/crontab' }],
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
  it('is accepted like openat, with decoded flags', () => {
    const ev = makeEvent('security_file_open', { pathname: '/etc/sudoers', flags: 'O_WRONLY|O_TRUNC' });
    assert.deepEqual(runRule(sudoersModification, [ev]), [{ pathname: '/etc/sudoers' }]);
  });
});
