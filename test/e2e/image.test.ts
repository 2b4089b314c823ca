/**
 * End to end: the container image (deploy/Dockerfile). Builds it with the Docker harness (`docker build
 * --network host`, from a Debian 12 + Node.js base made with debootstrap, test/support/debian-image.ts, since no
 * registry is reachable), checks that the runtime stage holds no compiler, then runs it on this kernel twice and
 * sees a host `rmmod -f foo`: `--privileged --pid=host` with the host's /sys/kernel/btf, /sys/fs/cgroup and /proc
 * mounted, and with only CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE (no --privileged), as the DaemonSet runs it.
 * Root only; installs docker.io and debootstrap when missing; skips with the reason when Docker cannot run.
 * Takes about 3-5 minutes (the build stage installs clang); the base root file system is cached, see
 * DEBIAN_CACHE. Loads BPF programs: run it under /tmp/ktrail-bpf.lock like every e2e file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { packageRoot } from '../../src/native/binding.js';
import { nodeBaseImage } from '../support/debian-image.js';
import {
  buildImage,
  cleanupAll,
  containerLogs,
  docker,
  dockerSkipReason,
  ensureDocker,
  imageSize,
  inspectContainer,
  runContainer,
} from '../support/docker.js';

const ROOT = packageRoot();
const TAG = 'ktrail-e2e-image:test';

function skipReason(): string | undefined {
  const docker = dockerSkipReason();
  if (docker !== undefined) return docker;
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'the kernel has no BTF (/sys/kernel/btf/vmlinux)';
  if (spawnSync('rmmod', ['--version']).error !== undefined) return 'rmmod (kmod) is not installed';
  return undefined;
}

await ensureDocker().catch(() => undefined);
/**
 * The base image, made before the tests so that a Debian mirror that cannot be reached (debootstrap fails)
 * skips them with the reason instead of failing; a failing image build still fails.
 */
const base =
  skipReason() === undefined
    ? await nodeBaseImage().catch((e: unknown) => new Error(e instanceof Error ? e.message : String(e)))
    : undefined;
const skip =
  skipReason() ??
  (base instanceof Error ? `making the Debian 12 base image failed: ${base.message}` : undefined);

function ourPrograms(): string[] {
  const r = spawnSync('bpftool', ['prog', 'show'], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n').filter((l) => /raw_tp__|kt_/.test(l));
}

async function ourProgramsAfterExit(): Promise<string[]> {
  for (let i = 0; i < 30 && ourPrograms().length > 0; i++) await sleep(100);
  return ourPrograms();
}

/** A way to run the image, and the one to try when Docker refuses it with `refusal`. */
interface Variant {
  readonly what: string;
  readonly args: readonly string[];
  readonly refusal?: RegExp;
}

/**
 * Runs the image detached with the first variant Docker accepts, waits until ktrail attached, runs `rmmod -f
 * foo` on the host, stops ktrail with SIGINT and returns what it printed, its exit status and the variant.
 */
async function traceRmmodIn(variants: readonly Variant[]) {
  let c: Awaited<ReturnType<typeof runContainer>> | undefined;
  let used: Variant | undefined;
  for (const v of variants) {
    try {
      c = await runContainer({
        image: TAG,
        detach: true,
        args: v.args,
        command: ['-e', 'delete_module', '-o', 'json'],
      });
      used = v;
      break;
    } catch (e) {
      if (v.refusal === undefined || !v.refusal.test(String(e))) throw e;
      process.stderr.write(
        `# ${v.what}: refused by this Docker (${v.refusal.source}), trying the next way\n`,
      );
    }
  }
  if (c === undefined || used === undefined) throw new Error('no way to run the image was accepted');
  process.stderr.write(`# ran: ${used.what}\n`);
  let out = await containerLogs(c.id);
  for (let i = 0; i < 300 && !out.stderr.includes('ktrail: tracing'); i++) {
    if (!(await inspectContainer(c.id)).State.Running) break;
    await sleep(100);
    out = await containerLogs(c.id);
  }
  assert.match(out.stderr, /ktrail: tracing 1 event/, `ktrail did not start:\n${out.stderr}`);
  const pid = spawnSync('rmmod', ['-f', 'foo']).pid ?? 0;
  await sleep(500);
  await docker(['kill', '--signal', 'INT', c.id]);
  await docker(['wait', c.id], 30_000);
  out = await containerLogs(c.id);
  const exit = (await inspectContainer(c.id)).State.ExitCode;
  const events = out.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => e['hostProcessId'] === pid);
  return { ...out, exit, events, used };
}

describe('the container image', { skip, timeout: 30 * 60_000 }, () => {
  let size = 0;

  before(async () => {
    if (base === undefined || base instanceof Error) throw new Error('no base image');
    process.stderr.write(
      `# base image ${base.tag}: ${base.seconds.toFixed(0)} s (root file system ${base.rootfsMade ? 'made' : 'cached'})\n`,
    );
    const built = await buildImage({
      context: ROOT,
      dockerfile: resolve(ROOT, 'deploy', 'Dockerfile'),
      tag: TAG,
      buildArgs: { NODE_IMAGE: base.tag },
    });
    size = await imageSize(TAG);
    const baseSize = await imageSize(base.tag);
    process.stderr.write(
      `# image ${TAG}: built in ${built.seconds.toFixed(0)} s, ${(size / 1e6).toFixed(1)} MB ` +
        `(the base ${(baseSize / 1e6).toFixed(1)} MB)\n`,
    );
  });

  after(cleanupAll);

  it('the runtime stage has Node.js 20+, libbpf and ktrail, and no compiler', async () => {
    const r = await runContainer({
      image: TAG,
      args: ['--entrypoint', 'sh'],
      command: [
        '-c',
        'for c in clang gcc cc g++ make bpftool; do command -v $c; done; node --version; ktrail version; ' +
          'ls /opt/ktrail/node_modules/ktrail/native/prebuilds/linux-x64 /usr/lib/x86_64-linux-gnu/libbpf.so.1',
      ],
    });
    assert.equal(r.exitCode, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^v(2\d|[3-9]\d)\./, r.stdout);
    assert.equal(lines[1], 'ktrail 0.1.0');
    assert.ok(lines.includes('node.napi.glibc.node'), r.stdout);
    assert.ok(lines.includes('/usr/lib/x86_64-linux-gnu/libbpf.so.1'), r.stdout);
    assert.ok(size > 0 && size < 400e6, `image size ${size}`);
  });

  it('privileged, --pid=host, btf, cgroup and /proc mounted: sees a host rmmod -f foo', async () => {
    const mounts = [
      '--pid=host',
      '-v',
      '/sys/kernel/btf:/sys/kernel/btf:ro',
      '-v',
      '/sys/fs/cgroup:/sys/fs/cgroup:ro',
      '-v',
      '/proc:/host/proc:ro',
    ];
    const r = await traceRmmodIn([
      { what: '--privileged', args: ['--privileged', ...mounts], refusal: /unable to apply caps/ },
      // Where the host's own bounding set lacks a capability (this sandbox has no CAP_SYS_RESOURCE), Docker
      // 20.10's --privileged asks runc for it anyway and no privileged container starts. The nearest thing:
      // every capability Docker knows but that one, no seccomp and no AppArmor profile.
      {
        what: '--cap-add=ALL --cap-drop=SYS_RESOURCE, seccomp and AppArmor unconfined (privileged but one capability)',
        args: [
          '--cap-add=ALL',
          '--cap-drop=SYS_RESOURCE',
          '--security-opt',
          'seccomp=unconfined',
          '--security-opt',
          'apparmor=unconfined',
          ...mounts,
        ],
      },
    ]);
    assert.equal(r.exit, 0, r.stderr);
    assert.equal(r.events.length, 1, r.stdout);
    const e = r.events[0]!;
    assert.equal(e['eventName'], 'delete_module');
    assert.equal(e['processName'], 'rmmod');
    assert.equal(e['returnValue'], -38);
    assert.deepEqual(e['args'], [
      { name: 'name', type: 'string', value: 'foo' },
      { name: 'flags', type: 'int32', value: 2560 },
    ]);
    assert.match(r.stderr, /ktrail: SIGINT: \d+ events, 0 lost/);
    assert.deepEqual(await ourProgramsAfterExit(), []);
  });

  it('not privileged, CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE only (or what stands in): sees rmmod -f foo', async () => {
    const common = [
      '--pid=host',
      '--cap-drop=ALL',
      // Docker's default seccomp profile admits bpf(2) only with CAP_SYS_ADMIN in this version.
      '--security-opt',
      'seccomp=unconfined',
      '-v',
      '/sys/kernel/btf:/sys/kernel/btf:ro',
    ];
    const r = await traceRmmodIn([
      {
        what: 'CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE',
        args: [...common, '--cap-add=BPF', '--cap-add=PERFMON', '--cap-add=SYS_PTRACE'],
        refusal: /unknown capability/,
      },
      // Docker 20.10 knows no capability past CAP_AUDIT_READ (37): the pre-5.8 set, where CAP_SYS_ADMIN
      // stands in for CAP_BPF and CAP_PERFMON.
      {
        what: 'CAP_SYS_ADMIN, CAP_SYS_PTRACE (this Docker cannot grant CAP_BPF and CAP_PERFMON)',
        args: [...common, '--cap-add=SYS_ADMIN', '--cap-add=SYS_PTRACE'],
      },
    ]);
    assert.equal(r.exit, 0, r.stderr);
    assert.equal(r.events.length, 1, r.stdout);
    assert.equal(r.events[0]!['processName'], 'rmmod');
    assert.deepEqual(await ourProgramsAfterExit(), []);
  });
});
