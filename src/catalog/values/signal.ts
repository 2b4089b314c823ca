/** Signal numbers (x86_64 asm/signal.h) and real-time signal naming. */
import type { ValueTable } from '../types.js';

/** Standard signals 1..31. Real-time signals 32..64 have no table entry; see signalName. */
export const signal: ValueTable = {
  name: 'signal',
  kind: 'enum',
  entries: [
    { name: 'SIGHUP', value: 1, meaning: 'Hangup of the controlling terminal; often "reload config".' },
    { name: 'SIGINT', value: 2, meaning: 'Interrupt from the keyboard (Ctrl-C).' },
    { name: 'SIGQUIT', value: 3, meaning: 'Quit from the keyboard; dumps core.' },
    { name: 'SIGILL', value: 4, meaning: 'Illegal instruction.' },
    { name: 'SIGTRAP', value: 5, meaning: 'Trace or breakpoint trap.' },
    { name: 'SIGABRT', value: 6, meaning: 'Abort (abort(3)); also SIGIOT.' },
    { name: 'SIGBUS', value: 7, meaning: 'Bus error: bad memory access.' },
    { name: 'SIGFPE', value: 8, meaning: 'Arithmetic exception.' },
    { name: 'SIGKILL', value: 9, meaning: 'Kill; cannot be caught or ignored.' },
    { name: 'SIGUSR1', value: 10, meaning: 'User-defined signal 1.' },
    { name: 'SIGSEGV', value: 11, meaning: 'Invalid memory reference.' },
    { name: 'SIGUSR2', value: 12, meaning: 'User-defined signal 2.' },
    { name: 'SIGPIPE', value: 13, meaning: 'Write to a pipe or socket with no reader.' },
    { name: 'SIGALRM', value: 14, meaning: 'Timer from alarm(2).' },
    { name: 'SIGTERM', value: 15, meaning: 'Polite termination request.' },
    { name: 'SIGSTKFLT', value: 16, meaning: 'Coprocessor stack fault (unused).' },
    { name: 'SIGCHLD', value: 17, meaning: 'A child stopped or terminated.' },
    { name: 'SIGCONT', value: 18, meaning: 'Continue if stopped.' },
    { name: 'SIGSTOP', value: 19, meaning: 'Stop; cannot be caught or ignored.' },
    { name: 'SIGTSTP', value: 20, meaning: 'Stop from the terminal (Ctrl-Z).' },
    { name: 'SIGTTIN', value: 21, meaning: 'Background read from the terminal.' },
    { name: 'SIGTTOU', value: 22, meaning: 'Background write to the terminal.' },
    { name: 'SIGURG', value: 23, meaning: 'Urgent data on a socket.' },
    { name: 'SIGXCPU', value: 24, meaning: 'CPU time limit exceeded.' },
    { name: 'SIGXFSZ', value: 25, meaning: 'File size limit exceeded.' },
    { name: 'SIGVTALRM', value: 26, meaning: 'Virtual timer expired.' },
    { name: 'SIGPROF', value: 27, meaning: 'Profiling timer expired.' },
    { name: 'SIGWINCH', value: 28, meaning: 'Terminal window size changed.' },
    { name: 'SIGIO', value: 29, meaning: 'I/O possible; also SIGPOLL.' },
    { name: 'SIGPWR', value: 30, meaning: 'Power failure.' },
    { name: 'SIGSYS', value: 31, meaning: 'Bad system call (also sent by seccomp).' },
  ],
};

/** The kernel's first and last real-time signal numbers (glibc reserves 32 and 33 for itself). */
export const SIGRTMIN = 32;
export const SIGRTMAX = 64;

const byNumber = new Map(signal.entries.map((e) => [e.value, e.name]));

/** `SIGKILL` for 9, `SIGRTMIN` for 32, `SIGRTMIN+n` for 33..64, undefined for anything else. */
export function signalName(n: number | bigint): string | undefined {
  const v = Number(n);
  const std = byNumber.get(v);
  if (std !== undefined) return std;
  if (!Number.isInteger(v) || v < SIGRTMIN || v > SIGRTMAX) return undefined;
  return v === SIGRTMIN ? 'SIGRTMIN' : `SIGRTMIN+${v - SIGRTMIN}`;
}

/**
 * Parses the real-time spellings `SIGRTMIN`, `SIGRTMIN+n`, `SIGRTMAX`, `SIGRTMAX-n` (case-insensitive) into
 * 32..64; undefined when the token is not one of them or is out of range.
 */
export function parseRtSignal(token: string): number | undefined {
  const m = /^SIGRT(MIN|MAX)(?:([+-])(\d{1,2}))?$/i.exec(token.trim());
  if (m === null) return undefined;
  const base = m[1]?.toUpperCase() === 'MIN' ? SIGRTMIN : SIGRTMAX;
  const offset = m[3] === undefined ? 0 : Number(m[3]);
  if (m[2] !== undefined && (m[2] === '+') !== (base === SIGRTMIN)) return undefined;
  const v = base === SIGRTMIN ? base + offset : base - offset;
  return v >= SIGRTMIN && v <= SIGRTMAX ? v : undefined;
}
