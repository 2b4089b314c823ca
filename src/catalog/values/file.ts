/**
 * File-system value tables: open(2) flags, file modes, *at() flags, access(2) modes, fcntl(2) commands,
 * lseek(2) whence, renameat2(2) flags. Values: asm-generic/fcntl.h, linux/fcntl.h, linux/stat.h, linux/fs.h.
 */
import type { ValueTable } from '../types.js';

/**
 * open(2)/openat(2) flags. The access mode is an enum in the low two bits (O_ACCMODE), so 0 renders
 * `O_RDONLY`. O_SYNC (04010000) contains O_DSYNC and O_TMPFILE contains O_DIRECTORY: the renderer drops an
 * entry whose bits are all covered by another matching entry, so 04010000 renders `O_SYNC`, not
 * `O_DSYNC|O_SYNC`.
 */
export const openFlags: ValueTable = {
  name: 'open_flags',
  kind: 'flags',
  enumMask: 0o3,
  entries: [
    { name: 'O_RDONLY', value: 0, inMask: true, meaning: 'Open for reading only.' },
    { name: 'O_WRONLY', value: 0o1, inMask: true, meaning: 'Open for writing only.' },
    { name: 'O_RDWR', value: 0o2, inMask: true, meaning: 'Open for reading and writing.' },
    { name: 'O_CREAT', value: 0o100, meaning: 'Create the file if it does not exist.' },
    { name: 'O_EXCL', value: 0o200, meaning: 'With O_CREAT: fail with EEXIST if the file exists.' },
    { name: 'O_NOCTTY', value: 0o400, meaning: 'Do not make a terminal the controlling terminal.' },
    { name: 'O_TRUNC', value: 0o1000, meaning: 'Truncate a regular file to length 0.' },
    { name: 'O_APPEND', value: 0o2000, meaning: 'Every write goes to the end of the file.' },
    { name: 'O_NONBLOCK', value: 0o4000, meaning: 'Non-blocking I/O.' },
    {
      name: 'O_DSYNC',
      value: 0o10000,
      meaning: 'Writes complete once the data (not all metadata) is stable.',
    },
    { name: 'FASYNC', value: 0o20000, meaning: 'Signal-driven I/O (SIGIO); also spelled O_ASYNC.' },
    { name: 'O_DIRECT', value: 0o40000, meaning: 'Bypass the page cache where possible.' },
    {
      name: 'O_LARGEFILE',
      value: 0o100000,
      meaning: 'Allow offsets beyond 2 GiB (always on for 64-bit callers).',
    },
    { name: 'O_DIRECTORY', value: 0o200000, meaning: 'Fail unless the path is a directory.' },
    { name: 'O_NOFOLLOW', value: 0o400000, meaning: 'Fail if the last path component is a symbolic link.' },
    { name: 'O_NOATIME', value: 0o1000000, meaning: 'Do not update the access time.' },
    { name: 'O_CLOEXEC', value: 0o2000000, meaning: 'Close the descriptor on execve.' },
    {
      name: 'O_SYNC',
      value: 0o4010000,
      meaning: 'Writes complete once data and metadata are stable (includes O_DSYNC).',
    },
    { name: 'O_PATH', value: 0o10000000, meaning: 'Descriptor only locates the file; no read or write.' },
    {
      name: 'O_TMPFILE',
      value: 0o20200000,
      meaning: 'Create an unnamed file in the given directory (includes O_DIRECTORY).',
    },
  ],
};

/** File type (S_IFMT part, an enum) and permission bits of a mode_t. Tracee prints modes as numbers. */
export const fileMode: ValueTable = {
  name: 'file_mode',
  kind: 'flags',
  enumMask: 0o170000,
  entries: [
    { name: 'S_IFSOCK', value: 0o140000, inMask: true, meaning: 'Socket.' },
    { name: 'S_IFLNK', value: 0o120000, inMask: true, meaning: 'Symbolic link.' },
    { name: 'S_IFREG', value: 0o100000, inMask: true, meaning: 'Regular file.' },
    { name: 'S_IFBLK', value: 0o60000, inMask: true, meaning: 'Block device.' },
    { name: 'S_IFDIR', value: 0o40000, inMask: true, meaning: 'Directory.' },
    { name: 'S_IFCHR', value: 0o20000, inMask: true, meaning: 'Character device.' },
    { name: 'S_IFIFO', value: 0o10000, inMask: true, meaning: 'FIFO (named pipe).' },
    { name: 'S_ISUID', value: 0o4000, meaning: 'Set-user-ID on execution.' },
    {
      name: 'S_ISGID',
      value: 0o2000,
      meaning: 'Set-group-ID on execution (or group inheritance on a directory).',
    },
    { name: 'S_ISVTX', value: 0o1000, meaning: 'Sticky: only owners may delete entries in a directory.' },
    { name: 'S_IRUSR', value: 0o400, meaning: 'Owner may read.' },
    { name: 'S_IWUSR', value: 0o200, meaning: 'Owner may write.' },
    { name: 'S_IXUSR', value: 0o100, meaning: 'Owner may execute or search.' },
    { name: 'S_IRGRP', value: 0o40, meaning: 'Group may read.' },
    { name: 'S_IWGRP', value: 0o20, meaning: 'Group may write.' },
    { name: 'S_IXGRP', value: 0o10, meaning: 'Group may execute or search.' },
    { name: 'S_IROTH', value: 0o4, meaning: 'Others may read.' },
    { name: 'S_IWOTH', value: 0o2, meaning: 'Others may write.' },
    { name: 'S_IXOTH', value: 0o1, meaning: 'Others may execute or search.' },
  ],
};

const S_IFMT = 0o170000;

/**
 * Renders a mode the way people read them: the permission bits as four octal digits, prefixed by the file
 * type name when a type is set (`0644`, `S_IFREG|0644`, `S_IFDIR|1777`). A value with an unknown type or
 * bits above 0177777 is printed whole in octal (`0200644`). Negative values are read as uint32.
 */
export function renderMode(value: number | bigint): string {
  const big = typeof value === 'bigint' ? value : BigInt(Math.trunc(value));
  const n = Number(big < 0n ? big & 0xffffffffn : big);
  const perm = (n % 0o10000).toString(8).padStart(4, '0');
  if (n > 0o177777) return '0' + n.toString(8);
  const type = n - (n % 0o10000);
  if (type === 0) return perm;
  const entry = fileMode.entries.find((e) => e.inMask === true && e.value === (type & S_IFMT));
  return entry === undefined ? '0' + n.toString(8) : `${entry.name}|${perm}`;
}

/**
 * Flags of the *at() calls (unlinkat, fstatat, linkat, execveat, faccessat2, statx, ...). AT_EACCESS
 * (faccessat2) and AT_REMOVEDIR (unlinkat) share 0x200: the table names it AT_REMOVEDIR, the more common and
 * security-relevant meaning; filters also accept AT_EACCESS (an alias).
 */
export const atFlags: ValueTable = {
  name: 'at_flags',
  kind: 'flags',
  entries: [
    { name: 'AT_SYMLINK_NOFOLLOW', value: 0x100, meaning: 'Do not follow a trailing symbolic link.' },
    { name: 'AT_REMOVEDIR', value: 0x200, meaning: 'unlinkat: remove a directory (same bit as AT_EACCESS).' },
    { name: 'AT_SYMLINK_FOLLOW', value: 0x400, meaning: 'Follow a trailing symbolic link (linkat).' },
    { name: 'AT_NO_AUTOMOUNT', value: 0x800, meaning: 'Do not trigger an automount on the last component.' },
    { name: 'AT_EMPTY_PATH', value: 0x1000, meaning: 'An empty path means the descriptor itself.' },
    {
      name: 'AT_STATX_FORCE_SYNC',
      value: 0x2000,
      meaning: 'statx: fetch fresh attributes from a remote server.',
    },
    {
      name: 'AT_STATX_DONT_SYNC',
      value: 0x4000,
      meaning: 'statx: use cached attributes, do not contact a server.',
    },
    {
      name: 'AT_RECURSIVE',
      value: 0x8000,
      meaning: 'Apply to the whole subtree (open_tree, mount_setattr).',
    },
  ],
};

/** access(2)/faccessat(2) mode bits; 0 is F_OK (existence). */
export const accessMode: ValueTable = {
  name: 'access_mode',
  kind: 'flags',
  entries: [
    { name: 'F_OK', value: 0, meaning: 'Only test that the file exists.' },
    { name: 'R_OK', value: 4, meaning: 'Test read permission.' },
    { name: 'W_OK', value: 2, meaning: 'Test write permission.' },
    { name: 'X_OK', value: 1, meaning: 'Test execute (search) permission.' },
  ],
};

/** fcntl(2) commands. The *64 lock commands exist for 32-bit callers only. */
export const fcntlCmd: ValueTable = {
  name: 'fcntl_cmd',
  kind: 'enum',
  entries: [
    { name: 'F_DUPFD', value: 0 },
    { name: 'F_GETFD', value: 1 },
    { name: 'F_SETFD', value: 2 },
    { name: 'F_GETFL', value: 3 },
    { name: 'F_SETFL', value: 4 },
    { name: 'F_GETLK', value: 5 },
    { name: 'F_SETLK', value: 6 },
    { name: 'F_SETLKW', value: 7 },
    { name: 'F_SETOWN', value: 8 },
    { name: 'F_GETOWN', value: 9 },
    { name: 'F_SETSIG', value: 10 },
    { name: 'F_GETSIG', value: 11 },
    { name: 'F_GETLK64', value: 12 },
    { name: 'F_SETLK64', value: 13 },
    { name: 'F_SETLKW64', value: 14 },
    { name: 'F_SETOWN_EX', value: 15 },
    { name: 'F_GETOWN_EX', value: 16 },
    { name: 'F_GETOWNER_UIDS', value: 17 },
    { name: 'F_OFD_GETLK', value: 36 },
    { name: 'F_OFD_SETLK', value: 37 },
    { name: 'F_OFD_SETLKW', value: 38 },
    { name: 'F_SETLEASE', value: 1024 },
    { name: 'F_GETLEASE', value: 1025 },
    { name: 'F_NOTIFY', value: 1026 },
    { name: 'F_DUPFD_QUERY', value: 1027, meaning: 'Linux 6.10+.' },
    { name: 'F_CREATED_QUERY', value: 1028, meaning: 'Linux 6.12+.' },
    { name: 'F_CANCELLK', value: 1029 },
    { name: 'F_DUPFD_CLOEXEC', value: 1030 },
    { name: 'F_SETPIPE_SZ', value: 1031 },
    { name: 'F_GETPIPE_SZ', value: 1032 },
    { name: 'F_ADD_SEALS', value: 1033 },
    { name: 'F_GET_SEALS', value: 1034 },
    { name: 'F_GET_RW_HINT', value: 1035 },
    { name: 'F_SET_RW_HINT', value: 1036 },
    { name: 'F_GET_FILE_RW_HINT', value: 1037 },
    { name: 'F_SET_FILE_RW_HINT', value: 1038 },
  ],
};

/** lseek(2) whence. */
export const seekWhence: ValueTable = {
  name: 'seek_whence',
  kind: 'enum',
  entries: [
    { name: 'SEEK_SET', value: 0, meaning: 'From the start of the file.' },
    { name: 'SEEK_CUR', value: 1, meaning: 'From the current offset.' },
    { name: 'SEEK_END', value: 2, meaning: 'From the end of the file.' },
    { name: 'SEEK_DATA', value: 3, meaning: 'To the next data at or after the offset.' },
    { name: 'SEEK_HOLE', value: 4, meaning: 'To the next hole at or after the offset.' },
  ],
};

/** renameat2(2) flags. */
export const renameat2Flags: ValueTable = {
  name: 'renameat2_flags',
  kind: 'flags',
  entries: [
    { name: 'RENAME_NOREPLACE', value: 1, meaning: 'Fail with EEXIST instead of replacing the target.' },
    { name: 'RENAME_EXCHANGE', value: 2, meaning: 'Atomically swap the two paths.' },
    { name: 'RENAME_WHITEOUT', value: 4, meaning: 'Leave a whiteout at the source (overlay filesystems).' },
  ],
};
