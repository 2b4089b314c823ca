/** futex(2) operations (linux/futex.h). */
import type { ValueTable } from '../types.js';

/**
 * futex(2) op: the command is an enum in the low 7 bits (FUTEX_CMD_MASK clears bits 7 and 8), and
 * FUTEX_PRIVATE_FLAG / FUTEX_CLOCK_REALTIME are flags: 128 renders `FUTEX_WAIT|FUTEX_PRIVATE_FLAG`.
 */
export const futexOp: ValueTable = {
  name: 'futex_op',
  kind: 'flags',
  enumMask: 0x7f,
  entries: [
    { name: 'FUTEX_WAIT', value: 0, inMask: true },
    { name: 'FUTEX_WAKE', value: 1, inMask: true },
    { name: 'FUTEX_FD', value: 2, inMask: true },
    { name: 'FUTEX_REQUEUE', value: 3, inMask: true },
    { name: 'FUTEX_CMP_REQUEUE', value: 4, inMask: true },
    { name: 'FUTEX_WAKE_OP', value: 5, inMask: true },
    { name: 'FUTEX_LOCK_PI', value: 6, inMask: true },
    { name: 'FUTEX_UNLOCK_PI', value: 7, inMask: true },
    { name: 'FUTEX_TRYLOCK_PI', value: 8, inMask: true },
    { name: 'FUTEX_WAIT_BITSET', value: 9, inMask: true },
    { name: 'FUTEX_WAKE_BITSET', value: 10, inMask: true },
    { name: 'FUTEX_WAIT_REQUEUE_PI', value: 11, inMask: true },
    { name: 'FUTEX_CMP_REQUEUE_PI', value: 12, inMask: true },
    { name: 'FUTEX_LOCK_PI2', value: 13, inMask: true },
    {
      name: 'FUTEX_PRIVATE_FLAG',
      value: 128,
      meaning: 'The futex is private to the process (no shared mapping).',
    },
    { name: 'FUTEX_CLOCK_REALTIME', value: 256, meaning: 'Timeouts are measured against CLOCK_REALTIME.' },
  ],
};
