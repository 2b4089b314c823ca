import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeEvent, runRule } from '../test-events.js';
import { apiServerAddress, k8sApiConnection } from './network.js';

const C = { containerId: 'c0ffee', containerStarted: true };
const ENV = ['PATH=/bin', 'KUBERNETES_SERVICE_HOST=10.96.0.1', 'KUBERNETES_SERVICE_PORT=443'];
const execve = (envp: string[], ctx = {}) =>
  makeEvent('execve', { pathname: '/bin/sh', argv: ['sh'], envp }, { returnValue: 0, ...ctx });
const connect = (addr: Record<string, string>, ctx = {}) =>
  makeEvent(
    'security_socket_connect',
    { sockfd: 3, type: 1, remote_addr: addr },
    { syscall: 'connect', ...ctx },
  );
const v4 = (ip: string, port = '443') => ({ sa_family: 'AF_INET', sin_port: port, sin_addr: ip });

describe('TRC-1013 k8s_api_connection', () => {
  it('fires when a container connects to the address its environment names, with that address', () => {
    assert.deepEqual(runRule(k8sApiConnection, [execve(ENV, C), connect(v4('10.96.0.1'), C)]), [
      { ip: '10.96.0.1' },
    ]);
  });

  it('keeps one address per container and compares IPv6 text too', () => {
    const other = { containerId: 'beef', containerStarted: true };
    const evs = [
      execve(ENV, C),
      execve(['KUBERNETES_SERVICE_HOST= fd00::1 '], other),
      connect(v4('10.96.0.1'), other),
      connect({ sa_family: 'AF_INET6', sin6_port: '443', sin6_addr: 'fd00::1' }, other),
      connect(v4('10.96.0.1', '6443'), C),
    ];
    assert.deepEqual(runRule(k8sApiConnection, evs), [{ ip: 'fd00::1' }, { ip: '10.96.0.1' }]);
  });

  it('stays quiet on the host, before the container started, for other addresses and for unix sockets', () => {
    const evs = [
      execve(ENV),
      connect(v4('10.96.0.1')),
      execve(ENV, { containerId: 'c1', containerStarted: false }),
      connect(v4('10.96.0.1'), { containerId: 'c1', containerStarted: false }),
      execve(ENV, C),
      connect(v4('10.96.0.2'), C),
      connect({ sa_family: 'AF_UNIX', sun_path: '10.96.0.1' }, C),
      connect(v4('10.96.0.1'), { containerId: 'unknown', containerStarted: true }),
    ];
    assert.deepEqual(runRule(k8sApiConnection, evs), []);
  });

  it('reads the environment of sched_process_exec too (a Tracee file), and ignores failed execs', () => {
    const exec = makeEvent('sched_process_exec', { pathname: '/bin/sh', env: ENV }, C);
    assert.deepEqual(runRule(k8sApiConnection, [exec, connect(v4('10.96.0.1'), C)]), [{ ip: '10.96.0.1' }]);
    const failed = execve(ENV, { ...C, returnValue: -2 });
    assert.deepEqual(runRule(k8sApiConnection, [failed, connect(v4('10.96.0.1'), C)]), []);
  });

  it("takes the first entry containing the name, as Tracee's does", () => {
    assert.equal(
      apiServerAddress(['X_KUBERNETES_SERVICE_HOST=1.1.1.1', 'KUBERNETES_SERVICE_HOST=2.2.2.2']),
      '1.1.1.1',
    );
    assert.equal(apiServerAddress(['KUBERNETES_SERVICE_PORT=443']), undefined);
  });
});
