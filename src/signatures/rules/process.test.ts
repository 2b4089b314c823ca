import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeEvent, runRule } from '../test-events.js';
import {
  antiDebugging,
  diskMount,
  dockerAbuse,
  filelessExecution,
  illegitimateShell,
  ldPreload,
  processVmWriteInject,
  ptraceCodeInjection,
  stdioOverSocket,
} from './process.js';

const C = { containerId: 'c0ffee' };
const ptrace = (request: number | string, pid = 0) => makeEvent('ptrace', { request, pid });
const inet = (port: string) => ({ sa_family: 'AF_INET', sin_port: port, sin_addr: '10.0.0.9' });
const connect = (sockfd: number, addr: Record<string, string>, ctx = {}) =>
  makeEvent(
    'security_socket_connect',
    { sockfd, type: 1, remote_addr: addr },
    { syscall: 'connect', ...ctx },
  );
const exec = (pathname: string, ctx = {}) =>
  makeEvent('sched_process_exec', { cmdpath: pathname, pathname, argv: [pathname] }, ctx);
const fileOpen = (pathname: string, flags: number, ctx = {}) =>
  makeEvent('security_file_open', { pathname, flags, dev: 2049, inode: 7 }, { syscall: 'openat', ...ctx });
const dup2 = (oldfd: number, newfd: number, ctx = {}) =>
  makeEvent('dup2', { oldfd, newfd }, { returnValue: newfd, ...ctx });

describe('TRC-101 stdio_over_socket', () => {
  it('fires for each of 0, 1, 2 when a connected inet socket is dup2-ed onto them', () => {
    const evs = [connect(3, inet('4444')), dup2(3, 0), dup2(3, 1), dup2(3, 2)];
    assert.deepEqual(runRule(stdioOverSocket, evs), [
      { 'IP address': '10.0.0.9', Port: '4444', 'File descriptor': 0 },
      { 'IP address': '10.0.0.9', Port: '4444', 'File descriptor': 1 },
      { 'IP address': '10.0.0.9', Port: '4444', 'File descriptor': 2 },
    ]);
  });
  it('fires on a connect made on fd 0 itself', () => {
    assert.deepEqual(runRule(stdioOverSocket, [connect(0, inet('53'))]), [
      { 'IP address': '10.0.0.9', Port: '53', 'File descriptor': 0 },
    ]);
  });
  it('does not fire for another process, a unix socket, a dup onto fd 5, or port 0', () => {
    const unix = { sa_family: 'AF_UNIX', sun_path: '/run/x.sock' };
    assert.deepEqual(
      runRule(stdioOverSocket, [connect(3, inet('4444')), dup2(3, 0, { hostProcessId: 200 })]),
      [],
    );
    assert.deepEqual(runRule(stdioOverSocket, [connect(3, unix), dup2(3, 0)]), []);
    assert.deepEqual(runRule(stdioOverSocket, [connect(3, inet('4444')), dup2(3, 5)]), []);
    assert.deepEqual(runRule(stdioOverSocket, [connect(3, inet('0')), dup2(3, 1)]), []);
  });
});

describe('TRC-102 anti_debugging', () => {
  it('fires on PTRACE_TRACEME, numeric or decoded', () => {
    assert.deepEqual(runRule(antiDebugging, [ptrace(0), ptrace('PTRACE_TRACEME')]), [
      { request: 'PTRACE_TRACEME' },
      { request: 'PTRACE_TRACEME' },
    ]);
  });
  it('does not fire on PTRACE_ATTACH', () => {
    assert.deepEqual(runRule(antiDebugging, [ptrace(16, 42)]), []);
  });
});

describe('TRC-103 ptrace_code_injection', () => {
  it('fires on POKETEXT and POKEDATA', () => {
    assert.deepEqual(runRule(ptraceCodeInjection, [ptrace(4, 42), ptrace(5, 43)]), [
      { request: 'PTRACE_POKETEXT', pid: 42 },
      { request: 'PTRACE_POKEDATA', pid: 43 },
    ]);
  });
  it('does not fire on PTRACE_PEEKTEXT', () => {
    assert.deepEqual(runRule(ptraceCodeInjection, [ptrace(1, 42)]), []);
  });
});

describe('TRC-105 fileless_execution', () => {
  it('fires on a program the kernel ran from a memfd or from /dev/shm', () => {
    assert.deepEqual(runRule(filelessExecution, [exec('memfd:payload'), exec('/dev/shm/x (deleted)')]), [
      { pathname: 'memfd:payload' },
      { pathname: '/dev/shm/x (deleted)' },
    ]);
  });
  it('does not fire on a normal binary, nor on a deleted one elsewhere', () => {
    assert.deepEqual(runRule(filelessExecution, [exec('/usr/bin/ls'), exec('/tmp/x (deleted)')]), []);
  });
});

describe('TRC-107 ld_preload', () => {
  it('fires on LD_PRELOAD in the execve environment and a write of /etc/ld.so.preload', () => {
    const execve = makeEvent('execve', {
      pathname: '/bin/ls',
      envp: ['HOME=/root', 'LD_PRELOAD=/tmp/hook.so'],
    });
    assert.deepEqual(runRule(ldPreload, [execve, fileOpen('/etc/ld.so.preload', 0o1101)]), [
      { LD_PRELOAD: 'LD_PRELOAD=/tmp/hook.so' },
      { pathname: '/etc/ld.so.preload' },
    ]);
  });
  it('does not fire when the loader reads /etc/ld.so.preload, nor for a plain environment or a failed execve', () => {
    assert.deepEqual(
      runRule(ldPreload, [
        fileOpen('/etc/ld.so.preload', 0o2000000),
        makeEvent('execve', { pathname: '/bin/ls', envp: ['A=1'] }),
        makeEvent('execve', { pathname: '/nope', envp: ['LD_PRELOAD=/x.so'] }, { returnValue: -2 }),
      ]),
      [],
    );
  });
});

describe('TRC-1014 disk_mount', () => {
  const mount = (dev_name: string, ctx = {}) =>
    makeEvent(
      'security_sb_mount',
      { dev_name, path: '/mnt', type: 'ext4', flags: 0 },
      { syscall: 'mount', ...ctx },
    );
  it('fires when a container mounts a /dev device', () => {
    assert.deepEqual(runRule(diskMount, [mount('/dev/sda1', C)]), [{ dev_name: '/dev/sda1' }]);
  });
  it('does not fire for proc or on the host', () => {
    assert.deepEqual(runRule(diskMount, [mount('proc', C), mount('/dev/sda1')]), []);
  });
});

describe('TRC-1016 illegitimate_shell', () => {
  it('fires when nginx becomes a shell', () => {
    const ev = makeEvent(
      'sched_process_exec',
      { pathname: '/bin/sh', prev_comm: 'nginx' },
      { processName: 'sh' },
    );
    assert.deepEqual(runRule(illegitimateShell, [ev]), [{ prev_comm: 'nginx', pathname: '/bin/sh' }]);
  });
  it('does not fire when bash starts a shell', () => {
    const ev = makeEvent(
      'sched_process_exec',
      { pathname: '/bin/sh', prev_comm: 'bash' },
      { processName: 'sh' },
    );
    assert.deepEqual(runRule(illegitimateShell, [ev]), []);
  });
});

describe('TRC-1019 docker_abuse', () => {
  it('fires on a connect to docker.sock and a write open of it, in a container', () => {
    const conn = connect(3, { sa_family: 'AF_UNIX', sun_path: '/var/run/docker.sock' }, C);
    const open = fileOpen('/run/docker.sock', 2, C);
    assert.deepEqual(runRule(dockerAbuse, [conn, open]), [
      { pathname: '/var/run/docker.sock' },
      { pathname: '/run/docker.sock' },
    ]);
  });
  it('does not fire on the host', () => {
    assert.deepEqual(
      runRule(dockerAbuse, [connect(3, { sa_family: 'AF_UNIX', sun_path: '/var/run/docker.sock' })]),
      [],
    );
  });
});

describe('TRC-1025 process_vm_write_inject', () => {
  it('fires when the target is another process', () => {
    assert.deepEqual(runRule(processVmWriteInject, [makeEvent('process_vm_writev', { pid: 4242 })]), [
      { pid: 4242 },
    ]);
  });
  it('does not fire when a process writes to itself', () => {
    assert.deepEqual(runRule(processVmWriteInject, [makeEvent('process_vm_writev', { pid: 100 })]), []);
  });
});
