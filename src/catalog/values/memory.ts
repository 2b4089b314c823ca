/**
 * Memory value tables: mmap/mprotect protection, mmap flags, madvise advice, memfd_create flags. Values:
 * asm-generic/mman-common.h, asm-generic/mman.h, linux/mman.h, x86 asm/mman.h, linux/memfd.h.
 */
import type { ValueTable } from '../types.js';

/** mmap(2)/mprotect(2) protection; 0 renders PROT_NONE. */
export const mmapProt: ValueTable = {
  name: 'mmap_prot',
  kind: 'flags',
  entries: [
    { name: 'PROT_NONE', value: 0, meaning: 'No access at all.' },
    { name: 'PROT_READ', value: 0x1, meaning: 'Pages may be read.' },
    { name: 'PROT_WRITE', value: 0x2, meaning: 'Pages may be written.' },
    { name: 'PROT_EXEC', value: 0x4, meaning: 'Pages may be executed.' },
    { name: 'PROT_SEM', value: 0x8, meaning: 'Pages may be used for atomic operations.' },
    {
      name: 'PROT_GROWSDOWN',
      value: 0x01000000,
      meaning: 'mprotect: extend the change down a grows-down mapping.',
    },
    {
      name: 'PROT_GROWSUP',
      value: 0x02000000,
      meaning: 'mprotect: extend the change up a grows-up mapping.',
    },
  ],
};

/**
 * mmap(2) flags. The sharing type is an enum in the low two bits. With MAP_HUGETLB, bits 26-31 carry the
 * log2 of the huge page size (MAP_HUGE_2MB = 21 << 26); bit 26 then renders as MAP_UNINITIALIZED and the rest
 * as hex, since the two uses overlap in the kernel's own encoding.
 */
export const mmapFlags: ValueTable = {
  name: 'mmap_flags',
  kind: 'flags',
  enumMask: 0x3,
  entries: [
    {
      name: 'MAP_SHARED',
      value: 0x1,
      inMask: true,
      meaning: 'Changes are shared with other mappings of the object.',
    },
    { name: 'MAP_PRIVATE', value: 0x2, inMask: true, meaning: 'Copy-on-write private mapping.' },
    {
      name: 'MAP_SHARED_VALIDATE',
      value: 0x3,
      inMask: true,
      meaning: 'Shared, and unknown flags fail with EOPNOTSUPP.',
    },
    {
      name: 'MAP_FIXED',
      value: 0x10,
      meaning: 'Place the mapping exactly at addr, replacing what is there.',
    },
    { name: 'MAP_ANONYMOUS', value: 0x20, meaning: 'Not backed by a file; zero-filled.' },
    { name: 'MAP_32BIT', value: 0x40, meaning: 'x86_64: place the mapping in the first 2 GiB.' },
    { name: 'MAP_GROWSDOWN', value: 0x100, meaning: 'Stack-like mapping that grows downwards.' },
    { name: 'MAP_DENYWRITE', value: 0x800, meaning: 'Obsolete; ignored.' },
    { name: 'MAP_EXECUTABLE', value: 0x1000, meaning: 'Obsolete; ignored.' },
    { name: 'MAP_LOCKED', value: 0x2000, meaning: 'Lock the pages in memory (like mlock).' },
    { name: 'MAP_NORESERVE', value: 0x4000, meaning: 'Do not reserve swap space.' },
    { name: 'MAP_POPULATE', value: 0x8000, meaning: 'Prefault the page tables.' },
    { name: 'MAP_NONBLOCK', value: 0x10000, meaning: 'With MAP_POPULATE: do not read ahead.' },
    { name: 'MAP_STACK', value: 0x20000, meaning: 'Address suitable for a thread stack.' },
    { name: 'MAP_HUGETLB', value: 0x40000, meaning: 'Back the mapping with huge pages.' },
    { name: 'MAP_SYNC', value: 0x80000, meaning: 'Synchronous page faults for DAX files.' },
    {
      name: 'MAP_FIXED_NOREPLACE',
      value: 0x100000,
      meaning: 'Like MAP_FIXED but fail with EEXIST on overlap.',
    },
    {
      name: 'MAP_UNINITIALIZED',
      value: 0x4000000,
      meaning: 'Anonymous pages are not zeroed (only with CONFIG_MMAP_ALLOW_UNINITIALIZED).',
    },
  ],
};

/** madvise(2) advice. */
export const madviseAdvice: ValueTable = {
  name: 'madvise_advice',
  kind: 'enum',
  entries: [
    { name: 'MADV_NORMAL', value: 0 },
    { name: 'MADV_RANDOM', value: 1 },
    { name: 'MADV_SEQUENTIAL', value: 2 },
    { name: 'MADV_WILLNEED', value: 3 },
    { name: 'MADV_DONTNEED', value: 4 },
    { name: 'MADV_FREE', value: 8 },
    { name: 'MADV_REMOVE', value: 9 },
    { name: 'MADV_DONTFORK', value: 10 },
    { name: 'MADV_DOFORK', value: 11 },
    { name: 'MADV_MERGEABLE', value: 12 },
    { name: 'MADV_UNMERGEABLE', value: 13 },
    { name: 'MADV_HUGEPAGE', value: 14 },
    { name: 'MADV_NOHUGEPAGE', value: 15 },
    { name: 'MADV_DONTDUMP', value: 16 },
    { name: 'MADV_DODUMP', value: 17 },
    { name: 'MADV_WIPEONFORK', value: 18 },
    { name: 'MADV_KEEPONFORK', value: 19 },
    { name: 'MADV_COLD', value: 20 },
    { name: 'MADV_PAGEOUT', value: 21 },
    { name: 'MADV_POPULATE_READ', value: 22 },
    { name: 'MADV_POPULATE_WRITE', value: 23 },
    { name: 'MADV_DONTNEED_LOCKED', value: 24 },
    { name: 'MADV_COLLAPSE', value: 25 },
    {
      name: 'MADV_HWPOISON',
      value: 100,
      meaning: 'Test aid: poison the pages as if memory failed (CAP_SYS_ADMIN).',
    },
    { name: 'MADV_SOFT_OFFLINE', value: 101 },
    { name: 'MADV_GUARD_INSTALL', value: 102, meaning: 'Linux 6.13+.' },
    { name: 'MADV_GUARD_REMOVE', value: 103, meaning: 'Linux 6.13+.' },
  ],
};

/** memfd_create(2) flags. Bits 26-31 carry a huge page size with MFD_HUGETLB and render as hex. */
export const memfdFlags: ValueTable = {
  name: 'memfd_flags',
  kind: 'flags',
  entries: [
    { name: 'MFD_CLOEXEC', value: 0x1, meaning: 'Close the descriptor on execve.' },
    { name: 'MFD_ALLOW_SEALING', value: 0x2, meaning: 'Allow fcntl(F_ADD_SEALS) on the file.' },
    { name: 'MFD_HUGETLB', value: 0x4, meaning: 'Back the file with huge pages.' },
    { name: 'MFD_NOEXEC_SEAL', value: 0x8, meaning: 'Not executable, sealed so it stays so (Linux 6.3+).' },
    { name: 'MFD_EXEC', value: 0x10, meaning: 'Executable (Linux 6.3+).' },
  ],
};
