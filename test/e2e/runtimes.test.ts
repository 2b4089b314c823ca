/**
 * End to end: the container runtime clients (src/containers/runtimes) against a real dockerd and the real
 * containerd it runs, through the Docker harness (test/support/docker.ts). Busybox containers with
 * `--network none` and Kubernetes-style labels; the docker client's answers are compared with `docker
 * inspect`, the containerd client's with `ctr ... containers info` and `ctr ... images ls`. Inspect latency
 * against both daemons is measured and printed (never asserted). Root only; skips with the harness's reason.
 *
 * CRI-O and Podman are not tested for real here: Debian 12 has no CRI-O package, and the harness has no
 * Podman service (Debian's podman 4.3 could serve one; not set up yet). Their clients are covered by the unit
 * tests' real gRPC and HTTP servers (crio.test.ts, docker.test.ts with runtime 'podman').
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ContainerdClient } from '../../src/containers/runtimes/containerd.js';
import { DockerClient } from '../../src/containers/runtimes/docker.js';
import type { ContainerMeta } from '../../src/containers/runtimes/types.js';
import {
  buildBusyboxImage,
  cleanupAll,
  containerdSocket,
  type DockerDaemon,
  docker,
  dockerSkipReason,
  ensureDocker,
  HARNESS_LABEL,
  runContainer,
} from '../support/docker.js';

const daemon: DockerDaemon | undefined = await ensureDocker().catch(() => undefined);
const dockerSocket =
  daemon?.host.startsWith('unix://') === true ? daemon.host.slice('unix://'.length) : undefined;
const skip =
  dockerSkipReason() ??
  (dockerSocket === undefined ? `the docker daemon is not on a unix socket (${daemon?.host})` : undefined);

const TAG = 'ktrail-e2e-busybox:runtimes';
const POD = {
  'io.kubernetes.pod.name': 'web-0',
  'io.kubernetes.pod.namespace': 'shop',
  'io.kubernetes.pod.uid': '3f0c8a52-6d1e-4b7a-9c2f-5e8d1a4b7c90',
};
/** A containerd namespace of this test's own, for a container with an image in containerd's image store. */
const CTR_NS = `ktrail-e2e-rt-${process.pid}`;

/** Runs ctr against `socket`; throws with its stderr when it fails. */
function ctr(socket: string, args: readonly string[], timeoutMs = 60_000): string {
  const r = spawnSync('ctr', ['--address', socket, ...args], { encoding: 'utf8', timeout: timeoutMs });
  if (r.error !== undefined) throw new Error(`ctr ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`ctr ${args.join(' ')}: exit status ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

function hasCtr(): boolean {
  return spawnSync('ctr', ['--version'], { timeout: 10_000 }).status === 0;
}

/** Median and maximum of `n` sequential calls of `fn`, in ms. */
async function latency(n: number, fn: () => Promise<unknown>): Promise<{ median: number; max: number }> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor(n / 2)] ?? 0, max: ms[n - 1] ?? 0 };
}

describe('runtime clients against the real dockerd and its containerd', { skip }, () => {
  let imageId = '';
  let web = '';
  let pause = '';
  let dockerClient: DockerClient;
  let containerd: ContainerdClient | undefined;
  let cdSocket: string | undefined;
  const name = `ktrail-e2e-rt-web-${process.pid}`;
  /** What the test made with ctr, for after(). */
  const made = { namespace: false, containers: [] as string[], images: [] as string[] };

  before(async () => {
    imageId = await buildBusyboxImage(TAG);
    const webRun = await runContainer({
      image: TAG,
      command: ['sleep', '600'],
      name,
      labels: { ...POD, 'io.kubernetes.container.name': 'web', 'io.kubernetes.docker.type': 'container' },
      detach: true,
    });
    web = webRun.id;
    const pauseRun = await runContainer({
      image: TAG,
      command: ['sleep', '600'],
      name: `${name}-pause`,
      labels: { ...POD, 'io.kubernetes.docker.type': 'sandbox' },
      detach: true,
    });
    pause = pauseRun.id;
    dockerClient = new DockerClient(dockerSocket ?? '');
    cdSocket = await containerdSocket();
    if (cdSocket !== undefined) containerd = new ContainerdClient(cdSocket);
  });

  after(async () => {
    dockerClient?.close();
    containerd?.close();
    const problems: string[] = [];
    if (cdSocket !== undefined && made.namespace) {
      // What the containerd test made in its own namespace (the harness removes the rest).
      const rm = (args: string[]) => {
        try {
          ctr(cdSocket ?? '', args, 30_000);
        } catch (e) {
          problems.push((e as Error).message);
        }
      };
      for (const id of made.containers) rm(['-n', CTR_NS, 'containers', 'rm', id]);
      for (const ref of made.images) rm(['-n', CTR_NS, 'images', 'rm', '--sync', ref]);
      rm(['namespaces', 'rm', CTR_NS]);
    }
    await cleanupAll();
    assert.deepEqual(problems, []);
  });

  it('docker: the labelled container, exactly: name, tag, image id as digest (imported: no RepoDigests), pod', async () => {
    const id = (await docker(['image', 'inspect', '-f', '{{.Id}}', TAG])).trim();
    assert.equal(id, imageId);
    const digests = (await docker(['image', 'inspect', '-f', '{{json .RepoDigests}}', TAG])).trim();
    assert.equal(digests, '[]');
    const labels = {
      ...POD,
      'io.kubernetes.container.name': 'web',
      'io.kubernetes.docker.type': 'container',
      [HARNESS_LABEL]: '1',
    };
    assert.deepEqual(
      JSON.parse(await docker(['container', 'inspect', '-f', '{{json .Config.Labels}}', web])),
      labels,
    );
    assert.deepEqual(await dockerClient.inspect(web), {
      runtime: 'docker',
      name,
      image: TAG,
      imageDigest: imageId,
      podName: 'web-0',
      podNamespace: 'shop',
      podUid: '3f0c8a52-6d1e-4b7a-9c2f-5e8d1a4b7c90',
      podSandbox: false,
      labels,
    } satisfies ContainerMeta);
  });

  it('docker: the sandbox label io.kubernetes.docker.type=sandbox', async () => {
    const m = await dockerClient.inspect(pause);
    assert.equal(m?.name, `${name}-pause`);
    assert.equal(m?.podSandbox, true);
    assert.equal(m?.podName, 'web-0');
  });

  it('docker: an id dockerd does not know is undefined', async () => {
    assert.equal(await dockerClient.inspect('0'.repeat(64)), undefined);
  });

  it('docker: list() holds both running containers', async () => {
    const ids = await dockerClient.list();
    assert.ok(ids.includes(web) && ids.includes(pause), `list() = ${JSON.stringify(ids)}`);
    const ps = (await docker(['ps', '-q', '--no-trunc'])).trim().split('\n').sort();
    assert.deepEqual([...ids].sort(), ps);
  });

  it('docker: inspect latency (printed)', async (t) => {
    const l = await latency(100, () => dockerClient.inspect(web));
    t.diagnostic(
      `docker inspect: median ${l.median.toFixed(2)} ms, max ${l.max.toFixed(2)} ms over 100 calls`,
    );
  });

  it("containerd: docker's container is found in namespace moby, as ctr reports it", async (t) => {
    if (containerd === undefined || cdSocket === undefined) {
      t.skip("no containerd socket of the daemon's found");
      return;
    }
    if (!hasCtr()) {
      t.skip('ctr is not installed (Debian package containerd)');
      return;
    }
    const info = JSON.parse(ctr(cdSocket, ['-n', 'moby', 'containers', 'info', web])) as {
      ID: string;
      Labels: Record<string, string> | null;
      Image: string;
    };
    assert.equal(info.ID, web);
    const labels = info.Labels ?? {};
    const m = await containerd.inspect(web);
    assert.deepEqual(m, {
      runtime: 'containerd',
      name: labels['io.kubernetes.container.name'] ?? '',
      image: info.Image,
      imageDigest: '',
      podName: labels['io.kubernetes.pod.name'] ?? '',
      podNamespace: labels['io.kubernetes.pod.namespace'] ?? '',
      podUid: labels['io.kubernetes.pod.uid'] ?? '',
      podSandbox: labels['io.cri-containerd.kind'] === 'sandbox',
      labels,
    } satisfies ContainerMeta);
    t.diagnostic(
      `ctr containers info: Image ${JSON.stringify(info.Image)}, ${Object.keys(labels).length} labels`,
    );
    assert.equal(await containerd.inspect('0'.repeat(64)), undefined);
  });

  it('containerd: list() holds both running containers', async (t) => {
    if (containerd === undefined || cdSocket === undefined) {
      t.skip("no containerd socket of the daemon's found");
      return;
    }
    const ids = await containerd.list();
    assert.ok(ids.includes(web) && ids.includes(pause), `list() = ${JSON.stringify(ids)}`);
    if (hasCtr()) {
      const running = ctr(cdSocket, ['-n', 'moby', 'tasks', 'ls'])
        .split('\n')
        .slice(1)
        .filter((l) => /\bRUNNING\b/.test(l))
        .map((l) => l.split(/\s+/)[0]);
      for (const id of running) assert.ok(ids.includes(id ?? ''), `${id} is running but not listed`);
    }
  });

  it("containerd: a container with an image in containerd's store, in a namespace of its own", async (t) => {
    if (containerd === undefined || cdSocket === undefined || !hasCtr()) {
      t.skip('needs the containerd socket and ctr');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'ktrail-rt-'));
    try {
      const tar = join(dir, 'busybox.tar');
      await docker(['save', '-o', tar, TAG]);
      made.namespace = true;
      ctr(cdSocket, ['-n', CTR_NS, 'images', 'import', tar], 120_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // REF TYPE DIGEST SIZE PLATFORMS LABELS, one line per image.
    const images = ctr(cdSocket, ['-n', CTR_NS, 'images', 'ls'])
      .split('\n')
      .slice(1)
      .filter((l) => l.trim() !== '');
    assert.equal(images.length, 1, images.join('\n'));
    const ref = images[0]?.split(/\s+/)[0];
    const digest = /\bsha256:[0-9a-f]{64}\b/.exec(images[0] ?? '')?.[0];
    assert.ok(ref !== undefined && digest !== undefined, images[0]);
    made.images.push(ref);
    const id = 'ab'.repeat(32);
    ctr(cdSocket, [
      '-n',
      CTR_NS,
      'containers',
      'create',
      '--label',
      'io.kubernetes.container.name=side',
      '--label',
      'io.cri-containerd.kind=sandbox',
      '--label',
      'io.kubernetes.pod.name=web-0',
      ref,
      id,
      'true',
    ]);
    made.containers.push(id);
    const info = JSON.parse(ctr(cdSocket, ['-n', CTR_NS, 'containers', 'info', id])) as {
      Labels: Record<string, string>;
      Image: string;
    };
    assert.equal(info.Image, ref);
    const fresh = new ContainerdClient(cdSocket);
    try {
      assert.deepEqual(await fresh.inspect(id), {
        runtime: 'containerd',
        name: 'side',
        image: ref,
        imageDigest: digest,
        podName: 'web-0',
        podNamespace: '',
        podUid: '',
        podSandbox: true,
        labels: info.Labels,
      } satisfies ContainerMeta);
      t.diagnostic(`image ${ref} digest ${digest}`);
      // A container that is not running is not listed.
      assert.equal((await fresh.list()).includes(id), false);
    } finally {
      fresh.close();
    }
  });

  it('containerd: inspect latency (printed): namespace search on a fresh client, then remembered', async (t) => {
    if (cdSocket === undefined) {
      t.skip("no containerd socket of the daemon's found");
      return;
    }
    const cold: number[] = [];
    for (let i = 0; i < 20; i++) {
      const c = new ContainerdClient(cdSocket);
      const start = performance.now();
      assert.ok(await c.inspect(web));
      cold.push(performance.now() - start);
      c.close();
    }
    cold.sort((a, b) => a - b);
    const c = new ContainerdClient(cdSocket);
    try {
      await c.inspect(web);
      const warm = await latency(100, () => c.inspect(web));
      t.diagnostic(
        `containerd inspect, new client each time (connect + namespace search): median ${cold[10]?.toFixed(2)} ms, ` +
          `max ${cold[19]?.toFixed(2)} ms over 20; one client, namespace remembered: median ` +
          `${warm.median.toFixed(2)} ms, max ${warm.max.toFixed(2)} ms over 100`,
      );
    } finally {
      c.close();
    }
  });
});
