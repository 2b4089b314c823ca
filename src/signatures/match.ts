/**
 * Event accessors shared by the rules: "a file was opened", "a program was executed", "a file was renamed",
 * "a socket connected", read from the kernel events (Tracee's LSM events: ktrail's own records, or a Tracee
 * JSON file being analyzed). Pure functions; undefined means "not this kind of event" or "value not known".
 *
 * Paths are the kernel's: an open's path is the file the new fd points at, a rename's paths are joined to the
 * kernel's path of their dirfd or cwd, an exec's path is the file the kernel ran.
 */
import { parseValue, valueTables } from '../catalog/values/index.js';
import { argValue, type SockAddrValue, type TraceEvent } from '../decode/event.js';

const O_ACCMODE = 0o3;
const O_WRONLY = 0o1;
const O_RDWR = 0o2;

export { argValue };

export function argString(ev: TraceEvent, name: string): string | undefined {
  const v = argValue(ev, name);
  return typeof v === 'string' ? v : undefined;
}

/**
 * An integer argument; a decoded name (`"PTRACE_TRACEME"`, `"O_WRONLY|O_CREAT"`, as parse-arguments writes it)
 * is turned back into its number with the value table `table`.
 */
export function argInt(ev: TraceEvent, name: string, table?: string): number | undefined {
  const v = argValue(ev, name);
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && table !== undefined) {
    const t = valueTables[table];
    if (t === undefined) return undefined;
    try {
      return Number(parseValue(t, v));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function argStrings(ev: TraceEvent, name: string): readonly string[] | undefined {
  const v = argValue(ev, name);
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as readonly string[]) : undefined;
}

function argSockAddr(ev: TraceEvent, name: string): SockAddrValue | undefined {
  const v = argValue(ev, name);
  if (v === null || v === undefined || typeof v !== 'object') return undefined;
  if (Array.isArray(v) || v instanceof Uint8Array) return undefined;
  return v as SockAddrValue;
}

export function succeeded(ev: TraceEvent): boolean {
  return Number(ev.returnValue) >= 0;
}

export function basename(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  const i = trimmed.lastIndexOf('/');
  return i < 0 ? trimmed : trimmed.slice(i + 1);
}

export function isAbsolute(path: string): boolean {
  return path.startsWith('/');
}

/** A file opened, as the kernel resolved it: its path, the file's flags, and its inode. */
export interface FileOpen {
  readonly pathname: string;
  readonly flags: number;
  /** dev (kernel encoding) and inode; undefined when the event does not carry them. */
  readonly dev: number | undefined;
  readonly inode: number | undefined;
}

/**
 * The events that say "a file was opened": Tracee's security_file_open, which ktrail builds from the fd an open
 * returned (the file really opened, whatever path, symlink or dirfd led there).
 */
export const OPEN_EVENTS = ['security_file_open'] as const;

export function fileOpen(ev: TraceEvent): FileOpen | undefined {
  if (ev.spec.name !== 'security_file_open') return undefined;
  const pathname = argString(ev, 'pathname');
  const flags = argInt(ev, 'flags', 'open_flags');
  if (pathname === undefined || pathname === '' || flags === undefined) return undefined;
  return { pathname, flags, dev: argInt(ev, 'dev'), inode: argInt(ev, 'inode') };
}

/** Opened for writing (O_WRONLY or O_RDWR), as Tracee's IsFileWrite. */
export function isWrite(flags: number): boolean {
  const m = flags & O_ACCMODE;
  return m === O_WRONLY || m === O_RDWR;
}

/** Opened for reading (O_RDONLY or O_RDWR), as Tracee's IsFileRead. */
export function isRead(flags: number): boolean {
  const m = flags & O_ACCMODE;
  return m === 0 || m === O_RDWR;
}

/** The events that say "a file was renamed" (security_inode_rename: paths joined to their dirfd or cwd). */
export const RENAME_EVENTS = ['security_inode_rename'] as const;

export interface Rename {
  readonly oldpath: string;
  readonly newpath: string;
}

export function fileRename(ev: TraceEvent): Rename | undefined {
  if (ev.spec.name !== 'security_inode_rename') return undefined;
  const oldpath = argString(ev, 'old_path');
  const newpath = argString(ev, 'new_path');
  return oldpath === undefined || newpath === undefined ? undefined : { oldpath, newpath };
}

/** The events that say "a program was executed" (sched_process_exec: the file the kernel ran). */
export const EXEC_EVENTS = ['sched_process_exec'] as const;

export interface Exec {
  readonly pathname: string;
  readonly argv: readonly string[];
}

export function programExec(ev: TraceEvent): Exec | undefined {
  if (ev.spec.name !== 'sched_process_exec') return undefined;
  const pathname = argString(ev, 'pathname');
  if (pathname === undefined) return undefined;
  return { pathname, argv: argStrings(ev, 'argv') ?? [] };
}

/**
 * The environment an execve or execveat passed (its envp, user memory read at entry), or sched_process_exec's
 * env when it carries one. Undefined for other events or when empty.
 */
export function execEnv(ev: TraceEvent): readonly string[] | undefined {
  const name = ev.spec.name;
  if (name !== 'execve' && name !== 'execveat' && name !== 'sched_process_exec') return undefined;
  if (name !== 'sched_process_exec' && Number(ev.returnValue) !== 0) return undefined;
  const env = argStrings(ev, name === 'sched_process_exec' ? 'env' : 'envp');
  return env !== undefined && env.length > 0 ? env : undefined;
}

/** The network end of a connect: IPv4/IPv6 address and port, or a unix socket path. */
export interface Peer {
  readonly family: string;
  readonly ip: string;
  readonly port: string;
  readonly path: string;
}

function peerOf(addr: SockAddrValue): Peer {
  const family = addr['sa_family'] ?? '';
  return {
    family,
    ip: addr['sin_addr'] ?? addr['sin6_addr'] ?? '',
    port: addr['sin_port'] ?? addr['sin6_port'] ?? '',
    path: addr['sun_path'] ?? '',
  };
}

/** The peer of a security_socket_connect (Tracee's `remote_addr`) and the socket fd. */
export function socketConnect(ev: TraceEvent): { fd: number; peer: Peer } | undefined {
  if (ev.spec.name !== 'security_socket_connect') return undefined;
  const addr = argSockAddr(ev, 'remote_addr');
  const fd = argInt(ev, 'sockfd');
  return addr === undefined || fd === undefined ? undefined : { fd, peer: peerOf(addr) };
}

/**
 * True when the event comes from a container: enrichment found a container cgroup (`containerId`), or the
 * process lives in both a mount and a pid namespace that are not the host's (`isolated`): a container by any
 * other name (unshare, a runtime ktrail does not know, a cgroup moved).
 */
export function inContainer(ev: TraceEvent): boolean {
  return ev.containerId !== '' || ev.isolated === true;
}

/**
 * A small insertion-ordered map that forgets its oldest entry when full. Rules keep per-process state in it so
 * that memory stays bounded however many processes come and go.
 */
export class BoundedMap<K, V> {
  readonly #max: number;
  readonly #m = new Map<K, V>();
  constructor(max: number) {
    this.#max = max;
  }
  get size(): number {
    return this.#m.size;
  }
  get(k: K): V | undefined {
    return this.#m.get(k);
  }
  set(k: K, v: V): void {
    this.#m.delete(k);
    this.#m.set(k, v);
    if (this.#m.size > this.#max) {
      const oldest = this.#m.keys().next();
      if (!oldest.done) this.#m.delete(oldest.value);
    }
  }
  delete(k: K): void {
    this.#m.delete(k);
  }
}
