import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ContainerdClient,
  CrioClient,
  createClient,
  DEFAULT_SOCKETS,
  DockerClient,
  openRuntimes,
  RuntimeError,
} from './index.js';
import { startRawServer, tempDir } from './testing.js';

describe('DEFAULT_SOCKETS', () => {
  it("are Tracee's autodiscovery paths, and cannot be changed", () => {
    assert.deepEqual(DEFAULT_SOCKETS, {
      containerd: '/var/run/containerd/containerd.sock',
      docker: '/var/run/docker.sock',
      crio: '/var/run/crio/crio.sock',
      podman: '/var/run/podman/podman.sock',
    });
    assert.ok(Object.isFrozen(DEFAULT_SOCKETS));
  });
});

describe('openRuntimes', () => {
  const tmp = tempDir();
  const path = (...p: string[]) => join(tmp.dir, ...p);
  const servers: Server[] = [];
  // docker and crio listen; containerd's path is a regular file; podman's does not exist.
  const defaults = {
    containerd: path('containerd', 'containerd.sock'),
    docker: path('docker.sock'),
    crio: path('crio', 'crio.sock'),
    podman: path('podman', 'podman.sock'),
  };
  before(async () => {
    mkdirSync(path('containerd'));
    mkdirSync(path('crio'));
    writeFileSync(defaults.containerd, '');
    servers.push(await startRawServer(defaults.docker, (s) => s.end()));
    servers.push(await startRawServer(defaults.crio, (s) => s.end()));
  });
  after(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
    tmp.remove();
  });

  const shape = (clients: { runtime: string; socket: string }[]) => clients.map((c) => [c.runtime, c.socket]);

  it('without sockets: a client for each default path that is a socket, in containerd, docker, crio, podman order', () => {
    const clients = openRuntimes(undefined, { defaults });
    assert.deepEqual(shape(clients), [
      ['docker', defaults.docker],
      ['crio', defaults.crio],
    ]);
    assert.ok(clients[0] instanceof DockerClient);
    assert.ok(clients[1] instanceof CrioClient);
    for (const c of clients) c.close();
    assert.deepEqual(shape(openRuntimes({}, { defaults })), shape(clients));
  });

  it('no default socket exists: no client', () => {
    assert.deepEqual(openRuntimes(undefined, { defaults: { docker: path('nowhere.sock') } }), []);
  });

  it('sockets given: those only, no discovery', () => {
    const clients = openRuntimes({ podman: defaults.docker }, { defaults });
    assert.deepEqual(shape(clients), [['podman', defaults.docker]]);
    assert.ok(clients[0] instanceof DockerClient);
    for (const c of clients) c.close();
  });

  it('a relative socket path is made absolute', () => {
    const clients = openRuntimes({ docker: relative(process.cwd(), defaults.docker) });
    assert.deepEqual(shape(clients), [['docker', defaults.docker]]);
    for (const c of clients) c.close();
  });

  it('a given socket that does not exist: SOCKET_MISSING naming runtime, path and what to do', () => {
    const missing = path('docker', 'docker.sock');
    assert.throws(
      () => openRuntimes({ docker: missing, crio: defaults.crio }),
      (e: unknown) => {
        assert.ok(e instanceof RuntimeError);
        assert.equal(e.code, 'SOCKET_MISSING');
        assert.equal(e.runtime, 'docker');
        assert.equal(e.socket, missing);
        assert.equal(
          e.message,
          `docker (${missing}): opening the runtime socket: it does not exist; start docker, or give the path ` +
            'of its socket (with no socket given, ktrail uses the default sockets that exist)',
        );
        return true;
      },
    );
  });

  it('a given path that is not a socket: NOT_A_SOCKET', () => {
    assert.throws(() => openRuntimes({ containerd: defaults.containerd }), {
      name: 'RuntimeError',
      code: 'NOT_A_SOCKET',
      message: `containerd (${defaults.containerd}): opening the runtime socket: it is not a unix socket; give the path of containerd's unix socket`,
    });
  });

  it('an unknown runtime name: RangeError listing the known ones', () => {
    assert.throws(() => openRuntimes({ 'cri-o': defaults.crio } as never), {
      name: 'RangeError',
      message: 'unknown container runtime "cri-o" (known: containerd, docker, crio, podman)',
    });
  });

  it('createClient: the class for each runtime, options passed on', () => {
    assert.ok(createClient('containerd', defaults.docker) instanceof ContainerdClient);
    assert.ok(createClient('crio', defaults.docker) instanceof CrioClient);
    const p = createClient('podman', defaults.docker, { timeoutMs: 5 });
    assert.ok(p instanceof DockerClient);
    assert.equal(p.runtime, 'podman');
    assert.throws(() => createClient('docker', defaults.docker, { timeoutMs: -1 }), RangeError);
  });
});
