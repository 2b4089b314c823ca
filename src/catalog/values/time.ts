/** Clock ids (linux/time.h). */
import type { ValueTable } from '../types.js';

/** clock_gettime/clock_nanosleep/timer_create clock id. Negative ids are per-process/thread CPU clocks. */
export const clockid: ValueTable = {
  name: 'clockid',
  kind: 'enum',
  entries: [
    { name: 'CLOCK_REALTIME', value: 0, meaning: 'Wall-clock time; jumps when the time is set.' },
    { name: 'CLOCK_MONOTONIC', value: 1, meaning: 'Monotonic time since boot, excluding suspend.' },
    { name: 'CLOCK_PROCESS_CPUTIME_ID', value: 2, meaning: 'CPU time of the process.' },
    { name: 'CLOCK_THREAD_CPUTIME_ID', value: 3, meaning: 'CPU time of the thread.' },
    { name: 'CLOCK_MONOTONIC_RAW', value: 4, meaning: 'Monotonic, not adjusted by NTP.' },
    { name: 'CLOCK_REALTIME_COARSE', value: 5, meaning: 'Fast, low-resolution wall clock.' },
    { name: 'CLOCK_MONOTONIC_COARSE', value: 6, meaning: 'Fast, low-resolution monotonic clock.' },
    { name: 'CLOCK_BOOTTIME', value: 7, meaning: 'Monotonic, including suspend.' },
    { name: 'CLOCK_REALTIME_ALARM', value: 8, meaning: 'Wall clock that can wake the system.' },
    { name: 'CLOCK_BOOTTIME_ALARM', value: 9, meaning: 'Boot time clock that can wake the system.' },
    { name: 'CLOCK_SGI_CYCLE', value: 10, meaning: 'Unused.' },
    { name: 'CLOCK_TAI', value: 11, meaning: 'International Atomic Time.' },
  ],
};
