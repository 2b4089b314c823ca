/**
 * A Debian 12 (bookworm) base image with Node.js, for building deploy/Dockerfile where no image registry is
 * reachable (docker pull fails here). Not a test file itself.
 *
 * Contract:
 * - `debianRootfs()` makes a minimal bookworm root file system with debootstrap (`--variant=minbase`, about 50 s
 *   and 40 MB of packages) from the Debian mirror apt uses on this machine (read from /etc/apt/sources.list and
 *   sources.list.d), installing debootstrap with apt-get when it is missing. Its apt sources name that mirror
 *   (bookworm, bookworm-updates) and the security archive. The result is a tarball cached at DEBIAN_CACHE and
 *   reused for CACHE_DAYS; `clearDebianCache()` removes it (nothing else is kept between runs).
 * - `nodeBaseImage()` imports that tarball plus this machine's own Node.js (the binary, npm and the headers,
 *   from the same prefix as process.execPath: /usr for NodeSource's and Debian's packages) as one image with
 *   the harness label, tracked by test/support/docker.ts for cleanupAll(). Debian 12's own nodejs is 18, too
 *   old for ktrail, and no Node.js download is possible offline: reusing the host's is what is left. The image
 *   plays the part of the official `node:20-bookworm-slim` (Dockerfile ARG NODE_IMAGE). The host's TLS trust
 *   goes in too (the CA bundle, /usr/local/share/ca-certificates and NODE_EXTRA_CA_CERTS when set), so that npm
 *   in a build reaches the registry as the host's npm does, also through a TLS-inspecting proxy; the build
 *   stage's `apt-get install ca-certificates` keeps the local certificates in the bundle it regenerates.
 * - Root only; throws DockerError "doing what: cause" (e.g. when the mirror is unreachable).
 */
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { DockerError, importImage } from './docker.js';

/** Where the debootstrapped root file system is kept between runs (a tarball, about 70 MB). */
export const DEBIAN_CACHE = '/var/cache/ktrail-e2e/debian-bookworm-minbase.tar';
/** A cached tarball older than this is made again. */
export const CACHE_DAYS = 14;
/** The tag of the image nodeBaseImage() makes. */
export const NODE_BASE_TAG = 'ktrail-e2e-node:bookworm';

const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
const DEFAULT_SECURITY = 'http://deb.debian.org/debian-security';

/** The Debian archive and security archive URIs apt uses here, from one-line and deb822 source files. */
export function aptMirrors(files: readonly string[] = sourceFiles()): { debian: string; security: string } {
  const uris: string[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const one = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)/.exec(line);
      const multi = /^\s*URIs:\s*(.+)$/i.exec(line);
      if (one?.[1] !== undefined) uris.push(one[1]);
      if (multi?.[1] !== undefined) uris.push(...multi[1].trim().split(/\s+/));
    }
  }
  const clean = (u: string) => u.replace(/\/+$/, '');
  const debian = uris.map(clean).find((u) => /^https?:\/\/.*\/debian$/.test(u));
  const security = uris.map(clean).find((u) => /^https?:\/\/.*\/debian-security$/.test(u));
  return { debian: debian ?? DEFAULT_MIRROR, security: security ?? DEFAULT_SECURITY };
}

function sourceFiles(): string[] {
  const dir = '/etc/apt/sources.list.d';
  const extra = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.list') || f.endsWith('.sources'))
        .map((f) => join(dir, f))
    : [];
  return ['/etc/apt/sources.list', ...extra];
}

/** Removes the cached root file system. */
export function clearDebianCache(): void {
  rmSync(DEBIAN_CACHE, { force: true });
}

/**
 * The path of a bookworm minbase tarball: the cached one when fresh, else a new one made with debootstrap.
 * `made` says which, `seconds` how long it took.
 */
export async function debianRootfs(): Promise<{ tar: string; made: boolean; seconds: number }> {
  const started = Date.now();
  if (existsSync(DEBIAN_CACHE) && Date.now() - statSync(DEBIAN_CACHE).mtimeMs < CACHE_DAYS * 86_400_000)
    return { tar: DEBIAN_CACHE, made: false, seconds: 0 };
  if (process.geteuid?.() !== 0) throw new DockerError('making a Debian root file system: needs root');
  if (!(await run('sh', ['-c', 'command -v debootstrap'], 10_000)).ok) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const r = await run(
      'apt-get',
      ['-y', '-q', '--no-install-recommends', 'install', 'debootstrap'],
      600_000,
      env,
    );
    if (!r.ok) throw new DockerError(`installing debootstrap: apt-get failed: ${r.tail}`);
  }
  const { debian, security } = aptMirrors();
  mkdirSync(dirname(DEBIAN_CACHE), { recursive: true });
  const work = mkdtempSync(join(dirname(DEBIAN_CACHE), 'debootstrap-'));
  try {
    const root = join(work, 'rootfs');
    const d = await run('debootstrap', ['--variant=minbase', 'bookworm', root, debian], 900_000);
    if (!d.ok) throw new DockerError(`debootstrap bookworm from ${debian}: ${d.tail}`);
    writeFileSync(
      join(root, 'etc/apt/sources.list'),
      `deb ${debian} bookworm bookworm-updates main\ndeb ${security} bookworm-security main\n`,
    );
    // Like Debian's own images: no package cache, no package lists (a Dockerfile runs apt-get update).
    for (const sub of ['var/cache/apt/archives', 'var/lib/apt/lists'])
      for (const f of readdirSync(join(root, sub)))
        if (f !== 'partial' && f !== 'lock') rmSync(join(root, sub, f), { recursive: true, force: true });
    const tar = join(work, 'rootfs.tar');
    const t = await run('tar', ['--numeric-owner', '-C', root, '-cf', tar, '.'], 300_000);
    if (!t.ok) throw new DockerError(`packing the root file system: tar failed: ${t.tail}`);
    renameSync(tar, DEBIAN_CACHE);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { tar: DEBIAN_CACHE, made: true, seconds: (Date.now() - started) / 1000 };
}

/**
 * This machine's Node.js installation, as paths relative to / : the running binary's prefix (`/usr`) with
 * bin/node, bin/npm, bin/npx, lib/node_modules/npm and include/node (headers, so node-gyp needs no download).
 */
export function hostNodePaths(): string[] {
  const node = realpathSync(process.execPath);
  const prefix = dirname(dirname(node));
  const wanted = ['bin/node', 'bin/npm', 'bin/npx', 'lib/node_modules/npm', 'include/node'];
  const out = wanted.map((w) => join(prefix, w)).filter((p) => existsSync(p) || isLink(p));
  if (!out.includes(join(prefix, 'lib/node_modules/npm')))
    throw new DockerError(`taking the host's Node.js: no npm under ${prefix}/lib/node_modules`);
  return out.map((p) => relative('/', p));
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * The host's TLS trust, as paths relative to / and Dockerfile ENV lines: the CA bundle, local CA certificates
 * and the file NODE_EXTRA_CA_CERTS names (with that variable), those that exist.
 */
export function hostTrust(): { paths: string[]; env: string[] } {
  const extra = process.env['NODE_EXTRA_CA_CERTS'];
  const candidates = ['/etc/ssl/certs/ca-certificates.crt', '/usr/local/share/ca-certificates'];
  if (extra?.startsWith('/')) candidates.push(extra);
  const paths = [
    ...new Set(candidates.filter((p) => existsSync(p)).map((p) => relative('/', realpathSync(p)))),
  ];
  const env = extra !== undefined && existsSync(extra) ? [`ENV NODE_EXTRA_CA_CERTS=${extra}`] : [];
  return { paths, env };
}

/**
 * Imports the bookworm root file system plus the host's Node.js as NODE_BASE_TAG (tracked for cleanupAll()).
 * Returns the tag and what it took.
 */
export async function nodeBaseImage(): Promise<{ tag: string; rootfsMade: boolean; seconds: number }> {
  const started = Date.now();
  const rootfs = await debianRootfs();
  const dir = mkdtempSync(join(tmpdir(), 'ktrail-node-base-'));
  try {
    const tar = join(dir, 'base.tar');
    copyFileSync(rootfs.tar, tar);
    const trust = hostTrust();
    const a = await run(
      'tar',
      ['--numeric-owner', '-C', '/', '-rf', tar, ...hostNodePaths(), ...trust.paths],
      300_000,
    );
    if (!a.ok) throw new DockerError(`adding the host's Node.js to the base image: tar failed: ${a.tail}`);
    await importImage(tar, NODE_BASE_TAG, [
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      ...trust.env,
      'CMD ["node"]',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { tag: NODE_BASE_TAG, rootfsMade: rootfs.made, seconds: (Date.now() - started) / 1000 };
}

/** Runs a command to its end or its timeout (then SIGKILL); `tail` is its last output lines. */
function run(
  cmd: string,
  args: readonly string[],
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ ok: boolean; tail: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (d: Buffer) => {
      out = (out + d.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, tail: e.message });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const status = signal !== null ? `killed by ${signal}` : `exit status ${code}`;
      const tail = out.trim().split('\n').slice(-6).join(' | ');
      resolve({ ok: code === 0, tail: tail === '' ? status : `${status}: ${tail}` });
    });
  });
}
