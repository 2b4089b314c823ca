/**
 * The programs ktrail runs besides itself. It runs privileged, so it runs a program from the file system only
 * when that file, after symbolic links, and every directory above it belong to root and are not writable by
 * group or others: a PATH lookup would run whatever an unprivileged user put first in PATH.
 */
import { realpathSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/** Why `path` may not be run by a privileged process, or undefined when it may (`stat` is injectable). */
export function untrustedReason(
  path: string,
  stat: (p: string) => { uid: number; mode: number } = statSync,
): string | undefined {
  for (let p = path; ; p = dirname(p)) {
    const st = stat(p);
    if (st.uid !== 0) return `${p} belongs to uid ${st.uid}, not root`;
    if ((st.mode & 0o022) !== 0)
      return `${p} is writable by group or others (mode ${(st.mode & 0o7777).toString(8)})`;
    if (p === '/') return undefined;
  }
}

/**
 * The first of `candidates` (absolute paths) that exists, resolved through symbolic links, and may be run;
 * throws an Error naming each candidate and why not otherwise.
 */
export function trustedProgram(name: string, candidates: readonly string[]): string {
  const why: string[] = [];
  for (const c of candidates) {
    let real: string;
    try {
      real = realpathSync(c);
    } catch {
      why.push(`${c}: not there`);
      continue;
    }
    const reason = untrustedReason(real);
    if (reason === undefined) return real;
    why.push(`${c}: ${reason}`);
  }
  throw new Error(`no ${name} program ktrail may run (${why.join('; ')})`);
}
