/**
 * Sensitive files by identity. Detection rules name files by path (/etc/sudoers, /etc/cron.d/...); a hard link
 * to one, or the same directory bind-mounted elsewhere, reaches the same inode by another path. The watch keeps
 * the (dev, inode) of every watched path, taken at start and kept current, so that a rule can recognise the
 * file a kernel event opened by what it is. A path ending in '/' stands for the regular files directly inside
 * that directory. Symlinks are followed (the watch holds the file a path leads to).
 *
 * Kept current: the whole set is read again on use once `refreshMs` (default 10 s) has passed, and a path a
 * rename or an unlink touched is read again at once (`touched`). Reading never throws: a path that does not
 * exist is simply not in the set. Main thread only.
 */
import { readdirSync, type Stats, statSync } from 'node:fs';
import { join } from 'node:path';

export interface InodeWatchOptions {
  /** How old the set may get before a lookup reads it again, ms (default 10000). */
  readonly refreshMs?: number;
  /** Clock in ms (default Date.now). */
  readonly now?: () => number;
}

/**
 * A device number as the kernel records it (sb->s_dev: major << 20 | minor, the encoding of ktrail's events)
 * from the one stat(2) returns (glibc's 64-bit encoding).
 */
export function kernelDev(statDev: number | bigint): number {
  const d = BigInt(statDev);
  const major = ((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn);
  const minor = (d & 0xffn) | ((d >> 12n) & ~0xffn);
  return Number(((major & 0xfffn) << 20n) | (minor & 0xfffffn));
}

export class InodeWatch {
  readonly #paths: readonly string[];
  readonly #refreshMs: number;
  readonly #now: () => number;
  /** kernel dev → inode → watched path. */
  #byDev = new Map<number, Map<number, string>>();
  #readAt = Number.NEGATIVE_INFINITY;

  constructor(paths: readonly string[], opts: InodeWatchOptions = {}) {
    this.#paths = [...new Set(paths)];
    this.#refreshMs = opts.refreshMs ?? 10_000;
    this.#now = opts.now ?? Date.now;
    this.refresh();
  }

  /** Number of files currently known. */
  get size(): number {
    let n = 0;
    for (const m of this.#byDev.values()) n += m.size;
    return n;
  }

  /** Reads every watched path again. */
  refresh(): void {
    const next = new Map<number, Map<number, string>>();
    for (const p of this.#paths) {
      if (p.endsWith('/')) for (const f of filesIn(p)) add(next, f);
      else add(next, p);
    }
    this.#byDev = next;
    this.#readAt = this.#now();
  }

  /** The watched path whose file is (dev, inode) (`dev` in the kernel's encoding), or undefined. */
  lookup(dev: number, inode: number): string | undefined {
    if (this.#now() - this.#readAt > this.#refreshMs) this.refresh();
    return this.#byDev.get(dev)?.get(inode);
  }

  /** A rename or an unlink touched `path`: when it is watched (or inside a watched directory), read it again. */
  touched(path: string): void {
    const watched = this.#paths.some((p) => (p.endsWith('/') ? path.startsWith(p) : path === p));
    if (watched) add(this.#byDev, path);
  }
}

function statOf(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function add(into: Map<number, Map<number, string>>, path: string): void {
  const st = statOf(path);
  if (st === undefined || !st.isFile()) return;
  const dev = kernelDev(st.dev);
  let m = into.get(dev);
  if (m === undefined) {
    m = new Map();
    into.set(dev, m);
  }
  m.set(st.ino, path);
}

function filesIn(dir: string): string[] {
  try {
    return readdirSync(dir).map((name) => join(dir, name));
  } catch {
    return [];
  }
}
