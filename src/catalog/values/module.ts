/** Flag tables of the kernel module syscalls (COMPAT.md 1.6). Values: asm-generic/fcntl.h, linux/module.h. */
import type { ValueTable } from '../types.js';

/**
 * `delete_module(2)` flags. The kernel reuses two open(2) bits. Order matters: O_NONBLOCK first, so kmod's
 * `rmmod -f` (0xa00) renders `O_NONBLOCK|O_TRUNC`.
 */
export const deleteModuleFlags: ValueTable = {
  name: 'delete_module_flags',
  kind: 'flags',
  entries: [
    {
      name: 'O_NONBLOCK',
      value: 0o4000,
      meaning:
        'Return at once instead of waiting; kmod rmmod always sets it. No effect since Linux 3.13, which never waits.',
    },
    {
      name: 'O_TRUNC',
      value: 0o1000,
      meaning:
        'Forced unload (rmmod -f): skips the refcount and missing-exit checks and taints the kernel; ignored without CONFIG_MODULE_FORCE_UNLOAD.',
    },
  ],
};

/** `finit_module(2)` flags. */
export const finitModuleFlags: ValueTable = {
  name: 'finit_module_flags',
  kind: 'flags',
  entries: [
    {
      name: 'MODULE_INIT_IGNORE_MODVERSIONS',
      value: 1,
      meaning: 'Load despite symbol version (CRC) mismatches; needs CONFIG_MODULE_FORCE_LOAD, else ENOEXEC.',
    },
    {
      name: 'MODULE_INIT_IGNORE_VERMAGIC',
      value: 2,
      meaning:
        'Load despite a vermagic string for another kernel; needs CONFIG_MODULE_FORCE_LOAD, else ENOEXEC.',
    },
    {
      name: 'MODULE_INIT_COMPRESSED_FILE',
      value: 4,
      meaning: 'The file is compressed and the kernel decompresses it before loading (Linux 5.17+).',
    },
  ],
};
