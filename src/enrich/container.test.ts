import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ContainerResolver, findCgroup2Mount, parseCgroupPath, parseProcCgroup } from './container.js';

const ID = '7c6d1e1f4b8a4a3f9f2e1d0c9b8a7f6e5d4c3b2a190807060504030201000aff';
const ID2 = 'e2c0f1d3a4b5968778695a4b3c2d1e0f0123456789abcdef0123456789abcdef';
const UID = '2f9c2a9e-5b1d-4f7e-9a63-0c1c7d3e8b41';
const UID_ = UID.replace(/-/g, '_');

test('docker: systemd driver (v2) and cgroupfs driver (v1)', () => {
  assert.deepEqual(parseCgroupPath(`/system.slice/docker-${ID}.scope`), { id: ID, runtime: 'docker' });
  assert.deepEqual(parseCgroupPath(`/docker/${ID}`), { id: ID, runtime: 'docker' });
  // a container running systemd creates its own sub-cgroups; the container still resolves
  assert.deepEqual(parseCgroupPath(`/system.slice/docker-${ID}.scope/init.scope`), {
    id: ID,
    runtime: 'docker',
  });
  // docker in docker: the innermost container
  assert.deepEqual(parseCgroupPath(`/docker/${ID}/docker/${ID2}`), { id: ID2, runtime: 'docker' });
});

test('containerd and cri-o Kubernetes pods (systemd and cgroupfs drivers, every QoS class)', () => {
  assert.deepEqual(
    parseCgroupPath(
      `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID}.scope`,
    ),
    { id: ID, runtime: 'containerd', podUid: UID },
  );
  assert.deepEqual(
    parseCgroupPath(
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/crio-${ID}.scope`,
    ),
    { id: ID, runtime: 'crio', podUid: UID },
  );
  assert.deepEqual(parseCgroupPath(`/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope`), {
    id: ID,
    runtime: 'containerd',
    podUid: UID,
  });
  // cgroupfs driver (v1 layout): the runtime cannot be told from a bare id
  assert.deepEqual(parseCgroupPath(`/kubepods/besteffort/pod${UID}/${ID}`), {
    id: ID,
    runtime: 'unknown',
    podUid: UID,
  });
  assert.deepEqual(parseCgroupPath(`/kubepods/burstable/pod${UID}/crio-${ID}`), {
    id: ID,
    runtime: 'crio',
    podUid: UID,
  });
  assert.deepEqual(parseCgroupPath(`/kubepods/pod${UID}/${ID}`), { id: ID, runtime: 'unknown', podUid: UID });
  // the pod cgroup itself and cri-o's monitor are not containers
  assert.equal(
    parseCgroupPath(`/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice`),
    undefined,
  );
  assert.equal(parseCgroupPath(`/machine.slice/crio-conmon-${ID}.scope`), undefined);
});

test('podman (systemd and cgroupfs) and systemd-nspawn', () => {
  assert.deepEqual(parseCgroupPath(`/machine.slice/libpod-${ID}.scope`), { id: ID, runtime: 'podman' });
  assert.deepEqual(parseCgroupPath(`/machine.slice/libpod-${ID}.scope/container`), {
    id: ID,
    runtime: 'podman',
  });
  assert.deepEqual(
    parseCgroupPath(`/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope`),
    { id: ID, runtime: 'podman' },
  );
  assert.deepEqual(parseCgroupPath(`/libpod_parent/libpod-${ID}`), { id: ID, runtime: 'podman' });
  assert.equal(parseCgroupPath(`/machine.slice/libpod-conmon-${ID}.scope`), undefined);
  assert.deepEqual(parseCgroupPath('/machine.slice/machine-debian\\x2dbuild.scope/payload'), {
    id: 'debian-build',
    runtime: 'nspawn',
  });
  assert.equal(
    parseCgroupPath('/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope/libvirt/emulator'),
    undefined,
  );
});

test('host cgroups name no container', () => {
  for (const p of [
    '/',
    '/init.scope',
    '/system.slice/sshd.service',
    '/user.slice/user-0.slice/session-3.scope',
    '/process_api/c8ef39a692f989fdd1014b5cf1f6b704',
    `/system.slice/${ID}`, // a bare id outside docker/ and kubepods
    `/system.slice/docker-${ID.slice(1)}.scope`, // 63 hex
  ])
    assert.equal(parseCgroupPath(p), undefined, p);
});

test('/proc/<pid>/cgroup: v2 only, v1 only and hybrid texts', () => {
  assert.deepEqual(parseProcCgroup(`0::/system.slice/docker-${ID}.scope\n`), { id: ID, runtime: 'docker' });
  const v1 = [
    `12:pids:/docker/${ID}`,
    `11:memory:/docker/${ID}`,
    `4:cpu,cpuacct:/docker/${ID}`,
    `1:name=systemd:/docker/${ID}`,
    '',
  ].join('\n');
  assert.deepEqual(parseProcCgroup(v1), { id: ID, runtime: 'docker' });
  const hybrid = ['9:name=systemd:/', `4:memory:/kubepods/besteffort/pod${UID}/${ID}`, '0::/', ''].join('\n');
  assert.deepEqual(parseProcCgroup(hybrid), { id: ID, runtime: 'unknown', podUid: UID });
  assert.equal(parseProcCgroup('0::/user.slice/user-0.slice/session-1.scope\n'), undefined);
});

test('the cgroup2 mount is found in mountinfo, hybrid layout included', () => {
  const hybrid = [
    '30 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755',
    '31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw',
    '32 30 0:28 / /sys/fs/cgroup/systemd rw,nosuid shared:11 - cgroup cgroup rw,name=systemd',
  ].join('\n');
  assert.equal(findCgroup2Mount(hybrid), '/sys/fs/cgroup/unified');
  assert.equal(
    findCgroup2Mount('25 1 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n'),
    '/sys/fs/cgroup',
  );
  assert.equal(findCgroup2Mount('32 30 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n'), undefined);
});

test('resolver: cgroup id = directory inode, rescanned on a miss; /proc fallback for host cgroups', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ktrail-cg-'));
  try {
    const root = join(dir, 'cg');
    const proc = join(dir, 'proc');
    mkdirSync(join(root, 'system.slice'), { recursive: true });
    mkdirSync(join(proc, '77'), { recursive: true });
    writeFileSync(join(proc, '77', 'cgroup'), `4:memory:/docker/${ID2}\n0::/\n`);
    let now = 0;
    const r = new ContainerResolver({ cgroupRoot: root, procRoot: proc, now: () => now, rescanMs: 100 });
    r.rescan();
    const rootId = statSync(root, { bigint: true }).ino;
    assert.equal(r.pathOf(rootId), '/');
    assert.equal(r.byCgroupId(rootId), null);
    // a container cgroup created after the scan: found by the rescan a miss triggers
    const scope = join(root, 'system.slice', `docker-${ID}.scope`);
    mkdirSync(scope);
    const id = statSync(scope, { bigint: true }).ino;
    assert.equal(r.byCgroupId(id), undefined, 'rescans are rate-limited');
    now = 150;
    assert.deepEqual(r.byCgroupId(id), { id: ID, runtime: 'docker' });
    assert.equal(r.pathOf(id), `/system.slice/docker-${ID}.scope`);
    // the v2 root says nothing: the v1 line of /proc/<pid>/cgroup does
    assert.deepEqual(r.resolve(rootId, 77), { id: ID2, runtime: 'docker' });
    assert.deepEqual(r.resolve(id, 77), { id: ID, runtime: 'docker' });
    assert.equal(r.resolve(rootId, 78), undefined, 'a vanished pid is the host');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
