/**
 * Where printed events go. Files are created mode 0600 (and an existing regular file is set to 0600), never through a
 * symbolic link, since ktrail runs as root. Writes are batched: one write per decoded batch, of
 * bytes the JSON writer produced (src/output/json.ts JsonWriter) or of text.
 */
import { closeSync, constants, fchmodSync, fstatSync, openSync, writeSync } from 'node:fs';
import { KtrailError } from '../errors.js';

export interface Sink {
  /** Writes all of `data` (text is UTF-8 encoded); bytes are not kept after the call returns. */
  write(data: string | Uint8Array): void;
  close(): void;
}

/** Opens PATH for writing, truncated, mode 0600. */
export function openFileSink(path: string): Sink {
  let fd: number;
  try {
    fd = openSync(
      path,
      constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
      0o600,
    );
    // Only a regular file gets its mode set: json:/dev/null must not change a device for the whole machine.
    if (fstatSync(fd).isFile()) fchmodSync(fd, 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new KtrailError('IO', `opening output file '${path}': ${code}`, {
      hint:
        code === 'ELOOP'
          ? 'the path is a symbolic link; ktrail does not write through links'
          : 'check that the directory exists and is writable',
      exitCode: 2,
    });
  }
  return {
    write(data) {
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off);
    },
    close() {
      closeSync(fd);
    },
  };
}

/** Standard output, written synchronously so that order with stderr is kept and exit flushes everything. */
export function stdoutSink(): Sink {
  let broken = false;
  return {
    write(data) {
      if (broken) return;
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      let off = 0;
      try {
        while (off < buf.length) {
          try {
            off += writeSync(1, buf, off);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
          }
        }
      } catch {
        // EPIPE and friends: the reader went away; stop printing but keep tracing until told to stop.
        broken = true;
      }
    },
    close() {},
  };
}
