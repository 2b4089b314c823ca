/**
 * Event accessors shared by the rules: "a file was opened", "a program was executed", "a file was renamed",
 * built from the syscall events ktrail captures (and from Tracee's LSM events when a Tracee JSON file is
 * analyzed). Pure functions; undefined means "not this kind of event" or "value not known".
 *
 * Paths are as the caller passed them: a relative path cannot be resolved yet (the cwd and dirfd targets are not
 * tracked), so path rules treat a relative path as unknown and do not match it, except for rules keyed on the
 * base name only.
 */
import { parseValue, valueTables } from '../catalog/values/index.js';
import { argValue, type SockAddrValue, type TraceEvent } from '../decode/event.js';

const O_ACCMODE = 0o3;
const O_WRONLY = 0o1;
const O_RDWR = 0o2;
/** creat(2) is open(O_CREAT|O_WRONLY|O_TRUNC). */
const CREAT_FLAGS = 0o1101;

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

/** A successful file open: the path as given and the open flags. */
export interface FileOpen {
  readonly pathname: string;
  readonly flags: number;
}

/** The syscalls (and Tracee's LSM event) that say "a file was opened". openat2 keeps its flags in a struct
 * ktrail does not read, so it cannot tell read from write and is left out. */
export const OPEN_EVENTS = ['openat', 'open', 'creat', 'security_file_open'] as const;

export function fileOpen(ev: TraceEvent): FileOpen | undefined {
  const name = ev.spec.name;
  if (name !== 'security_file_open' && !succeeded(ev)) return undefined;
  const pathname = argString(ev, 'pathname');
  if (pathname === undefined || pathname === '') return undefined;
  if (name === 'creat') return { pathname, flags: CREAT_FLAGS };
  if (name !== 'openat' && name !== 'open' && name !== 'security_file_open') return undefined;
  const flags = argInt(ev, 'flags', 'open_flags');
  return flags === undefined ? undefined : { pathname, flags };
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

/** The rename syscalls (and Tracee's LSM event). */
export const RENAME_EVENTS = ['rename', 'renameat', 'renameat2', 'security_inode_rename'] as const;

export interface Rename {
  readonly oldpath: string;
  readonly newpath: string;
}

export function fileRename(ev: TraceEvent): Rename | undefined {
  if (ev.spec.name === 'security_inode_rename') {
    const oldpath = argString(ev, 'old_path');
    const newpath = argString(ev, 'new_path');
    return oldpath === undefined || newpath === undefined ? undefined : { oldpath, newpath };
  }
  if (!succeeded(ev)) return undefined;
  const oldpath = argString(ev, 'oldpath');
  const newpath = argString(ev, 'newpath');
  return oldpath === undefined || newpath === undefined ? undefined : { oldpath, newpath };
}

/** The events that say "a program was executed". */
export const EXEC_EVENTS = ['execve', 'execveat', 'sched_process_exec'] as const;

export interface Exec {
  readonly pathname: string;
  readonly argv: readonly string[];
  /** The environment when the event carries it (sched_process_exec with exec-env, execve's envp). */
  readonly env: readonly string[] | undefined;
  /** execveat's dirfd and flags (for fexecve: an empty path with AT_EMPTY_PATH). */
  readonly dirfd: number | undefined;
  readonly flags: number;
}

export function programExec(ev: TraceEvent): Exec | undefined {
  const name = ev.spec.name;
  if (name !== 'execve' && name !== 'execveat' && name !== 'sched_process_exec') return undefined;
  if (name !== 'sched_process_exec' && Number(ev.returnValue) !== 0) return undefined;
  const pathname = argString(ev, 'pathname');
  if (pathname === undefined) return undefined;
  const env = argStrings(ev, name === 'sched_process_exec' ? 'env' : 'envp');
  return {
    pathname,
    argv: argStrings(ev, 'argv') ?? [],
    env: env !== undefined && env.length > 0 ? env : undefined,
    dirfd: name === 'execveat' ? argInt(ev, 'dirfd') : undefined,
    flags: name === 'execveat' ? (argInt(ev, 'flags', 'at_flags') ?? 0) : 0,
  };
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

/** The peer of a connect (syscall `addr`, Tracee's `remote_addr`) and the socket fd. */
export function socketConnect(ev: TraceEvent): { fd: number; peer: Peer } | undefined {
  const name = ev.spec.name;
  if (name === 'connect') {
    // A non-blocking connect returns EINPROGRESS (-115) and completes later.
    const r = Number(ev.returnValue);
    if (r !== 0 && r !== -115) return undefined;
    const addr = argSockAddr(ev, 'addr');
    const fd = argInt(ev, 'sockfd');
    return addr === undefined || fd === undefined ? undefined : { fd, peer: peerOf(addr) };
  }
  if (name === 'security_socket_connect') {
    const addr = argSockAddr(ev, 'remote_addr');
    const fd = argInt(ev, 'sockfd');
    return addr === undefined || fd === undefined ? undefined : { fd, peer: peerOf(addr) };
  }
  return undefined;
}

/** True when the event comes from inside a container (enrichment filled `containerId`). */
export function inContainer(ev: TraceEvent): boolean {
  return ev.containerId !== '';
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
