/**
 * Kernel events: Tracee's LSM-hook events (and magic_write, mem_prot_alert) with Tracee v0.24's ids, names,
 * sets, field names and types (aquasecurity/tracee v0.24.1 pkg/events/core.go). This kernel loads no LSM,
 * fentry or kprobe program, so ktrail builds them at the raw syscall tracepoints from the kernel objects the
 * call left behind: the file the returned fd points at, the socket behind an fd, the directory of a dirfd
 * or the cwd, the VMA an address falls in (bpf/include/common/kevents.h). Fields the kernel resolved are K;
 * a path the caller wrote is U and TOCTOU, and where ktrail joins it to a directory the kernel resolved, the
 * note says so. Records carry every field as a blob in this order (bpf/include/wire.h).
 */
import type { ArgTag, EventSpec, FieldSpec, KernelEventSource, ProbeSpec, TraceeType } from './types.js';

const STR_MAX = 4096;
const K: readonly ArgTag[] = ['K'];
const K_OPT: readonly ArgTag[] = ['K', 'OPT'];
const U: readonly ArgTag[] = ['U', 'TOCTOU'];

function f(
  name: string,
  type: TraceeType,
  cType: string,
  tags: readonly ArgTag[],
  values?: string,
): FieldSpec {
  const base = (() => {
    switch (type) {
      case 'string':
        return { name, cType, type, decode: { wire: 'str', max: STR_MAX } as const, tags };
      case 'SockAddr':
        return { name, cType, type, decode: { wire: 'sockaddr' } as const, tags };
      case '[]byte':
        return { name, cType, type, decode: { wire: 'buf', lenArg: 0, max: 32 } as const, tags };
      default:
        return { name, cType, type, decode: { wire: 'reg' } as const, tags };
    }
  })();
  return values === undefined ? base : { ...base, values };
}

const SYS_ENTER: ProbeSpec = { kind: 'raw_tracepoint', target: 'sys_enter', required: true };
const SYS_EXIT: ProbeSpec = { kind: 'raw_tracepoint', target: 'sys_exit', required: true };
const BOTH = [SYS_ENTER, SYS_EXIT];

const JOINED =
  'the directory part is the kernel\'s own path of the dirfd (or of the cwd, or the root for an absolute path); the rest is the path as the caller wrote it, read at exit, with ".", ".." and doubled slashes removed lexically (U, TOCTOU: a symlink inside it is not followed).';

function sources(...s: KernelEventSource[]): readonly KernelEventSource[] {
  return s;
}

export const KERNEL_EVENTS: readonly EventSpec[] = [
  {
    id: 732,
    name: 'security_file_open',
    version: '1.0.0',
    kind: 'security',
    description:
      'A file was opened: the path, flags and inode of the file the kernel opened, taken from the new fd.',
    sets: ['lsm_hooks', 'fs', 'fs_file_ops'],
    fields: [
      f('pathname', 'string', 'const char *', K),
      f('flags', 'int32', 'int', K, 'open_flags'),
      f('dev', 'uint32', 'dev_t', K),
      f('inode', 'uint64', 'unsigned long', K),
      f('ctime', 'uint64', 'unsigned long', K),
      f('syscall_pathname', 'string', 'const char *', [...U, 'OPT']),
    ],
    probes: BOTH,
    kernel: {
      kind: 'FILE_OPEN',
      sources: sources(
        { syscall: 'open', path: 0 },
        { syscall: 'openat', path: 1, dirfd: 0 },
        { syscall: 'openat2', path: 1, dirfd: 0 },
        { syscall: 'creat', path: 0 },
        { syscall: 'open_by_handle_at' },
      ),
    },
    related: ['open', 'openat', 'openat2', 'creat', 'open_by_handle_at'],
    notes: [
      'Built at the exit of every successful open, openat, openat2, creat and open_by_handle_at from the file the new fd points at: pathname is rebuilt from its dentries and mounts up to the root of the mount namespace (a chroot does not hide it), so relative paths, symlinks, "..", /proc/self/root and O_PATH dirfds resolve to the file really opened. flags are the file\'s f_flags (O_CREAT and O_TRUNC are gone by then, O_LARGEFILE is added); dev (kernel encoding) and inode are those stat(2) shows.',
      'syscall_pathname is the path as the caller passed it (user memory read at exit; empty for open_by_handle_at).',
      'Deleted files end in " (deleted)"; pseudo files read memfd:NAME, pipe:[ino], socket:[ino], anon_inode:NAME.',
    ],
  },
  {
    id: 733,
    name: 'security_inode_unlink',
    version: '1.0.0',
    kind: 'security',
    description: 'A directory entry was removed (unlink, unlinkat, rmdir that succeeded).',
    sets: ['default', 'lsm_hooks', 'fs', 'fs_file_ops'],
    fields: [
      f('pathname', 'string', 'const char *', U),
      f('inode', 'uint64', 'unsigned long', K_OPT),
      f('dev', 'uint32', 'dev_t', K_OPT),
      f('ctime', 'uint64', 'u64', K_OPT),
    ],
    probes: BOTH,
    kernel: {
      kind: 'INODE_UNLINK',
      sources: sources(
        { syscall: 'unlink', path: 0 },
        { syscall: 'unlinkat', path: 1, dirfd: 0 },
        { syscall: 'rmdir', path: 0 },
      ),
    },
    related: ['unlink', 'unlinkat', 'rmdir', 'security_inode_rename'],
    notes: [
      `pathname: ${JOINED}`,
      'inode, dev and ctime are 0: by the exit the entry is gone, and no tracepoint shows the inode before.',
    ],
  },
  {
    id: 768,
    name: 'security_inode_rename',
    version: '1.0.0',
    kind: 'security',
    description: 'A file was renamed (rename, renameat, renameat2 that succeeded).',
    sets: [],
    fields: [f('old_path', 'string', 'const char *', U), f('new_path', 'string', 'const char *', U)],
    probes: BOTH,
    kernel: {
      kind: 'INODE_RENAME',
      sources: sources(
        { syscall: 'rename', path: 0, path2: 1 },
        { syscall: 'renameat', dirfd: 0, path: 1, dirfd2: 2, path2: 3 },
        { syscall: 'renameat2', dirfd: 0, path: 1, dirfd2: 2, path2: 3 },
      ),
    },
    related: ['rename', 'renameat', 'renameat2', 'security_inode_unlink'],
    notes: [`old_path and new_path: ${JOINED}`],
  },
  {
    id: 736,
    name: 'security_socket_connect',
    version: '1.0.0',
    kind: 'security',
    description: 'A socket was connected (connect on an AF_INET, AF_INET6 or AF_UNIX socket).',
    sets: ['default', 'lsm_hooks', 'net', 'net_sock'],
    fields: [
      f('sockfd', 'int32', 'int', K),
      f('type', 'int32', 'int', K, 'socket_type'),
      f('remote_addr', 'SockAddr', 'struct sockaddr *', K),
    ],
    probes: BOTH,
    kernel: { kind: 'SOCK_CONNECT', sources: sources({ syscall: 'connect' }) },
    related: ['connect', 'security_socket_bind', 'security_socket_accept'],
    notes: [
      "Built at the exit of every connect on such a socket, whatever its result. remote_addr is the peer the socket holds (an AF_UNIX peer's bound name, abstract names as @name); when the connect left none (it failed), the caller's sockaddr argument is shown instead (U).",
    ],
  },
  {
    id: 738,
    name: 'security_socket_bind',
    version: '1.0.0',
    kind: 'security',
    description: 'A socket was bound to a local address (bind on an AF_INET, AF_INET6 or AF_UNIX socket).',
    sets: ['default', 'lsm_hooks', 'net', 'net_sock'],
    fields: [f('sockfd', 'int32', 'int', K), f('local_addr', 'SockAddr', 'struct sockaddr *', K)],
    probes: BOTH,
    kernel: { kind: 'SOCK_BIND', sources: sources({ syscall: 'bind' }) },
    related: ['bind', 'security_socket_listen'],
    notes: [
      "local_addr is the address the socket holds after the call (port 0 shows the port the kernel chose); when a bind failed, the caller's sockaddr argument (U).",
    ],
  },
  {
    id: 737,
    name: 'security_socket_accept',
    version: '1.0.0',
    kind: 'security',
    description: 'A connection was accepted on a listening socket (accept, accept4 that succeeded).',
    sets: ['default', 'lsm_hooks', 'net', 'net_sock'],
    fields: [f('sockfd', 'int32', 'int', K), f('local_addr', 'SockAddr', 'struct sockaddr *', K)],
    probes: BOTH,
    kernel: { kind: 'SOCK_ACCEPT', sources: sources({ syscall: 'accept' }, { syscall: 'accept4' }) },
    related: ['accept', 'accept4', 'security_socket_listen'],
    notes: ["local_addr is the listening socket's own address. Only calls that returned a connection count."],
  },
  {
    id: 735,
    name: 'security_socket_listen',
    version: '1.0.0',
    kind: 'security',
    description: 'A socket started listening (listen that succeeded).',
    sets: ['lsm_hooks', 'net', 'net_sock'],
    fields: [
      f('sockfd', 'int32', 'int', K),
      f('local_addr', 'SockAddr', 'struct sockaddr *', K),
      f('backlog', 'int32', 'int', K),
    ],
    probes: BOTH,
    kernel: { kind: 'SOCK_LISTEN', sources: sources({ syscall: 'listen' }) },
    related: ['listen', 'security_socket_accept'],
  },
  {
    id: 740,
    name: 'security_sb_mount',
    version: '1.0.0',
    kind: 'security',
    description: 'A filesystem was mounted (mount that succeeded).',
    sets: ['default', 'lsm_hooks', 'fs'],
    fields: [
      f('dev_name', 'string', 'const char *', U),
      f('path', 'string', 'const char *', U),
      f('type', 'string', 'const char *', [...U, 'OPT']),
      f('flags', 'uint64', 'unsigned long', K, 'mount_flags'),
    ],
    probes: BOTH,
    kernel: { kind: 'SB_MOUNT', sources: sources({ syscall: 'mount', path: 1 }) },
    related: ['mount', 'umount2', 'security_sb_umount'],
    notes: [`path (the mount point): ${JOINED}`, "dev_name and type are the caller's strings."],
  },
  {
    id: 792,
    name: 'security_sb_umount',
    version: '1.0.0',
    kind: 'security',
    description: 'A filesystem was unmounted (umount2 that succeeded).',
    sets: ['default', 'lsm_hooks', 'fs'],
    fields: [
      f('mountpoint', 'string', 'const char *', U),
      f('type', 'string', 'const char *', K_OPT),
      f('flags', 'int32', 'int', K, 'umount_flags'),
    ],
    probes: BOTH,
    kernel: { kind: 'SB_UMOUNT', sources: sources({ syscall: 'umount2', path: 0 }) },
    related: ['umount2', 'mount', 'security_sb_mount'],
    notes: [
      `mountpoint: ${JOINED}`,
      'type stays empty: a tracepoint cannot look the mount up by its path, and by the exit it is gone.',
    ],
  },
  {
    id: 748,
    name: 'security_file_mprotect',
    version: '1.0.0',
    kind: 'security',
    description: 'A process asked to change the protection of a mapping (mprotect, pkey_mprotect).',
    sets: ['lsm_hooks', 'proc', 'proc_mem', 'fs', 'fs_file_ops'],
    fields: [
      f('pathname', 'string', 'const char *', K_OPT),
      f('prot', 'int32', 'int', K, 'mmap_prot'),
      f('ctime', 'uint64', 'unsigned long', K_OPT),
      f('prev_prot', 'int32', 'int', K, 'mmap_prot'),
      f('addr', 'trace.Pointer', 'void *', K),
      f('len', 'uint64', 'size_t', K),
      f('pkey', 'int32', 'int', K_OPT),
    ],
    probes: BOTH,
    kernel: {
      kind: 'FILE_MPROTECT',
      sources: sources({ syscall: 'mprotect', atEntry: true }, { syscall: 'pkey_mprotect', atEntry: true }),
    },
    related: ['mprotect', 'pkey_mprotect', 'mem_prot_alert'],
    notes: [
      "Built at the call's entry from the mapping holding addr (bpf_find_vma): prev_prot is its protection before the change, pathname and ctime its file's (empty for anonymous memory). Calls whose address is in no mapping give none.",
    ],
  },
  {
    id: 724,
    name: 'mem_prot_alert',
    version: '1.0.0',
    kind: 'security',
    description:
      'A mapping became writable and executable, or executable after being writable: the steps of unpacking or injecting code.',
    sets: [],
    fields: [
      f('alert', 'uint32', 'u32', K),
      f('addr', 'trace.Pointer', 'void *', K),
      f('len', 'uint64', 'size_t', K),
      f('prot', 'int32', 'int', K, 'mmap_prot'),
      f('prev_prot', 'int32', 'int', K, 'mmap_prot'),
      f('pathname', 'string', 'const char *', K_OPT),
      f('dev', 'uint32', 'dev_t', K_OPT),
      f('inode', 'uint64', 'unsigned long', K_OPT),
      f('ctime', 'uint64', 'u64', K_OPT),
    ],
    probes: BOTH,
    kernel: {
      kind: 'MEM_PROT_ALERT',
      sources: sources(
        { syscall: 'mprotect', atEntry: true },
        { syscall: 'pkey_mprotect', atEntry: true },
        { syscall: 'mmap' },
      ),
    },
    related: ['mprotect', 'mmap', 'security_file_mprotect'],
    notes: [
      "alert (Tracee's values): 1 an mmap asked for write and execute at once; 2 an mprotect made a mapping executable; 3 it made an executable, non-writable mapping writable and executable; 4 it made a writable mapping executable and not writable. An mprotect may meet several; the last one named counts, as in Tracee.",
    ],
  },
  {
    id: 727,
    name: 'magic_write',
    version: '1.0.0',
    kind: 'security',
    description:
      'The first bytes written at offset 0 of a regular file (a file created or rewritten from its start).',
    sets: [],
    fields: [
      f('pathname', 'string', 'const char *', K),
      f('bytes', '[]byte', 'bytes', U),
      f('dev', 'uint32', 'dev_t', K),
      f('inode', 'uint64', 'unsigned long', K),
    ],
    probes: BOTH,
    kernel: {
      kind: 'MAGIC_WRITE',
      sources: sources(
        { syscall: 'write' },
        { syscall: 'pwrite64' },
        { syscall: 'writev' },
        { syscall: 'pwritev' },
        { syscall: 'pwritev2' },
      ),
    },
    related: ['write', 'pwrite64', 'writev', 'security_file_open'],
    notes: [
      "Checked at entry (the file position is 0, or the end of an empty O_APPEND file, or the explicit offset is 0) and built at exit when bytes were written: bytes are the first 32 (of the first iovec for writev), read from the caller's buffer at exit.",
    ],
  },
];
