/**
 * Container ids from cgroup paths, the way container runtimes name their cgroups:
 *   docker      v2/systemd `docker-<64hex>.scope`, v1/cgroupfs `/docker/<64hex>`
 *   containerd  `cri-containerd-<64hex>.scope` (Kubernetes, systemd driver), `/kubepods/.../pod<uid>/<64hex>`
 *   cri-o       `crio-<64hex>.scope` or `crio-<64hex>` (the `crio-conmon-*` monitor is not a container)
 *   podman      `libpod-<64hex>.scope`, `/libpod_parent/libpod-<64hex>` (`libpod-conmon-*` is not one)
 *   nspawn      `machine.slice/machine-<name>.scope` (systemd-escaped name; the id is the name)
 * Kubernetes pods add the pod uid (`kubepods-<qos>-pod<uid>.slice` with `_` for `-`, or `/kubepods/<qos>/pod<uid>`).
 * The deepest matching component wins, so a container's own sub-cgroups (`.../init.scope`) and nested
 * runtimes resolve to the innermost container.
 *
 * ContainerResolver maps the cgroup id of every record (the cgroup v2 inode number) to a path by walking the
 * cgroup2 mount, rescanning on a miss; on hosts where the v2 id says nothing (v1 or hybrid layouts with
 * the task in the v2 root) it reads /proc/<pid>/cgroup once per process. Runtime sockets are not queried:
 * names and images stay empty. Nothing here throws on a missing file.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export type ContainerRuntime = 'docker' | 'containerd' | 'crio' | 'podman' | 'nspawn' | 'unknown';

export interface ContainerInfo {
  /** The container id (64 hex for docker/containerd/cri-o/podman, the machine name for nspawn). */
  readonly id: string;
  readonly runtime: ContainerRuntime;
  /** Kubernetes pod uid (with dashes), when the path is under kubepods. */
  readonly podUid?: string;
}

const HEX64 = '[0-9a-f]{64}';
const RULES: readonly { re: RegExp; runtime: ContainerRuntime }[] = [
  { re: new RegExp(`^docker-(${HEX64})\\.scope$`), runtime: 'docker' },
  { re: new RegExp(`^cri-containerd-(${HEX64})\\.scope$`), runtime: 'containerd' },
  { re: new RegExp(`^crio-(${HEX64})(?:\\.scope)?$`), runtime: 'crio' },
  { re: new RegExp(`^libpod-(${HEX64})(?:\\.scope)?$`), runtime: 'podman' },
];
const BARE = new RegExp(`^(${HEX64})$`);
const POD_SYSTEMD = /^kubepods(?:-(?:besteffort|burstable|guaranteed))?-pod([0-9a-f_]{36})\.slice$/;
const POD_CGROUPFS = /^pod([0-9a-f-]{36})$/;
const MACHINE = /^machine-(.+)\.scope$/;

/** Undoes systemd unit-name escaping (`\x2d` -> `-`). */
function unescapeUnit(s: string): string {
  return s.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
}

function podUidOf(parts: readonly string[]): string | undefined {
  for (const p of parts) {
    const s = POD_SYSTEMD.exec(p);
    if (s?.[1] !== undefined) return s[1].replace(/_/g, '-');
    const c = POD_CGROUPFS.exec(p);
    if (c?.[1] !== undefined) return c[1];
  }
  return undefined;
}

/** The container a cgroup path belongs to, or undefined for a host cgroup. */
export function parseCgroupPath(path: string): ContainerInfo | undefined {
  const parts = path.split('/').filter((p) => p !== '');
  const kube = parts.some((p) => p === 'kubepods' || p.startsWith('kubepods.') || p.startsWith('kubepods-'));
  for (let i = parts.length - 1; i >= 0; i--) {
    const part = parts[i]!;
    let found: ContainerInfo | undefined;
    for (const r of RULES) {
      const m = r.re.exec(part);
      if (m?.[1] !== undefined) {
        found = { id: m[1], runtime: r.runtime };
        break;
      }
    }
    if (found === undefined) {
      const bare = BARE.exec(part);
      if (bare?.[1] !== undefined) {
        const parent = parts[i - 1];
        // `/docker/<id>` (cgroupfs driver); under kubepods the runtime cannot be told from the path.
        if (parent === 'docker') found = { id: bare[1], runtime: 'docker' };
        else if (kube) found = { id: bare[1], runtime: 'unknown' };
      }
    }
    if (found === undefined && parts[i - 1] === 'machine.slice') {
      const m = MACHINE.exec(part);
      if (m?.[1] !== undefined) {
        const name = unescapeUnit(m[1]);
        // libvirt guests share machine.slice; they are VMs, not containers.
        if (!name.startsWith('qemu-') && !name.startsWith('lxc-')) found = { id: name, runtime: 'nspawn' };
      }
    }
    if (found !== undefined) {
      if (!kube) return found;
      const podUid = podUidOf(parts.slice(0, i));
      return podUid === undefined ? found : { ...found, podUid };
    }
  }
  return undefined;
}

/**
 * The container of a /proc/<pid>/cgroup text (`hierarchy-id:controllers:path` per line, v1 and v2): the
 * first line whose path names a container, the v2 line (`0::`) first.
 */
export function parseProcCgroup(text: string): ContainerInfo | undefined {
  const paths: string[] = [];
  for (const line of text.split('\n')) {
    const a = line.indexOf(':');
    const b = a < 0 ? -1 : line.indexOf(':', a + 1);
    if (b < 0) continue;
    const path = line.slice(b + 1);
    if (line.startsWith('0::')) paths.unshift(path);
    else paths.push(path);
  }
  for (const p of paths) {
    const c = parseCgroupPath(p);
    if (c !== undefined) return c;
  }
  return undefined;
}

/** The mount point of the cgroup2 filesystem from a /proc/self/mountinfo text, or undefined. */
export function findCgroup2Mount(mountinfo: string): string | undefined {
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fstype = line.slice(sep + 3).split(' ')[0];
    if (fstype !== 'cgroup2') continue;
    const mountPoint = line.slice(0, sep).split(' ')[4];
    if (mountPoint !== undefined) return mountPoint.replace(/\\040/g, ' ');
  }
  return undefined;
}

export interface ContainerResolverOptions {
  /** The cgroup2 mount; default: found in /proc/self/mountinfo. null disables the cgroup-id map. */
  readonly cgroupRoot?: string | null;
  readonly procRoot?: string;
  /** Least interval between two rescans of the cgroup tree on misses, ms (default 200). */
  readonly rescanMs?: number;
  /** Most pids remembered for the /proc fallback (default 32768). */
  readonly maxPids?: number;
  readonly now?: () => number;
}

/** Resolves records to containers. Single-threaded; never throws on missing files. */
export class ContainerResolver {
  readonly #root: string | undefined;
  readonly #proc: string;
  readonly #rescanMs: number;
  readonly #maxPids: number;
  readonly #now: () => number;
  /** cgroup id -> path relative to the cgroup2 mount ('/' for the root). */
  #paths = new Map<bigint, string>();
  readonly #byId = new Map<bigint, ContainerInfo | null>();
  /** pid -> container from /proc (null = host), LRU by insertion. */
  readonly #byPid = new Map<number, ContainerInfo | null>();
  #lastScan = Number.NEGATIVE_INFINITY;

  constructor(opts: ContainerResolverOptions = {}) {
    this.#proc = opts.procRoot ?? '/proc';
    this.#rescanMs = opts.rescanMs ?? 200;
    this.#maxPids = opts.maxPids ?? 32768;
    this.#now = opts.now ?? Date.now;
    if (opts.cgroupRoot === null) this.#root = undefined;
    else if (opts.cgroupRoot !== undefined) this.#root = opts.cgroupRoot;
    else {
      try {
        this.#root = findCgroup2Mount(readFileSync(join(this.#proc, 'self', 'mountinfo'), 'utf8'));
      } catch {
        this.#root = undefined;
      }
    }
  }

  /** The cgroup2 mount in use, or undefined. */
  get cgroupRoot(): string | undefined {
    return this.#root;
  }

  /** Rebuilds the cgroup id -> path map by walking the cgroup2 mount (inode number = cgroup id). */
  rescan(): void {
    this.#lastScan = this.#now();
    const root = this.#root;
    if (root === undefined) return;
    const paths = new Map<bigint, string>();
    const walk = (dir: string, rel: string, depth: number) => {
      let ino: bigint;
      try {
        ino = statSync(dir, { bigint: true }).ino;
      } catch {
        return;
      }
      paths.set(ino, rel === '' ? '/' : rel);
      if (depth > 32) return;
      let entries: import('node:fs').Dirent[];
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) if (e.isDirectory()) walk(join(dir, e.name), `${rel}/${e.name}`, depth + 1);
    };
    walk(root, '', 0);
    this.#paths = paths;
    this.#byId.clear();
  }

  /** The cgroup path of a cgroup id (relative to the cgroup2 mount), rescanning once on a miss. */
  pathOf(cgroupId: bigint): string | undefined {
    let p = this.#paths.get(cgroupId);
    if (p === undefined && this.#now() - this.#lastScan >= this.#rescanMs) {
      this.rescan();
      p = this.#paths.get(cgroupId);
    }
    return p;
  }

  /** The container of a cgroup id; null for a known host cgroup; undefined when the id is unknown. */
  byCgroupId(cgroupId: bigint): ContainerInfo | null | undefined {
    const cached = this.#byId.get(cgroupId);
    if (cached !== undefined) return cached;
    const path = this.pathOf(cgroupId);
    if (path === undefined) return undefined;
    const c = parseCgroupPath(path) ?? null;
    this.#byId.set(cgroupId, c);
    return c;
  }

  /** The container of a process from /proc/<pid>/cgroup (cached per pid); null on the host or when gone. */
  byPid(pid: number): ContainerInfo | null {
    const cached = this.#byPid.get(pid);
    if (cached !== undefined) return cached;
    let c: ContainerInfo | null = null;
    try {
      c = parseProcCgroup(readFileSync(join(this.#proc, String(pid), 'cgroup'), 'utf8')) ?? null;
    } catch {
      c = null;
    }
    this.#byPid.set(pid, c);
    if (this.#byPid.size > this.#maxPids) {
      const oldest = this.#byPid.keys().next().value;
      if (oldest !== undefined) this.#byPid.delete(oldest);
    }
    return c;
  }

  /** Forgets a pid (its group exited; the number may be reused). */
  forgetPid(pid: number): void {
    this.#byPid.delete(pid);
  }

  /**
   * The container of a record: by cgroup id when that names one; otherwise (a host or root v2 cgroup, an
   * unknown id) from /proc/<pid>/cgroup, which also covers v1 hierarchies.
   */
  resolve(cgroupId: bigint, hostPid: number): ContainerInfo | undefined {
    const c = this.byCgroupId(cgroupId);
    if (c) return c;
    return this.byPid(hostPid) ?? undefined;
  }
}
