/**
 * End to end with a real container runtime: Debian's docker.io through the Docker harness
 * (test/support/docker.ts: its own dockerd, a busybox image made with `docker import`, every container with
 * `--network none`, everything removed afterwards).
 *
 * Run 1, `ktrail -o json` (the default events and every rule), with the docker socket given, while:
 *   kt-true   `true`: container_create with the runtime's facts, container_remove, and no finding at all
 *   kt-k8s    `true` with io.kubernetes.* labels: the pod fields in container_create and in `kubernetes`
 *   kt-rmmod  busybox `rmmod -f ktr_e2e` (flags O_NONBLOCK|O_EXCL|O_TRUNC): Docker's seccomp profile denies it
 *             before sys_enter, ktrail still reports delete_module from sys_exit (entrySeen false, -EPERM) and
 *             KTR-003 fires
 *   kt-sudo   a shell appends to /etc/sudoers inside: TRC-1028 with the container's path and id
 *   kt-drop   writes busybox's first 4 KiB to /root/x: TRC-1022 (a rule only for containers) with the container's path
 *   kt-api    KUBERNETES_SERVICE_HOST=127.0.0.1 in its environment, `nc 127.0.0.1 443` (refused: --network none):
 *             TRC-1013 with that address; kt-noapi, the same with KUBERNETES_SERVICE_HOST=10.96.0.1: no finding
 *   old       (running since before ktrail started) a `docker exec`: its events are containerStarted
 * Runtime setup (runc's mounts, before the container's first program) is containerStarted false and raises
 * no TRC-1014.
 * Run 2, `--scope container=new -e sched_process_exec`: a `docker exec` in the old container is not new, a new
 * container is.
 * Run 4, event filters on the runtime's facts: `sched_process_exec.scope.containerImage=ktrail-e2e-busybox:*`
 * and `.scope.podName=web-*` pass the labelled container only.
 * Run 3, containers keyed on a cgroup v1 hierarchy (`--containers cgroupfs.path=/sys/fs/cgroup/pids,
 * cgroupfs.force=true`, when that hierarchy is mounted): existing_container for the old container, and
 * container_create / container_remove for a new one, with their facts.
 * Root only; skips with the reason when Docker cannot be set up.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BUSYBOX_TAG,
  buildBusyboxImage,
  cleanupAll,
  type DockerDaemon,
  docker,
  dockerSkipReason,
  ensureDocker,
  removeContainer,
  runContainer,
} from '../support/docker.js';
import { jsonEvents, liveSkipReason, type Run, traceWhile } from './run-ktrail.js';

type Json = Record<string, unknown>;
interface Arg {
  readonly name: string;
  readonly value: unknown;
}

const daemon: DockerDaemon | undefined =
  liveSkipReason() === undefined ? await ensureDocker().catch(() => undefined) : undefined;
const skip =
  liveSkipReason() ?? (daemon === undefined ? (dockerSkipReason() ?? 'no Docker daemon') : undefined);

const values = (e: Json): Record<string, unknown> =>
  Object.fromEntries(
    (e['args'] as Arg[]).filter((a) => a.name !== 'detectedFrom').map((a) => [a.name, a.value]),
  );
const sigId = (f: Json): unknown => (f['metadata'] as { Properties: Json }).Properties['signatureID'];
const started = (e: Json): unknown => (e['contextFlags'] as Json)['containerStarted'];

describe('containers with Docker, live', { skip }, () => {
  let image = '';
  let imageId = '';
  const ids: Record<string, string> = {};
  let run: Run = { stdout: '', stderr: '', code: null };
  let run2: Run = { stdout: '', stderr: '', code: null };
  let run3: Run = { stdout: '', stderr: '', code: null };
  let run4: Run = { stdout: '', stderr: '', code: null };
  const run4Ids: Record<string, string> = {};
  const v1 = existsSync('/sys/fs/cgroup/pids/cgroup.procs') && existsSync('/sys/fs/cgroup/pids/tasks');
  let v1Id = '';
  let events: Json[] = [];
  let newId = '';
  const labels = {
    'io.kubernetes.pod.name': 'web-0',
    'io.kubernetes.pod.namespace': 'prod',
    'io.kubernetes.pod.uid': '6a1f0e4c-1d2b-4c3d-9e8f-0a1b2c3d4e5f',
  };

  before(async () => {
    imageId = (await buildBusyboxImage(BUSYBOX_TAG)).trim();
    image = BUSYBOX_TAG;
    assert.equal((await docker(['image', 'inspect', '-f', '{{.Id}}', image])).trim(), imageId);
    const socket = daemon!.host.replace(/^unix:\/\//, '');
    ids['old'] = (await runContainer({ image, command: ['sleep', '120'], name: 'kt-old', detach: true })).id;
    const ktrail = ['-o', 'json', '--containers', `sockets.docker=${socket}`];
    run = await traceWhile(
      ktrail,
      async () => {
        ids['true'] = (await runContainer({ image, command: ['true'], name: 'kt-true' })).id;
        ids['k8s'] = (await runContainer({ image, command: ['true'], name: 'kt-k8s', labels })).id;
        const rm = await runContainer({ image, command: ['rmmod', '-f', 'ktr_e2e'], name: 'kt-rmmod' });
        ids['rmmod'] = rm.id;
        assert.match(rm.stderr, /Operation not permitted/);
        ids['sudo'] = (
          await runContainer({
            image,
            command: ['sh', '-c', 'echo "x ALL=(ALL) ALL" >> /etc/sudoers'],
            name: 'kt-sudo',
          })
        ).id;
        ids['drop'] = (
          await runContainer({
            image,
            command: ['sh', '-c', 'head -c 4096 /bin/busybox > /root/x'],
            name: 'kt-drop',
          })
        ).id;
        for (const [n, host] of [
          ['api', '127.0.0.1'],
          ['noapi', '10.96.0.1'],
        ] as const)
          ids[n] = (
            await runContainer({
              image,
              command: ['sh', '-c', 'nc 127.0.0.1 443 </dev/null; true'],
              name: `kt-${n}`,
              args: ['-e', `KUBERNETES_SERVICE_HOST=${host}`],
            })
          ).id;
        await docker(['exec', 'kt-old', 'true']);
        for (const n of ['true', 'k8s', 'rmmod', 'sudo', 'drop', 'api', 'noapi'])
          await removeContainer(ids[n]!);
        await sleep(500);
      },
      1000,
    );
    events = jsonEvents(run);
    run2 = await traceWhile(
      [
        '-o',
        'json',
        '-e',
        'sched_process_exec',
        '--scope',
        'container=new',
        '--containers',
        `sockets.docker=${socket}`,
      ],
      async () => {
        await docker(['exec', 'kt-old', 'true']);
        newId = (await runContainer({ image, command: ['true'], name: 'kt-new' })).id;
        await removeContainer(newId);
      },
      800,
    );
    run4 = await traceWhile(
      [
        '-o',
        'json',
        '-e',
        `sched_process_exec.scope.containerImage=${image.split(':')[0]}:*`,
        '-e',
        'sched_process_exec.scope.podName=web-*',
        '--containers',
        `sockets.docker=${socket}`,
      ],
      async () => {
        run4Ids['plain'] = (await runContainer({ image, command: ['true'], name: 'kt-f-plain' })).id;
        run4Ids['pod'] = (await runContainer({ image, command: ['true'], name: 'kt-f-pod', labels })).id;
        for (const id of Object.values(run4Ids)) await removeContainer(id);
      },
      800,
    );
    if (v1)
      run3 = await traceWhile(
        [
          '-o',
          'json',
          '-e',
          'existing_container,container_create,container_remove',
          '--containers',
          `cgroupfs.path=/sys/fs/cgroup/pids,cgroupfs.force=true,sockets.docker=${socket}`,
        ],
        async () => {
          v1Id = (await runContainer({ image, command: ['true'], name: 'kt-v1' })).id;
          await removeContainer(v1Id);
        },
        800,
      );
  });

  after(async () => {
    await cleanupAll();
  });

  const of = (name: string, eventName: string) =>
    events.filter((e) => e['containerId'] === ids[name] && e['eventName'] === eventName);
  const findingsOf = (name: string) =>
    events.filter((e) => e['metadata'] !== undefined && e['containerId'] === ids[name]);

  it('ktrail ran, lost nothing, and left every container event with its runtime facts', () => {
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, / 0 lost/);
    assert.doesNotMatch(run.stderr, /without runtime facts/);
  });

  it('container_create and container_remove, with the name, image and image id from dockerd', () => {
    const create = events.filter(
      (e) => e['eventName'] === 'container_create' && values(e)['container_id'] === ids['true'],
    );
    assert.equal(create.length, 1);
    const v = values(create[0]!);
    assert.equal(typeof v['ctime'], 'number');
    assert.deepEqual(
      { ...v, ctime: 0 },
      {
        runtime: 'docker',
        container_id: ids['true'],
        ctime: 0,
        container_image: image,
        container_image_digest: imageId,
        container_name: 'kt-true',
        pod_name: '',
        pod_namespace: '',
        pod_uid: '',
        pod_sandbox: false,
      },
    );
    assert.deepEqual(create[0]!['container'], {
      id: ids['true'],
      name: 'kt-true',
      image,
      imageDigest: imageId,
    });
    const remove = events.filter(
      (e) => e['eventName'] === 'container_remove' && values(e)['container_id'] === ids['true'],
    );
    assert.equal(remove.length, 1);
    assert.deepEqual(values(remove[0]!), { runtime: 'docker', container_id: ids['true'] });
  });

  it('events from inside carry the container object; runc setup is not started, the program is', () => {
    const execs = of('true', 'sched_process_exec');
    // runc init (the runtime, before the container's program), then `true` itself.
    const last = execs[execs.length - 1]!;
    assert.equal(values(last)['pathname'], '/bin/busybox');
    assert.deepEqual(values(last)['argv'], ['true']);
    assert.equal(started(last), true);
    assert.deepEqual(last['container'], { id: ids['true'], name: 'kt-true', image, imageDigest: imageId });
    assert.deepEqual(last['kubernetes'], {});
    const setup = events.filter(
      (e) => e['containerId'] === ids['true'] && e['eventName'] === 'security_sb_mount',
    );
    assert.ok(setup.length > 5, `runc's mounts in the container's cgroup: ${setup.length}`);
    assert.ok(setup.every((e) => started(e) === false));
  });

  it('a plain docker run raises no finding at all (no TRC-1014 from runc)', () => {
    assert.deepEqual(findingsOf('true').map(sigId), []);
    assert.deepEqual(
      events
        .filter((e) => e['metadata'] !== undefined && sigId(e) === 'TRC-1014')
        .map((e) => e['containerId']),
      [],
    );
  });

  it('Kubernetes labels: pod fields in container_create and in every event', () => {
    const create = events.find(
      (e) => e['eventName'] === 'container_create' && values(e)['container_id'] === ids['k8s'],
    );
    assert.ok(create);
    const v = values(create);
    assert.deepEqual(
      [v['pod_name'], v['pod_namespace'], v['pod_uid'], v['pod_sandbox']],
      ['web-0', 'prod', labels['io.kubernetes.pod.uid'], false],
    );
    const last = of('k8s', 'sched_process_exec').pop()!;
    assert.deepEqual(last['kubernetes'], {
      podName: 'web-0',
      podNamespace: 'prod',
      podUID: labels['io.kubernetes.pod.uid'],
    });
  });

  it('rmmod -f in a container: seccomp denies it before sys_enter, delete_module comes from sys_exit, KTR-003 fires', () => {
    const dm = of('rmmod', 'delete_module');
    assert.equal(dm.length, 1, JSON.stringify(dm));
    assert.equal(dm[0]!['entrySeen'], false);
    assert.equal(dm[0]!['returnValue'], -1);
    assert.deepEqual(values(dm[0]!), { name: 'ktr_e2e', flags: 0xa80 });
    assert.equal(started(dm[0]!), true);
    const ktr3 = findingsOf('rmmod').filter((f) => sigId(f) === 'KTR-003');
    assert.equal(ktr3.length, 1);
    assert.deepEqual(values(ktr3[0]!), {
      syscall: 'delete_module',
      name: 'ktr_e2e',
      containerId: ids['rmmod'],
    });
  });

  it('a write to /etc/sudoers inside a container: TRC-1028 with the path the container sees', () => {
    const f = findingsOf('sudo').filter((x) => sigId(x) === 'TRC-1028');
    assert.equal(f.length, 1, JSON.stringify(findingsOf('sudo').map(sigId)));
    assert.deepEqual(values(f[0]!), { pathname: '/etc/sudoers' });
    assert.deepEqual(f[0]!['container'], { id: ids['sudo'], name: 'kt-sudo', image, imageDigest: imageId });
  });

  it('a container running before ktrail: its docker exec is containerStarted, with its facts', () => {
    const execs = of('old', 'sched_process_exec');
    assert.ok(execs.length >= 1);
    const last = execs[execs.length - 1]!;
    assert.deepEqual(values(last)['argv'], ['true']);
    assert.equal(started(last), true);
    assert.deepEqual(last['container'], { id: ids['old'], name: 'kt-old', image, imageDigest: imageId });
  });

  it('--scope container=new: the new container, not the one that ran before', () => {
    assert.equal(run2.code, 0, run2.stderr);
    const got = jsonEvents(run2);
    assert.ok(got.length >= 1);
    assert.deepEqual([...new Set(got.map((e) => e['containerId']))], [newId]);
    assert.deepEqual(values(got[got.length - 1]!)['argv'], ['true']);
  });

  it('containers keyed on cgroup v1 (pids): existing_container, then container_create and container_remove', (t) => {
    if (!v1) return t.skip('no cgroup v1 pids hierarchy mounted at /sys/fs/cgroup/pids');
    assert.equal(run3.code, 0, run3.stderr);
    const got = jsonEvents(run3).map((e) => [e['eventName'], values(e)] as const);
    const existing = got.filter(([n]) => n === 'existing_container');
    assert.deepEqual(
      existing.map(([, v]) => [v['container_id'], v['container_name'], v['container_image'], v['runtime']]),
      [[ids['old'], 'kt-old', image, 'docker']],
    );
    const mine = got.filter(([n, v]) => n !== 'existing_container' && v['container_id'] === v1Id);
    assert.deepEqual(
      mine.map(([n, v]) => [n, v['container_name'] ?? '-', v['runtime']]),
      [
        ['container_create', 'kt-v1', 'docker'],
        ['container_remove', '-', 'docker'],
      ],
    );
  });

  it('a rule only for containers fires in a real one: TRC-1022 for an ELF written inside', () => {
    const f = findingsOf('drop').filter((x) => sigId(x) === 'TRC-1022');
    assert.equal(f.length, 1, JSON.stringify(findingsOf('drop').map(sigId)));
    assert.deepEqual(values(f[0]!), { path: '/root/x' });
  });

  it('TRC-1013: a container connecting to the API server address of its environment, and only that', () => {
    const api = findingsOf('api').filter((x) => sigId(x) === 'TRC-1013');
    assert.equal(api.length, 1, JSON.stringify(findingsOf('api').map(sigId)));
    assert.deepEqual(values(api[0]!), { ip: '127.0.0.1' });
    assert.equal(api[0]!['eventName'], 'k8s_api_connection');
    assert.deepEqual((api[0]!['args'] as Arg[]).find((a) => a.name === 'detectedFrom')?.value, {
      id: 736,
      name: 'security_socket_connect',
      args: [
        { name: 'sockfd', type: 'int32', value: 3 },
        { name: 'type', type: 'int32', value: 1 },
        {
          name: 'remote_addr',
          type: 'SockAddr',
          value: { sa_family: 'AF_INET', sin_port: '443', sin_addr: '127.0.0.1' },
        },
      ],
      returnValue: 0,
    });
    assert.deepEqual(findingsOf('noapi').map(sigId), []);
    // The connect itself, and net_tcp_connect derived from it (default set).
    assert.deepEqual(of('api', 'net_tcp_connect').map(values), [
      { dst: '127.0.0.1', dst_port: 443, dst_dns: [] },
    ]);
  });

  it('filters on the runtime facts (containerImage, podName) pass the labelled container only', () => {
    assert.equal(run4.code, 0, run4.stderr);
    const got = jsonEvents(run4);
    assert.ok(got.length >= 1);
    assert.deepEqual([...new Set(got.map((e) => e['containerId']))], [run4Ids['pod']]);
    assert.deepEqual(got[got.length - 1]!['kubernetes'], {
      podName: 'web-0',
      podNamespace: 'prod',
      podUID: labels['io.kubernetes.pod.uid'],
    });
  });
});
