/** mount(2) and umount2(2) flags. Values: linux/mount.h, glibc sys/mount.h (umount flags). */
import type { ValueTable } from '../types.js';

/**
 * mount(2) flags. MS_MGC_VAL (0xc0ed0000) is the old "new flags" magic in the upper 16 bits; the kernel strips
 * it. It is listed first and, being a superset of the internal bits it overlaps, renders alone for them.
 * Bits 22 and up besides MS_I_VERSION, MS_STRICTATIME and MS_LAZYTIME are kernel-internal superblock flags.
 */
export const mountFlags: ValueTable = {
  name: 'mount_flags',
  kind: 'flags',
  entries: [
    { name: 'MS_MGC_VAL', value: 0xc0ed0000, meaning: 'Legacy magic number in the upper 16 bits; ignored.' },
    { name: 'MS_RDONLY', value: 1, meaning: 'Read-only.' },
    { name: 'MS_NOSUID', value: 2, meaning: 'Ignore set-user-ID and set-group-ID bits.' },
    { name: 'MS_NODEV', value: 4, meaning: 'No access to device files.' },
    { name: 'MS_NOEXEC', value: 8, meaning: 'No program execution.' },
    { name: 'MS_SYNCHRONOUS', value: 16, meaning: 'Synchronous writes.' },
    { name: 'MS_REMOUNT', value: 32, meaning: 'Change the flags of an existing mount.' },
    { name: 'MS_MANDLOCK', value: 64, meaning: 'Mandatory locking (removed in Linux 5.15).' },
    { name: 'MS_DIRSYNC', value: 128, meaning: 'Synchronous directory changes.' },
    { name: 'MS_NOSYMFOLLOW', value: 256, meaning: 'Do not follow symbolic links.' },
    { name: 'MS_NOATIME', value: 1024, meaning: 'Do not update access times.' },
    { name: 'MS_NODIRATIME', value: 2048, meaning: 'Do not update directory access times.' },
    { name: 'MS_BIND', value: 4096, meaning: 'Bind mount: make a subtree visible elsewhere.' },
    { name: 'MS_MOVE', value: 8192, meaning: 'Move a mount.' },
    { name: 'MS_REC', value: 16384, meaning: 'Apply recursively.' },
    { name: 'MS_SILENT', value: 32768, meaning: 'Suppress some kernel messages (MS_VERBOSE is an alias).' },
    { name: 'MS_POSIXACL', value: 1 << 16, meaning: 'POSIX ACLs; the VFS does not apply the umask.' },
    { name: 'MS_UNBINDABLE', value: 1 << 17, meaning: 'Make the mount unbindable.' },
    { name: 'MS_PRIVATE', value: 1 << 18, meaning: 'Make the mount private.' },
    { name: 'MS_SLAVE', value: 1 << 19, meaning: 'Make the mount a slave.' },
    { name: 'MS_SHARED', value: 1 << 20, meaning: 'Make the mount shared.' },
    { name: 'MS_RELATIME', value: 1 << 21, meaning: 'Update atime only relative to mtime/ctime.' },
    { name: 'MS_KERNMOUNT', value: 1 << 22, meaning: 'Internal: kernel mount.' },
    { name: 'MS_I_VERSION', value: 1 << 23, meaning: 'Maintain the inode i_version.' },
    { name: 'MS_STRICTATIME', value: 1 << 24, meaning: 'Always update atime.' },
    { name: 'MS_LAZYTIME', value: 1 << 25, meaning: 'Write timestamps to disk lazily.' },
    { name: 'MS_SUBMOUNT', value: 1 << 26, meaning: 'Internal.' },
    { name: 'MS_NOREMOTELOCK', value: 1 << 27, meaning: 'Internal.' },
    { name: 'MS_NOSEC', value: 1 << 28, meaning: 'Internal.' },
    { name: 'MS_BORN', value: 1 << 29, meaning: 'Internal.' },
    { name: 'MS_ACTIVE', value: 1 << 30, meaning: 'Internal.' },
    { name: 'MS_NOUSER', value: 0x80000000, meaning: 'Internal.' },
  ],
};

/** umount2(2) flags. */
export const umountFlags: ValueTable = {
  name: 'umount_flags',
  kind: 'flags',
  entries: [
    { name: 'MNT_FORCE', value: 1, meaning: 'Force the unmount even if busy (some filesystems only).' },
    { name: 'MNT_DETACH', value: 2, meaning: 'Lazy unmount: detach now, clean up when no longer busy.' },
    { name: 'MNT_EXPIRE', value: 4, meaning: 'Mark for expiry; a second call unmounts if unused.' },
    { name: 'UMOUNT_NOFOLLOW', value: 8, meaning: 'Do not follow a trailing symbolic link.' },
  ],
};
