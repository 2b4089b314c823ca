import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { catalog, eventByName, setNames, suggestEventName } from '../catalog/index.js';
import { KtrailError } from '../errors.js';
import { policyFromFlags } from '../policy/cli-policy.js';
import { compilePolicies } from '../policy/compile.js';
import { checkFactFilters, factFilters, parseContainerOptions } from './options.js';

function err(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof KtrailError);
    assert.equal(e.exitCode, 2);
    return `${e.message} | ${e.hint ?? ''}`;
  }
  return 'no error';
}

const compiled = (events: string[]) =>
  compilePolicies([
    policyFromFlags(
      { events, scope: [] },
      {
        events: catalog,
        byName: eventByName,
        setNames: [...setNames(), 'default'],
        suggest: suggestEventName,
        defaultNames: [],
      },
    ).policy,
  ]);

describe('--containers', () => {
  it('defaults, comma lists, repeated flags, cri-o as crio', () => {
    assert.deepEqual(parseContainerOptions([]), {
      enrich: true,
      sockets: {},
      cgroupfsPath: undefined,
      cgroupfsForce: false,
    });
    assert.deepEqual(
      parseContainerOptions([
        'enrich=false,sockets.docker=/run/d.sock',
        'sockets.cri-o=/run/crio/crio.sock',
        'cgroupfs.path=/sys/fs/cgroup/pids',
        'cgroupfs.force',
      ]),
      {
        enrich: false,
        sockets: { docker: '/run/d.sock', crio: '/run/crio/crio.sock' },
        cgroupfsPath: '/sys/fs/cgroup/pids',
        cgroupfsForce: true,
      },
    );
  });

  it('refuses what it does not know, naming the option', () => {
    const hint =
      'options: enrich=true|false, sockets.docker=PATH (docker, podman, containerd, crio), cgroupfs.path=PATH, cgroupfs.force=true';
    assert.equal(
      err(() => parseContainerOptions(['enrich=maybe'])),
      `--containers 'enrich=maybe': 'maybe' is not true or false | ${hint}`,
    );
    assert.equal(
      err(() => parseContainerOptions(['sockets.lxd=/x'])),
      `--containers 'sockets.lxd=/x': unknown runtime 'lxd' (docker, podman, containerd, crio) | ${hint}`,
    );
    assert.equal(
      err(() => parseContainerOptions(['sockets.docker=run/d.sock'])),
      `--containers 'sockets.docker=run/d.sock': sockets.docker needs an absolute socket path | ${hint}`,
    );
    assert.equal(
      err(() => parseContainerOptions(['socket.docker=/x'])),
      `--containers 'socket.docker=/x': unknown option 'socket.docker' | ${hint}`,
    );
    assert.equal(
      err(() => parseContainerOptions(['cgroupfs.force=true'])),
      `--containers 'cgroupfs.force': cgroupfs.force needs cgroupfs.path=PATH as well | ${hint}`,
    );
  });

  it('a filter on runtime facts is refused when no runtime can answer, accepted when one can', () => {
    const c = compiled([
      'delete_module',
      'delete_module.scope.containerImage=nginx*',
      'delete_module.scope.container',
    ]);
    assert.deepEqual(factFilters(c), ['delete_module.scope.containerImage=nginx*']);
    const on = parseContainerOptions([]);
    assert.doesNotThrow(() => checkFactFilters(c, 1, on));
    assert.equal(
      err(() => checkFactFilters(c, 0, on)),
      "filter 'delete_module.scope.containerImage=nginx*' needs a container runtime's facts, and no container runtime socket was found (/var/run/docker.sock, /var/run/containerd/containerd.sock, /var/run/crio/crio.sock, /var/run/podman/podman.sock): it could never match | give the runtime socket with --containers sockets.docker=PATH (or containerd, crio, podman)",
    );
    assert.match(
      err(() => checkFactFilters(c, 0, parseContainerOptions(['enrich=false']))),
      /runtime enrichment is off \(--containers enrich=false\)/,
    );
    // container (is it a container) needs no runtime.
    assert.doesNotThrow(() => checkFactFilters(compiled(['delete_module.scope.container']), 0, on));
  });
});
