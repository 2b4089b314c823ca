/**
 * errno names and meanings (asm-generic/errno-base.h and errno.h, shared by x86_64 and arm64), plus the
 * kernel-internal restart codes that can be seen at sys_exit before the signal code rewrites them.
 */
import type { ValueTable } from '../types.js';
import { tableAliases } from './aliases.js';

export const errno: ValueTable = {
  name: 'errno',
  kind: 'enum',
  entries: [
    { name: 'EPERM', value: 1, meaning: 'The caller lacks the privilege (capability) for this operation.' },
    { name: 'ENOENT', value: 2, meaning: 'The file, directory or named object does not exist.' },
    { name: 'ESRCH', value: 3, meaning: 'No process or thread with that id.' },
    { name: 'EINTR', value: 4, meaning: 'A signal arrived before the call could finish.' },
    { name: 'EIO', value: 5, meaning: 'A low-level input/output failure.' },
    { name: 'ENXIO', value: 6, meaning: 'The device or address does not exist or is not reachable.' },
    { name: 'E2BIG', value: 7, meaning: 'The argument list (or another argument) is too large.' },
    { name: 'ENOEXEC', value: 8, meaning: 'The file is not in an executable format this kernel accepts.' },
    { name: 'EBADF', value: 9, meaning: 'The descriptor is not open, or not open for this kind of access.' },
    { name: 'ECHILD', value: 10, meaning: 'There is no child process to wait for.' },
    { name: 'EAGAIN', value: 11, meaning: 'Not possible right now; try again (also EWOULDBLOCK).' },
    { name: 'ENOMEM', value: 12, meaning: 'The kernel could not allocate memory.' },
    { name: 'EACCES', value: 13, meaning: 'File permissions or a security module denied access.' },
    { name: 'EFAULT', value: 14, meaning: "A pointer argument is outside the caller's address space." },
    { name: 'ENOTBLK', value: 15, meaning: 'A block device was required.' },
    { name: 'EBUSY', value: 16, meaning: 'The device or resource is in use.' },
    { name: 'EEXIST', value: 17, meaning: 'The object already exists.' },
    { name: 'EXDEV', value: 18, meaning: 'The operation cannot cross filesystems or mounts.' },
    { name: 'ENODEV', value: 19, meaning: 'No such device, or the device lacks this operation.' },
    { name: 'ENOTDIR', value: 20, meaning: 'A path component is not a directory.' },
    { name: 'EISDIR', value: 21, meaning: 'The path is a directory where a file was expected.' },
    { name: 'EINVAL', value: 22, meaning: 'An argument has an invalid value or combination.' },
    { name: 'ENFILE', value: 23, meaning: 'The system-wide limit of open files is reached.' },
    { name: 'EMFILE', value: 24, meaning: "The process's limit of open descriptors is reached." },
    { name: 'ENOTTY', value: 25, meaning: 'The ioctl does not apply to this kind of file.' },
    {
      name: 'ETXTBSY',
      value: 26,
      meaning: 'The file is being executed, or open for writing while executed.',
    },
    { name: 'EFBIG', value: 27, meaning: 'The file is or would become too large.' },
    { name: 'ENOSPC', value: 28, meaning: 'The device has no space left.' },
    { name: 'ESPIPE', value: 29, meaning: 'Seeking is impossible on a pipe, socket or FIFO.' },
    { name: 'EROFS', value: 30, meaning: 'The filesystem is mounted read-only.' },
    { name: 'EMLINK', value: 31, meaning: 'Too many hard links to the file.' },
    { name: 'EPIPE', value: 32, meaning: 'The other end of the pipe or socket is closed.' },
    { name: 'EDOM', value: 33, meaning: 'A math argument is outside the function domain.' },
    { name: 'ERANGE', value: 34, meaning: 'A result does not fit in the return type.' },
    { name: 'EDEADLK', value: 35, meaning: 'The request would deadlock (also EDEADLOCK).' },
    { name: 'ENAMETOOLONG', value: 36, meaning: 'A path or name is too long.' },
    { name: 'ENOLCK', value: 37, meaning: 'No lock records are available.' },
    {
      name: 'ENOSYS',
      value: 38,
      meaning: 'The system call is not implemented or configured in this kernel.',
    },
    { name: 'ENOTEMPTY', value: 39, meaning: 'The directory is not empty.' },
    { name: 'ELOOP', value: 40, meaning: 'Too many symbolic links while resolving the path.' },
    { name: 'ENOMSG', value: 42, meaning: 'No message of the requested type.' },
    { name: 'EIDRM', value: 43, meaning: 'The IPC identifier was removed.' },
    { name: 'ECHRNG', value: 44, meaning: 'The channel number is out of range.' },
    { name: 'EL2NSYNC', value: 45, meaning: 'Level 2 is not synchronised.' },
    { name: 'EL3HLT', value: 46, meaning: 'Level 3 halted.' },
    { name: 'EL3RST', value: 47, meaning: 'Level 3 reset.' },
    { name: 'ELNRNG', value: 48, meaning: 'The link number is out of range.' },
    { name: 'EUNATCH', value: 49, meaning: 'The protocol driver is not attached.' },
    { name: 'ENOCSI', value: 50, meaning: 'No CSI structure is available.' },
    { name: 'EL2HLT', value: 51, meaning: 'Level 2 halted.' },
    { name: 'EBADE', value: 52, meaning: 'Invalid exchange.' },
    { name: 'EBADR', value: 53, meaning: 'Invalid request descriptor.' },
    { name: 'EXFULL', value: 54, meaning: 'The exchange is full.' },
    { name: 'ENOANO', value: 55, meaning: 'No anode.' },
    { name: 'EBADRQC', value: 56, meaning: 'Invalid request code.' },
    { name: 'EBADSLT', value: 57, meaning: 'Invalid slot.' },
    { name: 'EBFONT', value: 59, meaning: 'Bad font file format.' },
    { name: 'ENOSTR', value: 60, meaning: 'The device is not a STREAM.' },
    {
      name: 'ENODATA',
      value: 61,
      meaning: 'No data is available (for example a missing extended attribute).',
    },
    { name: 'ETIME', value: 62, meaning: 'A timer expired.' },
    { name: 'ENOSR', value: 63, meaning: 'Out of STREAMS resources.' },
    { name: 'ENONET', value: 64, meaning: 'The machine is not on the network.' },
    { name: 'ENOPKG', value: 65, meaning: 'A required package is not installed.' },
    { name: 'EREMOTE', value: 66, meaning: 'The object is remote.' },
    { name: 'ENOLINK', value: 67, meaning: 'The link was severed.' },
    { name: 'EADV', value: 68, meaning: 'Advertise error.' },
    { name: 'ESRMNT', value: 69, meaning: 'Srmount error.' },
    { name: 'ECOMM', value: 70, meaning: 'Communication error on send.' },
    { name: 'EPROTO', value: 71, meaning: 'A protocol error occurred.' },
    { name: 'EMULTIHOP', value: 72, meaning: 'A multihop was attempted.' },
    { name: 'EDOTDOT', value: 73, meaning: 'RFS-specific error.' },
    {
      name: 'EBADMSG',
      value: 74,
      meaning: 'The message or data is malformed (for example a bad module signature).',
    },
    { name: 'EOVERFLOW', value: 75, meaning: 'A value is too large for the destination type.' },
    { name: 'ENOTUNIQ', value: 76, meaning: 'The name is not unique on the network.' },
    { name: 'EBADFD', value: 77, meaning: 'The descriptor is in a bad state.' },
    { name: 'EREMCHG', value: 78, meaning: 'The remote address changed.' },
    { name: 'ELIBACC', value: 79, meaning: 'A needed shared library cannot be accessed.' },
    { name: 'ELIBBAD', value: 80, meaning: 'A shared library is corrupted.' },
    { name: 'ELIBSCN', value: 81, meaning: 'The .lib section of an a.out file is corrupted.' },
    { name: 'ELIBMAX', value: 82, meaning: 'Too many shared libraries to link.' },
    { name: 'ELIBEXEC', value: 83, meaning: 'A shared library cannot be executed directly.' },
    { name: 'EILSEQ', value: 84, meaning: 'An invalid byte sequence for the encoding.' },
    { name: 'ERESTART', value: 85, meaning: 'The interrupted call should be restarted.' },
    { name: 'ESTRPIPE', value: 86, meaning: 'STREAMS pipe error.' },
    { name: 'EUSERS', value: 87, meaning: 'Too many users.' },
    { name: 'ENOTSOCK', value: 88, meaning: 'The descriptor is not a socket.' },
    { name: 'EDESTADDRREQ', value: 89, meaning: 'A destination address is required.' },
    { name: 'EMSGSIZE', value: 90, meaning: 'The message is too long.' },
    { name: 'EPROTOTYPE', value: 91, meaning: 'The protocol does not fit the socket type.' },
    { name: 'ENOPROTOOPT', value: 92, meaning: 'The protocol option is not available.' },
    { name: 'EPROTONOSUPPORT', value: 93, meaning: 'The protocol is not supported.' },
    { name: 'ESOCKTNOSUPPORT', value: 94, meaning: 'The socket type is not supported.' },
    {
      name: 'EOPNOTSUPP',
      value: 95,
      meaning: 'The operation is not supported on this object (also ENOTSUP).',
    },
    { name: 'EPFNOSUPPORT', value: 96, meaning: 'The protocol family is not supported.' },
    { name: 'EAFNOSUPPORT', value: 97, meaning: 'The address family is not supported by the protocol.' },
    { name: 'EADDRINUSE', value: 98, meaning: 'The address is already in use.' },
    { name: 'EADDRNOTAVAIL', value: 99, meaning: 'The address is not available on this machine.' },
    { name: 'ENETDOWN', value: 100, meaning: 'The network is down.' },
    { name: 'ENETUNREACH', value: 101, meaning: 'The network is unreachable.' },
    { name: 'ENETRESET', value: 102, meaning: 'The network dropped the connection on reset.' },
    { name: 'ECONNABORTED', value: 103, meaning: 'The connection was aborted locally.' },
    { name: 'ECONNRESET', value: 104, meaning: 'The peer reset the connection.' },
    { name: 'ENOBUFS', value: 105, meaning: 'No buffer space is available.' },
    { name: 'EISCONN', value: 106, meaning: 'The socket is already connected.' },
    { name: 'ENOTCONN', value: 107, meaning: 'The socket is not connected.' },
    { name: 'ESHUTDOWN', value: 108, meaning: 'Cannot send after the socket was shut down.' },
    { name: 'ETOOMANYREFS', value: 109, meaning: 'Too many references.' },
    { name: 'ETIMEDOUT', value: 110, meaning: 'The operation or connection timed out.' },
    { name: 'ECONNREFUSED', value: 111, meaning: 'The peer refused the connection.' },
    { name: 'EHOSTDOWN', value: 112, meaning: 'The host is down.' },
    { name: 'EHOSTUNREACH', value: 113, meaning: 'There is no route to the host.' },
    { name: 'EALREADY', value: 114, meaning: 'An operation is already in progress.' },
    { name: 'EINPROGRESS', value: 115, meaning: 'The operation is now in progress.' },
    { name: 'ESTALE', value: 116, meaning: 'The file handle is stale.' },
    { name: 'EUCLEAN', value: 117, meaning: 'The structure needs cleaning (filesystem corruption).' },
    { name: 'ENOTNAM', value: 118, meaning: 'Not a XENIX named type file.' },
    { name: 'ENAVAIL', value: 119, meaning: 'No XENIX semaphores are available.' },
    { name: 'EISNAM', value: 120, meaning: 'Is a named type file.' },
    { name: 'EREMOTEIO', value: 121, meaning: 'Remote input/output error.' },
    { name: 'EDQUOT', value: 122, meaning: 'The disk quota is exceeded.' },
    { name: 'ENOMEDIUM', value: 123, meaning: 'No medium is present.' },
    { name: 'EMEDIUMTYPE', value: 124, meaning: 'The medium type is wrong.' },
    { name: 'ECANCELED', value: 125, meaning: 'The operation was canceled.' },
    {
      name: 'ENOKEY',
      value: 126,
      meaning: 'A required key is not available (for example an unknown signing key).',
    },
    { name: 'EKEYEXPIRED', value: 127, meaning: 'The key has expired.' },
    { name: 'EKEYREVOKED', value: 128, meaning: 'The key has been revoked.' },
    { name: 'EKEYREJECTED', value: 129, meaning: 'The key was rejected.' },
    { name: 'EOWNERDEAD', value: 130, meaning: 'The owner of a robust mutex died.' },
    {
      name: 'ENOTRECOVERABLE',
      value: 131,
      meaning: 'The state protected by a robust mutex cannot be recovered.',
    },
    { name: 'ERFKILL', value: 132, meaning: 'The operation is blocked by an RF kill switch.' },
    { name: 'EHWPOISON', value: 133, meaning: 'The memory page has a hardware error.' },
    {
      name: 'ERESTARTSYS',
      value: 512,
      meaning: 'Kernel-internal: interrupted by a signal; restarted or turned into EINTR on return.',
    },
    {
      name: 'ERESTARTNOINTR',
      value: 513,
      meaning: 'Kernel-internal: interrupted by a signal; always restarted.',
    },
    {
      name: 'ERESTARTNOHAND',
      value: 514,
      meaning: 'Kernel-internal: restarted only if no signal handler ran, else EINTR.',
    },
    { name: 'ENOIOCTLCMD', value: 515, meaning: 'Kernel-internal: no such ioctl; user space sees ENOTTY.' },
    {
      name: 'ERESTART_RESTARTBLOCK',
      value: 516,
      meaning: 'Kernel-internal: restarted through restart_syscall, else EINTR.',
    },
  ],
};

const names = new Map<number, string>(errno.entries.map((e) => [e.value, e.name]));
const meanings = new Map<number, string>(errno.entries.map((e) => [e.value, e.meaning ?? '']));
const errnoAliases = tableAliases['errno'] ?? {};
const values = new Map<string, number>([
  ...errno.entries.map((e): [string, number] => [e.name, e.value]),
  ...Object.entries(errnoAliases).map(([alias, canonical]): [string, number] => [
    alias,
    aliasTarget(canonical),
  ]),
]);

function aliasTarget(canonical: string): number {
  const entry = errno.entries.find((e) => e.name === canonical);
  if (entry === undefined) throw new Error(`errno alias target ${canonical} is not in the errno table`);
  return entry.value;
}

/** Per-event spellings: the name a syscall's own man page uses for a shared number. */
const eventSpelling: Readonly<Record<string, Readonly<Record<number, string>>>> = {
  delete_module: { 11: 'EWOULDBLOCK' },
};

/**
 * The errno name for a positive errno number (`11` → `EAGAIN`), or undefined when unknown. With an event name,
 * that event's own spelling wins (`EWOULDBLOCK` for `delete_module`, as its man page says).
 */
export function errnoName(n: number, eventName?: string): string | undefined {
  if (eventName !== undefined) {
    const special = eventSpelling[eventName]?.[n];
    if (special !== undefined) return special;
  }
  return names.get(n);
}

/** The number for an errno name or alias (`EWOULDBLOCK` → 11), case-insensitive; undefined when unknown. */
export function errnoValue(name: string): number | undefined {
  return values.get(name.trim().toUpperCase());
}

/** A one-line meaning for a positive errno number, or undefined. */
export function errnoMeaning(n: number): string | undefined {
  return meanings.get(n);
}

/**
 * For a syscall return value: the errno name when `ret` is in [-4095, -1] and the number is known, else
 * undefined (success values, pointers, unknown numbers).
 */
export function retvalErrno(ret: number | bigint, eventName?: string): string | undefined {
  if (typeof ret === 'bigint') {
    if (ret > -1n || ret < -4095n) return undefined;
    return errnoName(Number(-ret), eventName);
  }
  if (!Number.isInteger(ret) || ret > -1 || ret < -4095) return undefined;
  return errnoName(-ret, eventName);
}
