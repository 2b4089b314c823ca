/**
 * End to end: the Docker harness (test/support/docker.ts) itself. The daemon answers, the busybox image
 * builds, containers run with --network none in `/docker/<64 hex>` cgroups, labels reach `docker inspect`,
 * Docker's default seccomp profile turns busybox `rmmod -f foo` into EPERM, and clean-up leaves no container,
 * image, daemon process, mount or file the test made. Root only; installs docker.io when missing.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import {
  buildBusyboxImage,
  cleanupAll,
  type DockerDaemon,
  docker,
  dockerSkipReason,
  ensureDocker,
  HARNESS_LABEL,
  HARNESS_ROOT,
  inspectContainer,
  removeContainer,
  runContainer,
} from '../support/docker.js';

const TAG = 'ktrail-e2e-busybox:harness-test';
const mountsBefore = mountLines();
const pathsBefore = sidePaths().filter((p) => existsSync(p));
const daemonsBefore = new Set(daemonPids());

const daemon: DockerDaemon | undefined = await ensureDocker().catch(() => undefined);

/** Lines of /proc/self/mountinfo that Docker would add: under the harness root, overlays, namespace files. */
function mountLines(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(HARNESS_ROOT) || / - (overlay|nsfs) /.test(l) || l.includes('/docker'));
}

function sidePaths(): string[] {
  const cgroups = readdirSync('/sys/fs/cgroup').map((h) => `/sys/fs/cgroup/${h}/docker`);
  return [HARNESS_ROOT, '/run/docker', '/run/containerd', '/run/mount', '/etc/docker/key.json', ...cgroups];
}

/**
 * Live processes of a Docker engine: dockerd, containerd and its shims. Zombies do not count: a shim has
 * exited once it is one, and init (its parent by then) reaps it in its own time.
 */
function daemonPids(): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        const stat = readFileSync(`/proc/${n}/stat`, 'utf8');
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
        return /^(dockerd|containerd|containerd-shim.*)$/.test(comm) && state !== 'Z';
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('docker harness', { skip: dockerSkipReason() }, () => {
  const name = `ktrail-e2e-labels-${process.pid}`;

  after(async () => {
    await cleanupAll();
  });

  it('finds or starts a daemon that answers', async () => {
    assert.ok(daemon);
    const info = JSON.parse(await docker(['info', '--format', '{{json .}}'])) as {
      ServerVersion: string;
      CgroupDriver: string;
      SecurityOptions: string[];
    };
    assert.equal(info.ServerVersion, daemon.serverVersion);
    assert.match(daemon.apiVersion, /^1\.\d+$/);
    assert.ok(
      info.SecurityOptions.some((o) => o.startsWith('name=seccomp')),
      `no seccomp: ${info.SecurityOptions}`,
    );
    if (daemon.startedByUs) assert.equal(info.CgroupDriver, 'cgroupfs');
  });

  it('builds the busybox image with docker import', async () => {
    const imageId = await buildBusyboxImage(TAG);
    assert.match(imageId, /^sha256:[0-9a-f]{64}$/);
    const labels = JSON.parse(await docker(['image', 'inspect', '--format', '{{json .Config.Labels}}', TAG]));
    assert.deepEqual(labels, { [HARNESS_LABEL]: '1' });
  });

  it('runs a container with no network in /docker/<id> cgroups', async () => {
    const r = await runContainer({
      image: TAG,
      command: ['sh', '-c', 'cat /proc/self/cgroup; ls /sys/class/net; echo ok'],
    });
    assert.match(r.id, /^[0-9a-f]{64}$/);
    assert.equal(r.exitCode, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.at(-1), 'ok');
    assert.equal(lines.at(-2), 'lo', 'a --network none container has only lo');
    const cgroups = lines.slice(0, -2);
    assert.ok(cgroups.length > 0);
    if (daemon?.startedByUs) {
      // cgroup v1 hierarchies plus the v2 one, e.g. "4:memory:/docker/<id>" and "0::/docker/<id>".
      for (const l of cgroups) assert.match(l, new RegExp(`^\\d+:[^:]*:/docker/${r.id}$`));
    } else {
      assert.ok(
        cgroups.some((l) => l.includes(r.id)),
        cgroups.join('\n'),
      );
    }
    const inspect = await inspectContainer(r.id);
    assert.equal(inspect.HostConfig.NetworkMode, 'none');
  });

  it('shows a running container in /docker/<id> from the host, and removes it', async () => {
    const r = await runContainer({ image: TAG, command: ['sleep', '60'], detach: true });
    assert.equal(r.exitCode, undefined);
    const state = (await inspectContainer(r.id)).State;
    assert.ok(state.Running && state.Pid > 0);
    const host = readFileSync(`/proc/${state.Pid}/cgroup`, 'utf8').trimEnd().split('\n');
    assert.ok(
      host.some((l) => l.endsWith(`/docker/${r.id}`)),
      host.join('\n'),
    );
    await removeContainer(r.id);
    assert.equal(existsSync(`/proc/${state.Pid}`), false);
    const left = await docker(['ps', '--all', '--quiet', '--no-trunc', '--filter', `id=${r.id}`]);
    assert.equal(left.trim(), '');
  });

  it('puts labels and a name on a container', async () => {
    const labels = { 'io.kubernetes.pod.name': 'web-0', 'io.kubernetes.pod.namespace': 'ktrail-e2e' };
    const r = await runContainer({ image: TAG, command: ['true'], name, labels });
    assert.equal(r.exitCode, 0);
    const inspect = await inspectContainer(r.id);
    assert.equal(inspect.Name, `/${name}`);
    assert.deepEqual(inspect.Config.Labels, { ...labels, [HARNESS_LABEL]: '1' });
  });

  it('refuses network flags', async () => {
    await assert.rejects(
      runContainer({ image: TAG, command: ['true'], args: ['--network=host'] }),
      /--network=host refused/,
    );
  });

  it('gets EPERM for rmmod -f foo under the default seccomp profile', async () => {
    const r = await runContainer({ image: TAG, command: ['rmmod', '-f', 'foo'] });
    assert.equal(r.exitCode, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, "rmmod: can't unload module 'foo': Operation not permitted\n");
  });

  it('leaves no container, image, daemon, mount or file behind', async () => {
    const startedByUs = daemon?.startedByUs === true;
    const mine = await docker(['ps', '--all', '--quiet', '--no-trunc', '--filter', `label=${HARNESS_LABEL}`]);
    assert.ok(mine.trim() !== '', 'the test made containers');
    await cleanupAll();
    if (!startedByUs) {
      // A daemon we did not start keeps running: ask it what is left of ours.
      assert.equal(await docker(['ps', '--all', '--quiet', '--filter', `label=${HARNESS_LABEL}`]), '');
      assert.equal(await docker(['images', '--quiet', '--filter', `label=${HARNESS_LABEL}`]), '');
      return;
    }
    const newDaemons = daemonPids().filter((p) => !daemonsBefore.has(p));
    assert.deepEqual(newDaemons, [], 'dockerd, containerd or a shim still runs');
    assert.deepEqual(mountLines(), mountsBefore);
    assert.deepEqual(
      sidePaths().filter((p) => existsSync(p)),
      pathsBefore,
    );
  });
});
