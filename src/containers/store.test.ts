import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerFacts } from '../decode/event.js';
import { ContainerStore, chooseHierarchy, containerRoot, type RuntimeLookup } from './store.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);
const dir = mkdtempSync(join(tmpdir(), 'ktrail-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const FACTS: ContainerFacts = {
  name: 'web',
  image: 'busybox:latest',
  imageDigest: 'sha256:1234',
  podName: 'web-0',
  podNamespace: 'prod',
  podUid: '0b1c',
  podSandbox: false,
};

/** A runtime that knows `known`, answering after `delayMs` (or never, until aborted). */
function runtime(
  name: string,
  known: Record<string, ContainerFacts>,
  delayMs: number | 'never',
  asked: string[] = [],
): RuntimeLookup {
  return {
    runtime: name,
    async inspect(id, signal) {
      asked.push(`${name}:${id.slice(0, 1)}`);
      if (delayMs === 'never') {
        await new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));
      } else await sleep(delayMs);
      const f = known[id];
      return f === undefined ? undefined : { ...f, runtime: name };
    },
  };
}

describe('container roots', () => {
  it('the container id in the last component makes a root; sub-cgroups and monitors are not', () => {
    assert.deepEqual(containerRoot(`/docker/${A}`), { id: A, runtime: 'docker' });
    assert.deepEqual(containerRoot(`/system.slice/docker-${A}.scope`), { id: A, runtime: 'docker' });
    assert.deepEqual(containerRoot(`/kubepods/besteffort/pod0b1c0b1c-0b1c-0b1c-0b1c-0b1c0b1c0b1c/${A}`), {
      id: A,
      runtime: 'unknown',
    });
    assert.equal(containerRoot(`/system.slice/docker-${A}.scope/init.scope`), undefined);
    assert.equal(containerRoot(`/machine.slice/libpod-conmon-${A}.scope`), undefined);
    assert.equal(containerRoot('/user.slice/user-0.slice'), undefined);
  });
});

describe('the keyed hierarchy', () => {
  const line = (path: string, fs: string, opts: string) => `30 25 0:26 / ${path} rw - ${fs} ${fs} ${opts}`;
  const cgroups = '#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t3\t1\t1\npids\t8\t1\t1\n';
  const hybrid = [
    line('/sys/fs/cgroup/pids', 'cgroup', 'rw,pids'),
    line('/sys/fs/cgroup/cpuset', 'cgroup', 'rw,cpuset'),
    line('/sys/fs/cgroup/unified', 'cgroup2', 'rw'),
  ].join('\n');
  it('cgroup v2 when it is mounted (pure or hybrid); else the cpuset hierarchy; a given path wins', () => {
    assert.deepEqual(chooseHierarchy(hybrid, cgroups), { hierarchy: 0, mount: '/sys/fs/cgroup/unified' });
    const v1 = [
      line('/sys/fs/cgroup/pids', 'cgroup', 'rw,pids'),
      line('/sys/fs/cgroup/cpuset', 'cgroup', 'rw,cpuset'),
    ];
    assert.deepEqual(chooseHierarchy(v1.join('\n'), cgroups), {
      hierarchy: 3,
      mount: '/sys/fs/cgroup/cpuset',
    });
    assert.deepEqual(chooseHierarchy(v1[0]!, cgroups), { hierarchy: 8, mount: '/sys/fs/cgroup/pids' });
    assert.deepEqual(chooseHierarchy(hybrid, cgroups, '/sys/fs/cgroup/pids'), {
      hierarchy: 8,
      mount: '/sys/fs/cgroup/pids',
    });
    assert.deepEqual(chooseHierarchy(hybrid, cgroups, '/nowhere'), { hierarchy: -1, mount: undefined });
    assert.deepEqual(chooseHierarchy('', cgroups), { hierarchy: -1, mount: undefined });
  });
});

describe('ContainerStore', () => {
  it('existed at start, created, started by an exec into a new mount namespace, removed', () => {
    const mount = join(dir, 'lifecycle');
    mkdirSync(join(mount, 'docker', A), { recursive: true });
    mkdirSync(join(mount, 'system.slice'), { recursive: true });
    const store = new ContainerStore({ runtimes: [], hierarchy: 0, mount });
    const found = store.discover();
    assert.deepEqual(
      found.map((c) => [c.id, c.state, c.runtime, c.lookup, c.cgroupPath]),
      [[A, 'existed', 'docker', 'off', `/docker/${A}`]],
    );
    assert.equal(found[0]!.ctimeNs, statSync(join(mount, 'docker', A), { bigint: true }).ctimeNs);
    assert.equal(store.isStarted(A), true);
    assert.equal(store.isNew(A), false);

    // Another hierarchy's directory, and a sub-cgroup, are no containers.
    assert.equal(store.cgroupMkdir(`/docker/${B}`, 4), undefined);
    assert.equal(store.cgroupMkdir(`/docker/${A}/sub`, 0), undefined);
    const b = store.cgroupMkdir(`/docker/${B}`, 0);
    assert.equal(b?.state, 'created');
    assert.equal(b?.ctimeNs, 0n, 'the directory does not exist here: ctime 0');
    assert.equal(store.isStarted(B), false);
    // The runtime's own execs (same mount namespace as their parent) do not start it.
    assert.equal(store.exec(B, false), false);
    assert.equal(store.isStarted(B), false);
    assert.equal(store.exec(B, true), true);
    assert.equal(store.exec(B, true), false, 'only the first one starts it');
    assert.equal(store.isStarted(B), true);
    assert.equal(store.isNew(B), true);
    assert.equal(store.exec(A, true), false, 'an existing container stays existing');

    assert.equal(store.cgroupRmdir(`/docker/${B}`, 4), undefined);
    const gone = store.cgroupRmdir(`/docker/${B}`, 0);
    assert.equal(gone?.id, B);
    assert.equal(gone?.removed, true);
    // A container ktrail never saw made still gets its end reported.
    assert.deepEqual(store.cgroupRmdir(`/docker/${C}`, 0)?.id, C);
  });

  it('asks the runtime the path names first, holds as pending, settles answered, counts', async () => {
    const asked: string[] = [];
    const settled: string[] = [];
    const store = new ContainerStore({
      runtimes: [runtime('containerd', {}, 5, asked), runtime('docker', { [A]: FACTS }, 20, asked)],
      hierarchy: 0,
      mount: join(dir, 'none'),
      onSettled: (id) => settled.push(id),
    });
    store.cgroupMkdir(`/docker/${A}`, 0);
    assert.equal(store.pending(A), true);
    assert.equal(store.facts(A), undefined);
    assert.deepEqual(store.factsOrEmpty(A), {
      ...FACTS,
      name: '',
      image: '',
      imageDigest: '',
      podName: '',
      podNamespace: '',
      podUid: '',
    });
    await sleep(60);
    assert.deepEqual(asked, ['docker:a'], 'docker knew it: containerd was not asked');
    assert.deepEqual(settled, [A]);
    assert.equal(store.pending(A), false);
    assert.deepEqual(store.facts(A), FACTS);
    assert.deepEqual(store.stats(), { lookups: 1, answered: 1, unknown: 0, errors: 0 });

    // A runtime-less path (kubepods, unknown runtime) asks each in turn until one knows it.
    store.cgroupMkdir(`/kubepods/pod0b1c0b1c-0b1c-0b1c-0b1c-0b1c0b1c0b1c/${B}`, 0);
    await sleep(60);
    assert.deepEqual(asked, ['docker:a', 'containerd:b', 'docker:b']);
    assert.equal(store.get(B)?.lookup, 'unknown');
    assert.deepEqual(store.stats(), { lookups: 2, answered: 1, unknown: 1, errors: 0 });
  });

  it('a runtime that does not answer in time: unknown after the deadline; errors are counted', async () => {
    const errors: string[] = [];
    const broken: RuntimeLookup = {
      runtime: 'docker',
      inspect: async () => {
        throw new Error('connection refused');
      },
    };
    const store = new ContainerStore({
      runtimes: [broken, runtime('containerd', { [A]: FACTS }, 'never')],
      hierarchy: 0,
      mount: undefined,
      waitMs: 40,
      onError: (r, id, e) => errors.push(`${r} ${id.slice(0, 1)} ${(e as Error).message}`),
    });
    const t0 = Date.now();
    store.cgroupMkdir(`/docker/${A}`, 0);
    while (store.pending(A)) await sleep(5);
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(store.get(A)?.lookup, 'unknown');
    assert.equal(store.facts(A), undefined);
    assert.deepEqual(errors, ['docker a connection refused', 'containerd a no answer in 40 ms']);
    assert.deepEqual(store.stats(), { lookups: 1, answered: 0, unknown: 1, errors: 2 });
  });

  it('without runtimes nothing is pending; close() ends lookups in flight', async () => {
    const off = new ContainerStore({ runtimes: [], hierarchy: 0, mount: undefined });
    off.cgroupMkdir(`/docker/${A}`, 0);
    assert.equal(off.pending(A), false);
    assert.equal(off.get(A)?.lookup, 'off');
    const store = new ContainerStore({
      runtimes: [runtime('docker', { [A]: FACTS }, 'never')],
      hierarchy: 0,
      mount: undefined,
      waitMs: 60_000,
    });
    store.cgroupMkdir(`/docker/${A}`, 0);
    store.close();
    await sleep(10);
    assert.equal(store.get(A)?.lookup, 'unknown');
  });

  it('keeps at most maxContainers, forgetting removed ones first', () => {
    const store = new ContainerStore({ runtimes: [], hierarchy: 0, mount: undefined, maxContainers: 2 });
    store.cgroupMkdir(`/docker/${A}`, 0);
    store.cgroupMkdir(`/docker/${B}`, 0);
    store.cgroupRmdir(`/docker/${A}`, 0);
    store.cgroupMkdir(`/docker/${C}`, 0);
    assert.equal(store.get(A), undefined);
    assert.equal(store.get(B)?.state, 'created');
    assert.equal(store.get(C)?.state, 'created');
  });
});
