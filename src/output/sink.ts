/**
 * Where printed events go. Printers (src/output/printer.ts) render each batch once and hand the bytes, whole
 * lines, to every sink of theirs: standard output, files, and the queued network sinks (webhook.ts, nats.ts).
 *
 * Files are opened for appending (Tracee truncates; ktrail keeps what an earlier run wrote), created mode 0600
 * (an existing regular file is set to 0600), never through a symbolic link, since ktrail runs as root. They
 * can rotate by size, keeping N numbered backups, and reopen their path on SIGHUP (logrotate without
 * copytruncate).
 *
 * No sink blocks the capture for long: a file or terminal write is synchronous; a pipe or socket on standard
 * output, a webhook and NATS take the bytes into a bounded queue that drains asynchronously, and drop (and
 * count) what does not fit. Concurrency: main thread only.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  openSync,
  renameSync,
  type Stats,
  writeSync,
} from 'node:fs';
import { Socket } from 'node:net';
import { KtrailError } from '../errors.js';
import { errnoWords } from '../util/errno.js';

/** A sink's counters, in lines: each line is one event, finding or loss record (or a table's header). */
export interface SinkStats {
  /** Lines delivered: written to the file or pipe, accepted by the receiver. */
  readonly written: number;
  /** Lines given up: a full queue, a receiver that kept failing, a reader gone, the stop deadline. */
  readonly dropped: number;
  /** Lines waiting to be delivered, and their bytes. */
  readonly queued: number;
  readonly queuedBytes: number;
  /** Failed attempts (writes, requests, publishes, reopens), whether retried or not. */
  readonly errors: number;
  /** Network sinks: attempts repeated after a failure. */
  readonly retries?: number;
  /** Files only: rotations and SIGHUP reopens done. */
  readonly rotations?: number;
  readonly reopens?: number;
}

export interface Sink {
  /** Takes all of `data` (whole lines; text is UTF-8 encoded); the bytes are not kept after the call returns. */
  write(data: string | Uint8Array): void;
  /**
   * Ends the sink. A synchronous sink closes at once. A queued sink first delivers what it holds, until
   * `signal` aborts (a deadline, or a second Ctrl-C), then drops the rest and counts it.
   */
  close(signal?: AbortSignal): void | Promise<void>;
  /** For reports and metrics: `stdout`, the file path, the URL without credentials. */
  readonly name?: string;
  stats?(): SinkStats;
  /** Text to put at the top of every new file the sink opens later (after a rotation or a reopen). */
  header?(text: string): void;
  /** Opens the path again (SIGHUP). Throws KtrailError IO when it cannot; the old file then stays in use. */
  reopen?(): void;
}

/** Lines (newline bytes) in `b`. */
export function countLines(b: Uint8Array): number {
  let n = 0;
  for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) n++;
  return n;
}

function bytesOf(data: string | Uint8Array): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data) : data;
}

/**
 * Reports an episode of failing writes to `where` once when it starts and once when it ends, instead of once
 * per write. `failed` returns nothing; the caller counts the dropped lines itself.
 */
function failureEpisode(where: string, report: ((message: string) => void) | undefined) {
  let dropped: number | undefined;
  return {
    failed(e: unknown, lines: number): void {
      if (dropped === undefined)
        report?.(
          `writing ${where}: ${errnoWords(e)}; its lines are dropped and counted until a write works again`,
        );
      dropped = (dropped ?? 0) + lines;
    },
    worked(): void {
      if (dropped === undefined) return;
      report?.(`writing ${where} works again, after ${dropped} dropped ${dropped === 1 ? 'line' : 'lines'}`);
      dropped = undefined;
    },
  };
}

function writeAll(fd: number, buf: Uint8Array): void {
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
  }
}

function openError(path: string, e: unknown, doing: string): KtrailError {
  const code = (e as NodeJS.ErrnoException).code ?? 'error';
  return new KtrailError('IO', `${doing} '${path}': ${code}`, {
    hint:
      code === 'ELOOP'
        ? 'the path is a symbolic link; ktrail does not write through links'
        : 'check that the directory exists and is writable',
    exitCode: 2,
  });
}

/** Opens PATH for appending, mode 0600, never through a link; returns the descriptor and its stat. */
function openAppend(path: string, doing: string): { fd: number; st: Stats } {
  let fd: number | undefined;
  try {
    fd = openSync(
      path,
      constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW,
      0o600,
    );
    const st = fstatSync(fd);
    // Only a regular file gets its mode set: json:/dev/null must not change a device for the whole machine.
    if (st.isFile()) fchmodSync(fd, 0o600);
    return { fd, st };
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    throw openError(path, e, doing);
  }
}

export interface FileSinkOptions {
  /** Rotate before a write would take the file past this many bytes (undefined: never rotate). */
  readonly rotateBytes?: number;
  /** Rotated files kept, PATH.1 (newest) to PATH.N (default 5). */
  readonly backups?: number;
  /**
   * Problems met while running (a failed rotation, failing writes and their end): the sink carries on with
   * the file it has.
   */
  readonly onError?: (message: string) => void;
}

/** Default number of rotated files kept. */
export const DEFAULT_BACKUPS = 5;

/**
 * Opens PATH for appending (see the module comment). With `rotateBytes`, a regular file is renamed to PATH.1
 * (PATH.1 to PATH.2, ..., the oldest beyond `backups` is replaced) before a write would make it larger, and
 * a new PATH is opened; a write is cut between lines to fit, and a single line larger than the limit goes
 * whole into a fresh file. Throws
 * KtrailError IO (exit status 2) when PATH cannot be opened.
 */
export function openFileSink(path: string, opts: FileSinkOptions = {}): Sink {
  let { fd, st } = openAppend(path, 'opening output file');
  let size = st.size;
  let header: string | undefined;
  let written = 0;
  let errors = 0;
  let rotations = 0;
  let reopens = 0;
  const backups = opts.backups ?? DEFAULT_BACKUPS;

  /** Replaces the descriptor with a fresh open of PATH; the old one is closed only when that worked. */
  const swap = (doing: string) => {
    const next = openAppend(path, doing);
    closeSync(fd);
    fd = next.fd;
    st = next.st;
    size = next.st.size;
    if (size === 0 && header !== undefined) {
      const h = Buffer.from(header);
      writeAll(fd, h);
      size += h.length;
    }
  };

  const rotate = () => {
    try {
      // Our file may have been moved away already (logrotate before the SIGHUP): then only reopen.
      const here = lstatSync(path, { throwIfNoEntry: false });
      if (here !== undefined && here.ino === st.ino && here.dev === st.dev) {
        for (let i = backups - 1; i >= 1; i--) {
          try {
            renameSync(`${path}.${i}`, `${path}.${i + 1}`);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
          }
        }
        renameSync(path, `${path}.1`);
      }
      swap('rotating output file');
      rotations++;
    } catch (e) {
      errors++;
      opts.onError?.(
        `${e instanceof KtrailError ? e.message : `rotating output file '${path}': ${(e as Error).message}`}; writing on to the current file`,
      );
    }
  };

  let dropped = 0;
  const episode = failureEpisode(`output file '${path}'`, opts.onError);

  return {
    name: path,
    write(data) {
      let buf = bytesOf(data);
      // One write of whole lines; false when it failed: a full disk, a quota, an I/O error. The capture goes
      // on, this file's lines are counted as dropped, and the episode is reported once when it starts and
      // once when it ends.
      const put = (part: Uint8Array): boolean => {
        const lines = countLines(part);
        try {
          writeAll(fd, part);
        } catch (e) {
          errors++;
          dropped += lines;
          episode.failed(e, lines);
          return false;
        }
        episode.worked();
        size += part.length;
        written += lines;
        return true;
      };
      const limit = opts.rotateBytes;
      // Rotation cuts between lines, so that each file stays within the limit (a single longer line goes
      // whole into a fresh file).
      let fresh = size === 0;
      while (limit !== undefined && st.isFile() && size + buf.length > limit) {
        const room = limit - size;
        let cut = room > 0 ? buf.lastIndexOf(0x0a, room - 1) + 1 : 0;
        if (cut === 0 && fresh) {
          // Not even one line fits in a new file: that line goes whole.
          const end = buf.indexOf(0x0a);
          cut = end < 0 ? buf.length : end + 1;
        }
        if (cut > 0) {
          const ok = put(buf.subarray(0, cut));
          buf = buf.subarray(cut);
          if (!ok) {
            // The rest of the batch is dropped too: the file is not taking writes.
            if (buf.length > 0) {
              const rest = countLines(buf);
              dropped += rest;
              episode.failed(undefined, rest);
            }
            return;
          }
        }
        if (buf.length === 0) return;
        const before = rotations;
        rotate();
        if (rotations === before) break; // rotation failed (reported): write on to the current file
        fresh = true;
      }
      put(buf);
    },
    header(text) {
      header = text;
    },
    reopen() {
      try {
        swap('reopening output file');
        reopens++;
      } catch (e) {
        errors++;
        throw e;
      }
    },
    stats: () => ({ written, dropped, queued: 0, queuedBytes: 0, errors, rotations, reopens }),
    close() {
      closeSync(fd);
    },
  };
}

export interface StdoutOptions {
  /** Called once when the reader of standard output has gone away (EPIPE). */
  readonly onClosed?: () => void;
  /**
   * Standard output is a file or device that fails writes for another reason (a full disk): reported once
   * when it starts and once when writes work again; meanwhile lines are dropped and counted.
   */
  readonly onError?: (message: string) => void;
  /** A pipe's queue bound, bytes (default 16 MiB): beyond it batches are dropped and counted. */
  readonly maxQueuedBytes?: number;
}

/** Default bound of the queue in front of a pipe or socket on standard output. */
export const STDOUT_QUEUE_BYTES = 16 << 20;

/**
 * Standard output. A terminal or a file is written synchronously, so that order with stderr is kept and exit
 * flushes everything. A pipe or socket gets a non-blocking writer with a bounded queue: a slow reader never
 * stalls the pipeline (batches beyond the bound are dropped and counted), and when the reader goes away
 * (`ktrail -o json | head -1`) `onClosed` runs; the rest of the output is then dropped.
 */
export function stdoutSink(opts: StdoutOptions = {}): Sink {
  let kind: Stats | undefined;
  try {
    kind = fstatSync(1);
  } catch {
    kind = undefined;
  }
  const piped = kind !== undefined && (kind.isFIFO() || kind.isSocket());
  let closed = false;
  let written = 0;
  let dropped = 0;
  let errors = 0;
  const gone = () => {
    if (closed) return;
    closed = true;
    opts.onClosed?.();
  };
  if (!piped) {
    const episode = failureEpisode('to standard output', opts.onError);
    return {
      name: 'stdout',
      write(data) {
        const buf = bytesOf(data);
        const lines = countLines(buf);
        if (closed) {
          dropped += lines;
          return;
        }
        try {
          writeAll(1, buf);
        } catch (e) {
          errors++;
          dropped += lines;
          const code = (e as NodeJS.ErrnoException).code;
          // EPIPE, EIO (a terminal hung up), EBADF: the reader is gone. Anything else (ENOSPC on a file) is a
          // failure of where the output goes, not a reason to stop tracing.
          if (code === 'EPIPE' || code === 'EIO' || code === 'EBADF') gone();
          else episode.failed(e, lines);
          return;
        }
        episode.worked();
        written += lines;
      },
      stats: () => ({ written, dropped, queued: 0, queuedBytes: 0, errors }),
      close() {},
    };
  }

  const max = opts.maxQueuedBytes ?? STDOUT_QUEUE_BYTES;
  const out = new Socket({ fd: 1, readable: false, writable: true });
  let queued = 0;
  out.on('error', () => {
    errors++;
    gone();
  });
  return {
    name: 'stdout',
    write(data) {
      const src = bytesOf(data);
      const lines = countLines(src);
      if (closed || out.writableLength + src.length > max) {
        dropped += lines;
        return;
      }
      queued += lines;
      // A copy: the printer reuses its buffer once write returns.
      out.write(Buffer.from(src), (err) => {
        queued -= lines;
        if (err) dropped += lines;
        else written += lines;
      });
    },
    stats: () => ({ written, dropped, queued, queuedBytes: out.writableLength, errors }),
    async close(signal) {
      if (closed || out.destroyed) {
        out.destroy();
        return;
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          signal?.removeEventListener('abort', abort);
          resolve();
        };
        const abort = () => {
          out.destroy();
          done();
        };
        if (signal?.aborted) return abort();
        signal?.addEventListener('abort', abort, { once: true });
        out.once('close', done);
        out.end();
      });
    },
  };
}
