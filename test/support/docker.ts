/**
 * Support for end-to-end tests that need Docker containers. Not a test file itself.
 *
 * Contract:
 * - `ensureDocker()` makes a Docker daemon answer. It installs Debian's docker.io and busybox-static with apt-get
 *   when they are missing, uses a daemon that already answers (DOCKER_HOST, else /var/run/docker.sock), and
 *   otherwise starts its own dockerd (which starts its own containerd). The harness daemon keeps everything
 *   under HARNESS_ROOT (data, exec root, socket, pidfile), ignores /etc/docker/daemon.json, uses the cgroupfs
 *   driver (containers sit in `/docker/<64 hex>` in every hierarchy) and sets up no networking at all: no
 *   bridge, no iptables rules, no ip_forward change. Its log goes to a temporary file.
 * - Every container runs with `--network none`. The one exception is `buildImage()`: `docker build --network host`,
 *   so that a Dockerfile's apt-get and npm reach their registries (containers that run stay without network).
 *   Every container and image made here is tracked; `cleanupAll()`
 *   removes the containers, then the images (and the dangling stage images of builds from a base image the
 *   harness imported, which carry its label), then stops the daemon if this harness started it and removes
 *   what the daemon left: processes (containerd, shims, container processes), mounts, files, the `docker`
 *   cgroups, /run/docker, /run/containerd and /etc/docker/key.json when they did not exist before.
 * - Lifetime: one process at a time owns the harness daemon (HARNESS_ROOT/owner.json is the lock; others wait up
 *   to two minutes). A process that finds what a dead owner left (daemon, shims, mounts, files) clears it and
 *   starts afresh. If a test file ends without `cleanupAll()`, an exit hook (and SIGINT/SIGTERM/SIGHUP hooks)
 *   does the same cleanup synchronously.
 * - Every docker and apt-get command runs with a timeout; failures throw DockerError "doing what: cause".
 * - Concurrency: call from one process's main thread. Runs, imports and removals may overlap; `ensureDocker()`
 *   is memoised (a failure is remembered and becomes `dockerSkipReason()`), `stopDockerIfStarted()` and
 *   `cleanupAll()` must not overlap with anything else. Root only, Linux only.
 *
 * Usage in a test file (each file runs in its own process, one after another):
 *   await ensureDocker().catch(() => undefined);     // a failure becomes the skip reason
 *   describe('...', { skip: dockerSkipReason() }, () => { after(cleanupAll); ... });
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmdirSync,
  rmSync,
  statfsSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Where the harness daemon keeps everything it writes (removed when it stops). */
export const HARNESS_ROOT = '/var/lib/ktrail-e2e-docker';
/** Label on every container and image the harness makes (value "1"). */
export const HARNESS_LABEL = 'io.ktrail.e2e';
/** Default tag of the busybox image. */
export const BUSYBOX_TAG = 'ktrail-e2e-busybox:latest';

/** A failed Docker, apt-get or clean-up step. The message says what was being done and why it failed. */
export class DockerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DockerError';
  }
}

/** The daemon the harness talks to. */
export interface DockerDaemon {
  /** The docker client used for every command (`/usr/bin/docker` from docker.io when present). */
  readonly cli: string;
  /** DOCKER_HOST of the daemon, e.g. `unix:///var/lib/ktrail-e2e-docker/docker.sock`. */
  readonly host: string;
  /** The daemon's version (`20.10.24+dfsg1`) and the API version client and daemon agreed on (`1.41`). */
  readonly serverVersion: string;
  readonly apiVersion: string;
  /** True when this harness started the daemon: it is then stopped, and its traces removed, at clean-up. */
  readonly startedByUs: boolean;
  /** dockerd's pid and log file when startedByUs. */
  readonly pid: number | undefined;
  readonly log: string | undefined;
}

/** What `runContainer` starts. */
export interface RunOptions {
  /** Image tag or id, e.g. the result of buildBusyboxImage(). */
  readonly image: string;
  /** The command and its arguments (the busybox image has no default command). */
  readonly command: readonly string[];
  readonly name?: string;
  /** Labels besides the harness label, e.g. `{ 'io.kubernetes.pod.name': 'web-0' }`. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Return once the container runs (`docker run -d`) instead of waiting for its exit. */
  readonly detach?: boolean;
  /** More `docker run` flags, e.g. `['--security-opt', 'seccomp=unconfined']`; network flags are refused. */
  readonly args?: readonly string[];
  /** Bound on `docker run` (default 60 s); past it the container is removed and the call throws. */
  readonly timeoutMs?: number;
}

/** A container `runContainer` made. */
export interface ContainerRun {
  /** Full id, 64 hex digits. */
  readonly id: string;
  /** The container's exit status (from the daemon, not docker run's own); undefined when detached. */
  readonly exitCode: number | undefined;
  /** What the container printed (detached: empty). */
  readonly stdout: string;
  readonly stderr: string;
}

/** The parts of `docker inspect` the tests use. */
export interface ContainerInspect {
  readonly Id: string;
  readonly Name: string;
  readonly State: {
    readonly Status: string;
    readonly Running: boolean;
    readonly Pid: number;
    readonly ExitCode: number;
    readonly Error: string;
  };
  readonly Config: { readonly Image: string; readonly Labels: Record<string, string> | null };
  readonly HostConfig: { readonly NetworkMode: string; readonly SecurityOpt: string[] | null };
}

const DOCKERD_READY_MS = 60_000;
const DOCKERD_STOP_MS = 25_000;
const LOCK_WAIT_MS = 120_000;
const APT_MS = 600_000;
const CLI_MS = 60_000;
const HEX64 = /^[0-9a-f]{64}$/;
const CGROUP_SUPER_MAGIC = 0x27e0eb;
const CGROUP2_SUPER_MAGIC = 0x63677270;

const paths = {
  data: join(HARNESS_ROOT, 'data'),
  exec: join(HARNESS_ROOT, 'exec'),
  socket: join(HARNESS_ROOT, 'docker.sock'),
  pidfile: join(HARNESS_ROOT, 'dockerd.pid'),
  config: join(HARNESS_ROOT, 'daemon.json'),
  owner: join(HARNESS_ROOT, 'owner.json'),
};

/** owner.json: who holds HARNESS_ROOT and what to remove besides it. */
interface OwnerState {
  pid: number;
  /** /proc/<pid>/stat start time, so a reused pid is not taken for the owner. */
  start: string;
  /** Paths the daemon creates outside HARNESS_ROOT that did not exist before it started. */
  created: string[];
  logDir: string;
  dockerdPid?: number;
}

interface Session {
  daemon: DockerDaemon;
  env: NodeJS.ProcessEnv;
  owner: OwnerState | undefined;
  /** Settles when our dockerd child has exited and been reaped (so no zombie outlives this process). */
  exited: Promise<void> | undefined;
}

let pending: Promise<DockerDaemon> | undefined;
let session: Session | undefined;
let failure: string | undefined;
const containers = new Set<string>();
const images = new Set<string>();

/**
 * Why Docker e2e tests cannot run here, or undefined. Before ensureDocker() has settled this only checks for
 * root; afterwards it also reports why ensureDocker() failed (install, start, client/daemon mismatch).
 */
export function dockerSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.geteuid?.() !== 0) return 'needs root (installs packages, starts dockerd)';
  return failure;
}

/**
 * Makes a Docker daemon answer and picks the client that works with it. Idempotent: later calls return the
 * same daemon, or the same failure. Takes 10-15 s when it installs docker.io, under a second when it only
 * starts dockerd, about 2 s more when it first clears what a dead run left. Rejects with DockerError.
 */
export function ensureDocker(): Promise<DockerDaemon> {
  if (pending === undefined) {
    pending = prepare().then(
      (s) => {
        session = s;
        return s.daemon;
      },
      (err: unknown) => {
        failure = err instanceof Error ? err.message : String(err);
        throw err;
      },
    );
  }
  return pending;
}

/**
 * Stops the daemon if this harness started it: SIGTERM to dockerd (SIGKILL past 25 s), then containerd, shims
 * and container processes that remain are killed, mounts under HARNESS_ROOT undone, and HARNESS_ROOT and the
 * paths the daemon created removed; containers and images go with it. With a daemon the harness did not
 * start it does nothing (its tracked containers and images stay tracked). The next ensureDocker() starts
 * again. Throws DockerError naming whatever could not be removed.
 */
export async function stopDockerIfStarted(): Promise<void> {
  await pending?.catch(() => undefined);
  const s = session;
  if (s !== undefined && !s.daemon.startedByUs) return;
  session = undefined;
  pending = undefined;
  failure = undefined;
  // The daemon's containers and images go with HARNESS_ROOT.
  containers.clear();
  images.clear();
  unhook();
  if (s?.owner === undefined) return;
  const pid = s.daemon.pid;
  if (pid !== undefined && alive(pid)) {
    process.kill(pid, 'SIGTERM');
    const timer = new AbortController();
    await Promise.race([
      s.exited,
      sleep(DOCKERD_STOP_MS, undefined, { signal: timer.signal }).catch(() => {}),
    ]);
    timer.abort();
  }
  const problems = clearHarness(s.owner, false);
  if (problems.length > 0) throw new DockerError(`stopping the harness dockerd: ${problems.join('; ')}`);
}

/**
 * Makes a tiny image from the host's static busybox with `docker import`: /bin/busybox and a symlink per applet
 * in /bin (sh, rmmod, cat, sleep, ...), /etc/passwd and /etc/group for root, and empty /dev, /proc, /sys,
 * /tmp, /root, /var/tmp. Returns the image id (`sha256:<64 hex>`); the image is tracked for cleanupAll().
 */
export async function buildBusyboxImage(tag: string = BUSYBOX_TAG): Promise<string> {
  const s = await current();
  const busybox = staticBusybox();
  if (busybox === undefined) throw new DockerError('building the busybox image: no static /bin/busybox');
  const dir = mkdtempSync(join(tmpdir(), 'ktrail-busybox-'));
  try {
    const root = join(dir, 'rootfs');
    for (const sub of ['bin', 'dev', 'etc', 'proc', 'root', 'sys', 'tmp', 'var/tmp'])
      mkdirSync(join(root, sub), { recursive: true });
    chmodSync(join(root, 'tmp'), 0o1777);
    chmodSync(join(root, 'var/tmp'), 0o1777);
    copyFileSync(busybox, join(root, 'bin', 'busybox'));
    chmodSync(join(root, 'bin', 'busybox'), 0o755);
    const list = spawnSync(busybox, ['--list'], { encoding: 'utf8', timeout: 10_000 });
    const applets = (list.stdout ?? '').split('\n').filter((a) => /^[\w.[-]+$/.test(a) && a !== 'busybox');
    if (!applets.includes('sh') || !applets.includes('rmmod'))
      throw new DockerError(`building the busybox image: ${busybox} --list names no sh or no rmmod`);
    for (const a of applets) symlinkSync('busybox', join(root, 'bin', a));
    writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\n');
    const tar = join(dir, 'rootfs.tar');
    const t = await exec('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', tar, '.'], {
      timeoutMs: CLI_MS,
    });
    if (t.code !== 0) throw new DockerError(`building the busybox image: tar failed: ${why(t)}`);
    const out = await cli(s, [
      'import',
      '--change',
      `LABEL ${HARNESS_LABEL}=1`,
      '--change',
      'ENV PATH=/bin',
      '--message',
      'ktrail e2e busybox',
      tar,
      tag,
    ]);
    const id = out.trim();
    if (!/^sha256:[0-9a-f]{64}$/.test(id))
      throw new DockerError(`building the busybox image: docker import printed no image id: ${id}`);
    images.add(id);
    return id;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Removes an image by tag or id (no error when it is already gone). */
export async function removeImage(ref: string): Promise<void> {
  return dropImage(ref, false);
}

/**
 * Imports a root file system tarball as an image (`docker import`) with the harness label, `changes` (Dockerfile
 * instructions such as `ENV PATH=...`) applied. Returns the image id; the image is tracked for cleanupAll().
 */
export async function importImage(
  tar: string,
  tag: string,
  changes: readonly string[] = [],
  timeoutMs = 300_000,
): Promise<string> {
  const s = await current();
  const argv = ['import', '--change', `LABEL ${HARNESS_LABEL}=1`];
  for (const c of changes) argv.push('--change', c);
  argv.push('--message', `ktrail e2e ${tag}`, tar, tag);
  const id = (await cli(s, argv, timeoutMs)).trim();
  if (!/^sha256:[0-9a-f]{64}$/.test(id))
    throw new DockerError(`importing ${tar} as ${tag}: docker import printed no image id: ${id}`);
  images.add(id);
  return id;
}

/** What `buildImage` builds. */
export interface BuildOptions {
  /** The build context directory. */
  readonly context: string;
  /** The Dockerfile, absolute or relative to the context. */
  readonly dockerfile: string;
  readonly tag: string;
  readonly buildArgs?: Readonly<Record<string, string>>;
  /** Bound on the whole build (default 20 minutes). */
  readonly timeoutMs?: number;
}

/** A finished build. */
export interface BuiltImage {
  /** `sha256:<64 hex>`. */
  readonly id: string;
  /** What docker build printed (classic builder: one line per step). */
  readonly log: string;
  readonly seconds: number;
}

/**
 * Builds an image with the classic builder (`DOCKER_BUILDKIT=0`, which docker.io 20.10 has without plugins),
 * `--network host` (the Dockerfile's package managers need their registries; no other harness command gets a
 * network), `--rm --force-rm` (no intermediate container stays) and the harness label. The image is tracked for
 * cleanupAll(). Throws DockerError with the last lines of the build log when the build fails or times out.
 */
export async function buildImage(opts: BuildOptions): Promise<BuiltImage> {
  const s = await current();
  const argv = ['build', '--network', 'host', '--rm', '--force-rm', '--label', `${HARNESS_LABEL}=1`];
  for (const [k, v] of Object.entries(opts.buildArgs ?? {})) argv.push('--build-arg', `${k}=${v}`);
  argv.push('--file', opts.dockerfile, '--tag', opts.tag, opts.context);
  const started = Date.now();
  const r = await exec(s.daemon.cli, argv, {
    env: { ...s.env, DOCKER_BUILDKIT: '0' },
    timeoutMs: opts.timeoutMs ?? 20 * 60_000,
  });
  const seconds = (Date.now() - started) / 1000;
  const log = r.stdout + r.stderr;
  const inspect = await exec(s.daemon.cli, ['image', 'inspect', '--format', '{{.Id}}', opts.tag], {
    env: s.env,
    timeoutMs: CLI_MS,
  });
  const id = inspect.code === 0 ? inspect.stdout.trim() : '';
  if (r.code !== 0 || !/^sha256:[0-9a-f]{64}$/.test(id)) {
    const tail = log.trimEnd().split('\n').slice(-25).join('\n');
    throw new DockerError(
      `building ${opts.tag} from ${opts.dockerfile}: ${why(r)}; the build printed:\n${tail}`,
    );
  }
  images.add(id);
  return { id, log, seconds };
}

/** What a container printed so far, stdout and stderr apart (`docker logs`). */
export async function containerLogs(id: string): Promise<{ stdout: string; stderr: string }> {
  const s = await current();
  const r = await exec(s.daemon.cli, ['logs', id], { env: s.env, timeoutMs: CLI_MS });
  if (r.code !== 0) throw new DockerError(`reading the logs of container ${id}: ${why(r)}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

/** The size of an image in bytes, all layers counted (what `docker images` shows). */
export async function imageSize(ref: string): Promise<number> {
  const out = await docker(['image', 'inspect', '--format', '{{.Size}}', ref]);
  return Number(out.trim());
}

async function dropImage(ref: string, force: boolean): Promise<void> {
  const s = await current();
  const args = force ? ['image', 'rm', '--force', ref] : ['image', 'rm', ref];
  const r = await exec(s.daemon.cli, args, { env: s.env, timeoutMs: CLI_MS });
  if (r.code !== 0 && !/no such image/i.test(r.stderr))
    throw new DockerError(`removing image ${ref}: ${why(r)}`);
  for (const id of images) {
    const gone = await exec(s.daemon.cli, ['image', 'inspect', id], { env: s.env, timeoutMs: CLI_MS });
    if (gone.code !== 0 && /no such (image|object)/i.test(gone.stderr)) images.delete(id);
  }
}

/**
 * Runs a container with `--network none` (always) and the harness label, and waits for its exit unless
 * `detach` is set. The container is kept (so it can be inspected) and tracked until removeContainer() or
 * cleanupAll(). Throws DockerError when docker cannot create or start it, or when `docker run` does not end
 * within timeoutMs (the container is then removed).
 */
export async function runContainer(opts: RunOptions): Promise<ContainerRun> {
  const s = await current();
  if (opts.command.length === 0) throw new DockerError(`running a container from ${opts.image}: no command`);
  const extra = opts.args ?? [];
  const net = extra.find((a) => /^--net(work)?(=|$)/.test(a));
  if (net !== undefined)
    throw new DockerError(`running a container from ${opts.image}: ${net} refused (always --network none)`);
  const dir = mkdtempSync(join(tmpdir(), 'ktrail-docker-run-'));
  const cidfile = join(dir, 'cid');
  const argv = ['run', '--network', 'none', '--cidfile', cidfile, '--label', `${HARNESS_LABEL}=1`];
  if (opts.name !== undefined) argv.push('--name', opts.name);
  for (const [k, v] of Object.entries(opts.labels ?? {})) argv.push('--label', `${k}=${v}`);
  if (opts.detach === true) argv.push('--detach');
  argv.push(...extra, opts.image, ...opts.command);
  const timeoutMs = opts.timeoutMs ?? CLI_MS;
  const what = `running ${opts.command.join(' ')} in ${opts.image}`;
  let id: string | undefined;
  let r: Exec;
  try {
    r = await exec(s.daemon.cli, argv, { env: s.env, timeoutMs });
    const cid = existsSync(cidfile) ? readFileSync(cidfile, 'utf8').trim() : '';
    if (HEX64.test(cid)) {
      id = cid;
      containers.add(id);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (r.timedOut) {
    if (id !== undefined) await removeContainer(id);
    throw new DockerError(`${what}: docker run did not end within ${timeoutMs} ms (container removed)`);
  }
  if (id === undefined) throw new DockerError(`${what}: docker run created no container: ${why(r)}`);
  if (opts.detach === true) {
    if (r.code !== 0) throw new DockerError(`${what}: docker run -d failed: ${why(r)}`);
    return { id, exitCode: undefined, stdout: '', stderr: r.stderr };
  }
  const state = (await inspectContainer(id)).State;
  return { id, exitCode: state.ExitCode, stdout: r.stdout, stderr: r.stderr };
}

/** `docker inspect` of one container. */
export async function inspectContainer(id: string): Promise<ContainerInspect> {
  const s = await current();
  const out = await cli(s, ['container', 'inspect', id]);
  const parsed = JSON.parse(out) as ContainerInspect[];
  const first = parsed[0];
  if (first === undefined) throw new DockerError(`inspecting container ${id}: docker printed no container`);
  return first;
}

/** Force-removes a container and its anonymous volumes (no error when it is already gone). */
export async function removeContainer(id: string): Promise<void> {
  const s = await current();
  const r = await exec(s.daemon.cli, ['rm', '--force', '--volumes', id], { env: s.env, timeoutMs: CLI_MS });
  if (r.code !== 0 && !/no such container/i.test(r.stderr))
    throw new DockerError(`removing container ${id}: ${why(r)}`);
  containers.delete(id);
}

/**
 * Runs the docker client with the harness's daemon, API version and timeout; resolves to its stdout.
 * Throws DockerError with docker's stderr when it exits non-zero.
 */
export async function docker(args: readonly string[], timeoutMs = CLI_MS): Promise<string> {
  return cli(await current(), args, timeoutMs);
}

/**
 * The unix socket of the containerd that the daemon runs its containers with (docker's containers are in its
 * namespace `moby`): for the harness daemon, the containerd it started under HARNESS_ROOT/exec/containerd;
 * for a daemon the harness did not start, the first socket among /run/docker/containerd/containerd.sock
 * (dockerd's own containerd) and /run/containerd/containerd.sock (the system's); undefined when none exists.
 */
export async function containerdSocket(): Promise<string | undefined> {
  const s = await current();
  const candidates = s.daemon.startedByUs
    ? [join(paths.exec, 'containerd', 'containerd.sock')]
    : ['/run/docker/containerd/containerd.sock', '/run/containerd/containerd.sock'];
  return candidates.find((p) => {
    try {
      return statSync(p).isSocket();
    } catch {
      return false;
    }
  });
}

/**
 * Removes every tracked container, then every tracked image, then stops the daemon if the harness started it.
 * Tries every step; throws one DockerError listing what failed. Safe to call more than once, and when
 * ensureDocker() failed or never ran.
 */
export async function cleanupAll(): Promise<void> {
  const problems: string[] = [];
  if (session !== undefined) {
    for (const id of [...containers]) await removeContainer(id).catch((e: unknown) => problems.push(text(e)));
    // Newest first (a built image before its base), then the dangling stage images of multi-stage builds
    // (those from a harness base image carry its label), then once more what had children until then.
    const failed: string[] = [];
    for (const id of [...images].reverse()) await dropImage(id, true).catch(() => failed.push(id));
    await docker(['image', 'prune', '--force', '--filter', `label=${HARNESS_LABEL}=1`]).catch((e: unknown) =>
      problems.push(text(e)),
    );
    for (const id of failed) await dropImage(id, true).catch((e: unknown) => problems.push(text(e)));
  }
  await stopDockerIfStarted().catch((e: unknown) => problems.push(text(e)));
  if (problems.length > 0) throw new DockerError(`cleaning up after docker tests: ${problems.join('; ')}`);
}

// ---- preparing ----------------------------------------------------------------------------------------------

async function current(): Promise<Session> {
  await ensureDocker();
  if (session === undefined) throw new DockerError('using docker: the harness was stopped');
  return session;
}

async function prepare(): Promise<Session> {
  const skip = dockerSkipReason();
  if (skip !== undefined) throw new DockerError(`preparing docker: ${skip}`);
  await installMissing();
  const clients = dockerClients();
  if (clients.length === 0)
    throw new DockerError('preparing docker: no docker client after installing docker.io');

  const external =
    process.env['DOCKER_HOST'] ??
    (existsSync('/var/run/docker.sock') ? 'unix:///var/run/docker.sock' : undefined);
  if (external !== undefined) {
    const found = await pickClient(clients, external);
    if (found.daemon !== undefined) {
      hook();
      return { daemon: found.daemon, env: found.env, owner: undefined, exited: undefined };
    }
  }
  return startDaemon(clients);
}

/** Installs docker.io (dockerd, containerd, runc, client) and busybox-static when missing. */
async function installMissing(): Promise<void> {
  const need: string[] = [];
  if (which('dockerd') === undefined || which('containerd') === undefined || which('runc') === undefined)
    need.push('docker.io');
  else if (dockerClients().length === 0) need.push('docker.io');
  if (staticBusybox() === undefined) need.push('busybox-static');
  if (which('tar') === undefined) need.push('tar');
  if (need.length === 0) return;
  const what = `installing ${need.join(' ')}`;
  if (which('apt-get') === undefined) throw new DockerError(`${what}: apt-get not found (not Debian?)`);
  const before = new Set(pidsByComm(['dockerd', 'containerd']));
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const args = [
    '-y',
    '-q',
    '--no-install-recommends',
    '-o',
    'DPkg::Lock::Timeout=120',
    '-o',
    'Dpkg::Options::=--force-confdef',
    '-o',
    'Dpkg::Options::=--force-confold',
    'install',
    ...need,
  ];
  let r = await exec('apt-get', args, { env, timeoutMs: APT_MS });
  if (r.code !== 0) {
    // Stale package lists are the usual cause: refresh them once and try again.
    await exec('apt-get', ['-q', '-o', 'DPkg::Lock::Timeout=120', 'update'], { env, timeoutMs: APT_MS });
    r = await exec('apt-get', args, { env, timeoutMs: APT_MS });
  }
  // Without a policy-rc.d that forbids it, the postinst starts the packaged daemons: stop what it started.
  const started = pidsByComm(['dockerd', 'containerd']).filter((p) => !before.has(p));
  for (const p of started) kill(p, 'SIGTERM');
  waitGoneSync(started, 20_000);
  if (r.code !== 0) throw new DockerError(`${what}: apt-get install failed: ${why(r)}`);
  if (which('dockerd') === undefined || staticBusybox() === undefined)
    throw new DockerError(`${what}: apt-get succeeded but dockerd or a static /bin/busybox is still missing`);
}

/** docker clients to try, best first: docker.io's own /usr/bin/docker, then whatever PATH has. */
function dockerClients(): string[] {
  const found = [existsSync('/usr/bin/docker') ? '/usr/bin/docker' : undefined, which('docker')];
  return [...new Set(found.filter((c): c is string => c !== undefined))];
}

interface Picked {
  daemon: DockerDaemon | undefined;
  env: NodeJS.ProcessEnv;
  problems: string[];
}

/**
 * The first client that can talk to the daemon at `host`. A client newer than the daemon negotiates down by
 * itself, unless DOCKER_API_VERSION pins a version the daemon does not have ("client version 1.50 is too
 * new. Maximum supported API version is 1.41"): then the daemon's maximum is pinned instead.
 */
async function pickClient(clients: readonly string[], host: string, timeoutMs = 10_000): Promise<Picked> {
  const problems: string[] = [];
  for (const client of clients) {
    const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: host };
    delete env['DOCKER_CONTEXT'];
    for (let attempt = 0; attempt < 2; attempt++) {
      const r = await exec(client, ['version', '--format', '{{json .}}'], { env, timeoutMs });
      if (r.code === 0) {
        const v = parseJson(r.stdout) as
          | {
              Client?: { ApiVersion?: string };
              Server?: { Version?: string; ApiVersion?: string } | null;
            }
          | undefined;
        if (v?.Server?.Version !== undefined) {
          const daemon: DockerDaemon = {
            cli: client,
            host,
            serverVersion: v.Server.Version,
            apiVersion: v.Client?.ApiVersion ?? v.Server.ApiVersion ?? '',
            startedByUs: false,
            pid: undefined,
            log: undefined,
          };
          return { daemon, env, problems };
        }
      }
      const max = /Maximum supported API version is ([\d.]+)/.exec(r.stderr);
      if (max?.[1] !== undefined && env['DOCKER_API_VERSION'] !== max[1]) {
        env['DOCKER_API_VERSION'] = max[1];
        continue;
      }
      problems.push(`${client}: ${why(r)}`);
      break;
    }
  }
  return { daemon: undefined, env: process.env, problems };
}

/** Starts the harness's own dockerd under HARNESS_ROOT and waits until it answers. */
async function startDaemon(clients: readonly string[]): Promise<Session> {
  const dockerd = which('dockerd');
  if (dockerd === undefined)
    throw new DockerError('starting dockerd: dockerd not found after installing docker.io');
  const owner: OwnerState = {
    pid: process.pid,
    start: startTime(process.pid) ?? '',
    created: [],
    logDir: '',
  };
  await claimRoot(owner);
  // Only now: clearing a dead run's leftovers may have removed some of these.
  owner.created = sideEffectPaths().filter((p) => !existsSync(p));
  owner.logDir = mkdtempSync(join(tmpdir(), 'ktrail-dockerd-'));
  writeFileSync(paths.owner, JSON.stringify(owner));
  const log = join(owner.logDir, 'dockerd.log');
  writeFileSync(paths.config, '{}\n');
  const flags = [
    `--config-file=${paths.config}`,
    `--data-root=${paths.data}`,
    `--exec-root=${paths.exec}`,
    `--pidfile=${paths.pidfile}`,
    `--host=unix://${paths.socket}`,
    '--exec-opt=native.cgroupdriver=cgroupfs',
    // Containers run with --network none: no bridge, no iptables rules, no ip_forward change on the host.
    '--bridge=none',
    '--iptables=false',
    '--ip-masq=false',
    '--ip-forward=false',
    '--userland-proxy=false',
    '--shutdown-timeout=5',
  ];
  const fd = openSync(log, 'a');
  const child = spawn(dockerd, flags, {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, PATH: `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` },
  });
  closeSync(fd);
  child.unref();
  let exited: string | undefined;
  const reaped = new Promise<void>((resolve) => {
    child.on('error', (e) => {
      exited = e.message;
      resolve();
    });
    child.on('exit', (code, signal) => {
      exited = signal !== null ? `killed by ${signal}` : `exited with status ${code}`;
      resolve();
    });
  });
  owner.dockerdPid = child.pid;
  writeFileSync(paths.owner, JSON.stringify(owner));

  const host = `unix://${paths.socket}`;
  const end = Date.now() + DOCKERD_READY_MS;
  let last: string[] = [];
  for (;;) {
    if (exited === undefined && existsSync(paths.socket)) {
      const found = await pickClient(clients, host, 5_000);
      if (found.daemon !== undefined) {
        const daemon = { ...found.daemon, startedByUs: true, pid: child.pid, log };
        hook();
        return { daemon, env: found.env, owner, exited: reaped };
      }
      last = found.problems;
    }
    if (exited !== undefined || Date.now() > end) break;
    await sleep(100);
  }
  const cause =
    exited ?? `no answer within ${DOCKERD_READY_MS} ms${last.length > 0 ? ` (${last.join('; ')})` : ''}`;
  const problems = clearHarness(owner, true);
  const tail = lastLines(log, 12);
  throw new DockerError(
    `starting dockerd: ${cause}${problems.length > 0 ? `; cleaning up: ${problems.join('; ')}` : ''}; ` +
      `log ${log}:\n${tail}`,
  );
}

/**
 * Takes HARNESS_ROOT for this process: a staging directory holding owner.json is renamed onto it, which only
 * succeeds while it does not exist (or is empty). A live owner is waited for; a dead one's leftovers are
 * cleared first.
 */
async function claimRoot(owner: OwnerState): Promise<void> {
  const end = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    const staging = mkdtempSync(`${HARNESS_ROOT}.claim-`);
    writeFileSync(join(staging, 'owner.json'), JSON.stringify(owner));
    try {
      renameSync(staging, HARNESS_ROOT);
      return;
    } catch (e) {
      rmSync(staging, { recursive: true, force: true });
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY')
        throw new DockerError(`claiming ${HARNESS_ROOT}: ${text(e)}`);
    }
    const other = readOwner();
    if (
      other !== undefined &&
      other.pid !== process.pid &&
      alive(other.pid) &&
      startTime(other.pid) === other.start
    ) {
      if (Date.now() > end)
        throw new DockerError(
          `starting dockerd: ${HARNESS_ROOT} is in use by pid ${other.pid} (docker e2e tests running elsewhere?)`,
        );
      await sleep(500);
      continue;
    }
    const problems = clearHarness(other, false);
    if (problems.length > 0)
      throw new DockerError(`clearing what an earlier docker test run left: ${problems.join('; ')}`);
  }
}

function readOwner(): OwnerState | undefined {
  try {
    return JSON.parse(readFileSync(paths.owner, 'utf8')) as OwnerState;
  } catch {
    return undefined;
  }
}

/**
 * Paths a harness dockerd creates outside HARNESS_ROOT (measured with docker.io 20.10): its plugin directory,
 * containerd's shim socket directory, the daemon's trust key, and a `docker` cgroup in every hierarchy; plus
 * util-linux's /run/mount, made by the umount that clears a dead run's mounts.
 */
function sideEffectPaths(): string[] {
  return [
    '/run/docker',
    '/run/containerd',
    '/run/mount',
    '/etc/docker',
    '/etc/docker/key.json',
    ...cgroupMounts().map((m) => join(m, 'docker')),
  ];
}

// ---- stopping and clearing ----------------------------------------------------------------------------------

/**
 * Removes every trace of a harness daemon, synchronously: container processes (SIGKILL, so dockerd need not
 * wait for them), dockerd (SIGTERM, SIGKILL past 25 s), containerd and shims, the container cgroups, mounts
 * under HARNESS_ROOT, the paths in `owner.created`, the log (unless keepLog), and last HARNESS_ROOT itself,
 * which releases the claim. Returns what could not be removed.
 */
function clearHarness(owner: OwnerState | undefined, keepLog: boolean): string[] {
  const problems: string[] = [];
  const cgroups = containerCgroups();
  const inside = [...new Set(cgroups.flatMap((d) => readPids(join(d, 'cgroup.procs'))))];
  for (const p of inside) kill(p, 'SIGKILL');
  waitGoneSync(inside, 5_000);
  const dockerd = readPid(paths.pidfile) ?? owner?.dockerdPid;
  if (dockerd !== undefined && alive(dockerd) && mentionsRoot(dockerd)) {
    kill(dockerd, 'SIGTERM');
    if (!waitGoneSync([dockerd], DOCKERD_STOP_MS)) {
      kill(dockerd, 'SIGKILL');
      if (!waitGoneSync([dockerd], 5_000)) problems.push(`dockerd (pid ${dockerd}) survived SIGKILL`);
    }
  }
  // containerd exits with dockerd; shims (reparented to init) and the containers they ran may not.
  const strays = [...pidsMentioningRoot(), ...inside.filter(alive)];
  for (const p of strays) kill(p, 'SIGKILL');
  if (!waitGoneSync(strays, 5_000))
    problems.push(`processes survived SIGKILL: ${strays.filter(alive).join(' ')}`);
  for (const d of cgroups) {
    try {
      removeCgroup(d);
    } catch (e) {
      problems.push(`removing cgroup ${d}: ${text(e)}`);
    }
  }
  problems.push(...unmountUnder(HARNESS_ROOT));
  for (const p of [...(owner?.created ?? [])].reverse()) {
    try {
      if (isCgroup(p)) removeCgroup(p);
      else rmSync(p, { recursive: true, force: true });
    } catch (e) {
      problems.push(`removing ${p}: ${text(e)}`);
    }
  }
  if (!keepLog && owner !== undefined && owner.logDir !== '')
    rmSync(owner.logDir, { recursive: true, force: true });
  if (mountsUnder(HARNESS_ROOT).length === 0) rmSync(HARNESS_ROOT, { recursive: true, force: true });
  else problems.push(`${HARNESS_ROOT} kept: mounts remain under it`);
  return problems;
}

/** The cgroup directories (in every hierarchy) of the containers the harness daemon knows. */
function containerCgroups(): string[] {
  let ids: string[];
  try {
    ids = readdirSync(join(paths.data, 'containers')).filter((n) => HEX64.test(n));
  } catch {
    return [];
  }
  return cgroupMounts()
    .flatMap((m) => ids.map((id) => join(m, 'docker', id)))
    .filter((d) => existsSync(d));
}

/** rmdir of a cgroup (children first); EBUSY right after its last task exits is retried for a second. */
function removeCgroup(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true }))
    if (e.isDirectory()) removeCgroup(join(dir, e.name));
  for (let i = 0; ; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || i >= 50) throw e;
      sleepSync(20);
    }
  }
}

function isCgroup(path: string): boolean {
  try {
    const type = statfsSync(path).type;
    return type === CGROUP_SUPER_MAGIC || type === CGROUP2_SUPER_MAGIC;
  } catch {
    return false;
  }
}

/** Undoes every mount at or under `dir`, innermost first (lazily when a plain umount fails). */
function unmountUnder(dir: string): string[] {
  for (let pass = 0; pass < 3; pass++) {
    const mounts = mountsUnder(dir);
    if (mounts.length === 0) return [];
    for (const m of mounts.reverse()) {
      const r = spawnSync('umount', [m], { timeout: 10_000 });
      if (r.status !== 0) spawnSync('umount', ['--lazy', m], { timeout: 10_000 });
    }
  }
  const left = mountsUnder(dir);
  return left.length === 0 ? [] : [`could not unmount ${left.join(' ')}`];
}

/** Mount points at or under `dir`, in /proc/self/mountinfo order (outermost first). */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => unescapeMount(l.split(' ')[4] ?? ''))
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}

/** The mount points of cgroup (v1) and cgroup2 file systems. */
function cgroupMounts(): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    const fstype = right?.split(' ')[0];
    const mp = left?.split(' ')[4];
    if ((fstype === 'cgroup' || fstype === 'cgroup2') && mp !== undefined) out.push(unescapeMount(mp));
  }
  return out;
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

// ---- exit hooks ---------------------------------------------------------------------------------------------

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let hooked = false;

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', cleanupSync);
  for (const sig of SIGNALS) process.on(sig, onSignal);
}

function unhook(): void {
  if (!hooked) return;
  hooked = false;
  process.off('exit', cleanupSync);
  for (const sig of SIGNALS) process.off(sig, onSignal);
}

function onSignal(sig: NodeJS.Signals): void {
  cleanupSync();
  process.kill(process.pid, sig);
}

/** cleanupAll() for a process that is exiting without having called it. */
function cleanupSync(): void {
  const s = session;
  session = undefined;
  pending = undefined;
  unhook();
  if (s === undefined) return;
  const run = (args: string[]) =>
    spawnSync(s.daemon.cli, args, { env: s.env, timeout: 20_000, stdio: 'ignore' });
  if (containers.size > 0) run(['rm', '--force', '--volumes', ...containers]);
  if (images.size > 0) run(['image', 'rm', '--force', ...images]);
  run(['image', 'prune', '--force', '--filter', `label=${HARNESS_LABEL}=1`]);
  containers.clear();
  images.clear();
  if (s.daemon.startedByUs && s.owner !== undefined) {
    const problems = clearHarness(s.owner, false);
    if (problems.length > 0)
      process.stderr.write(`docker harness: cleaning up at exit: ${problems.join('; ')}\n`);
  }
}

// ---- processes and commands ---------------------------------------------------------------------------------

interface Exec {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  error: Error | undefined;
}

/** Runs a command to its end or its timeout (then SIGKILL); never rejects. */
function exec(
  cmd: string,
  args: readonly string[],
  o: { env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<Exec> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let error: Error | undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs);
    child.on('error', (e) => {
      error = e;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, error });
    });
  });
}

async function cli(s: Session, args: readonly string[], timeoutMs = CLI_MS): Promise<string> {
  const r = await exec(s.daemon.cli, args, { env: s.env, timeoutMs });
  if (r.code !== 0) throw new DockerError(`docker ${args.slice(0, 2).join(' ')}: ${why(r)}`);
  return r.stdout;
}

/** Why a command failed, in a few words: its error, timeout, or status and last stderr lines. */
function why(r: Exec): string {
  if (r.error !== undefined) return r.error.message;
  if (r.timedOut) return 'timed out';
  const status = r.signal !== null ? `killed by ${r.signal}` : `exit status ${r.code}`;
  const msg = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-4).join(' | ');
  return msg === '' ? status : `${status}: ${msg}`;
}

function which(name: string): string | undefined {
  const dirs = (process.env['PATH'] ?? '')
    .split(delimiter)
    .concat(['/usr/sbin', '/usr/bin', '/sbin', '/bin']);
  for (const d of dirs) {
    const p = join(d, name);
    try {
      if (statSync(p).isFile()) return p;
    } catch {}
  }
  return undefined;
}

/** /bin/busybox when it is a static binary (an ELF without PT_INTERP), as an empty image needs. */
function staticBusybox(): string | undefined {
  const path = '/bin/busybox';
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const head = Buffer.alloc(4096);
    readSync(fd, head, 0, head.length, 0);
    if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2) return undefined; // ELF, 64-bit
    const phoff = Number(head.readBigUInt64LE(0x20));
    const phentsize = head.readUInt16LE(0x36);
    const phnum = head.readUInt16LE(0x38);
    for (let i = 0; i < phnum; i++) {
      const at = phoff + i * phentsize;
      if (at + 4 > head.length) return undefined;
      if (head.readUInt32LE(at) === 3) return undefined; // PT_INTERP: dynamically linked
    }
    return path;
  } finally {
    closeSync(fd);
  }
}

/** False for a pid that is gone or a zombie (a zombie dockerd has exited; its parent just has not reaped it). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

function mentionsRoot(pid: number): boolean {
  return cmdline(pid).includes(HARNESS_ROOT);
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((p) => p !== process.pid);
}

/** dockerd, containerd and shims of the harness daemon: their command lines name HARNESS_ROOT. */
function pidsMentioningRoot(): number[] {
  return allPids().filter((p) => alive(p) && mentionsRoot(p));
}

function pidsByComm(names: readonly string[]): number[] {
  return allPids().filter((p) => {
    try {
      return alive(p) && names.includes(readFileSync(`/proc/${p}/comm`, 'utf8').trim());
    } catch {
      return false;
    }
  });
}

function readPid(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function readPids(file: string): number[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map(Number);
  } catch {
    return [];
  }
}

function kill(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {}
}

function waitGoneSync(pids: readonly number[], ms: number): boolean {
  const end = Date.now() + ms;
  while (pids.some(alive)) {
    if (Date.now() > end) return false;
    sleepSync(20);
  }
  return true;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function lastLines(file: string, n: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}

function parseJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

function text(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
