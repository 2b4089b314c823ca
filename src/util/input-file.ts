/**
 * Reading the files a user names on the command line (policy files, rule modules, the `analyze` input) with an
 * error a person can act on for everything that can be wrong with them: missing, a directory, no permission,
 * too large, not UTF-8, empty. Every failure is a KtrailError INPUT_FILE (exit status 2) whose message starts
 * with the caller's label for the file (`loading policy p.yaml`, `analyze: events.json`) and, where there is
 * one, the position (`p.yaml:3:7`); nothing here lets a raw Node.js error through.
 *
 * Size limits are checked before reading: a regular file larger than the limit is refused from its fstat size
 * alone, and anything else (a pipe, a device) is read only up to one byte past the limit.
 */
import { closeSync, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { KtrailError } from '../errors.js';

export const MIB = 1024 * 1024;

/** How messages name one kind of file. */
export interface FileRole {
  /** The message prefix for a location (`FILE` or `FILE:LINE:COL`): `loading policy p.yaml:3:1`. */
  readonly where: (location: string) => string;
  /** What the user should give instead, after "give": 'a policy file (.yaml, .yml, .json) or a directory of them'. */
  readonly expect: string;
}

/** A KtrailError INPUT_FILE about `location` (a path, or path:line:col). */
export function inputFileError(
  role: FileRole,
  location: string,
  cause: string,
  hint?: string,
  error?: unknown,
): KtrailError {
  return new KtrailError('INPUT_FILE', `${role.where(location)}: ${cause}`, {
    ...(hint === undefined ? {} : { hint }),
    ...(error === undefined ? {} : { cause: error }),
  });
}

/** Plain words (and what to do) for a failed file system call on a path the user gave. */
export function describeFsError(e: unknown, role: FileRole): { cause: string; hint: string } {
  const code = (e as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ENOENT':
      return { cause: 'no such file or directory', hint: `give ${role.expect}` };
    case 'EACCES':
    case 'EPERM':
      return {
        cause: 'permission denied',
        hint: "make it readable by the user running ktrail ('ls -l' shows its owner and mode)",
      };
    case 'EISDIR':
      return { cause: 'is a directory, not a file', hint: `give ${role.expect}` };
    case 'ENOTDIR':
      return { cause: 'a part of the path is not a directory', hint: `check the path; give ${role.expect}` };
    case 'ELOOP':
      return { cause: 'too many levels of symbolic links', hint: 'give the real path' };
    case 'ENAMETOOLONG':
      return { cause: 'the path is too long', hint: `check the path; give ${role.expect}` };
    case 'EMFILE':
    case 'ENFILE':
      return { cause: 'too many open files', hint: "raise the limit ('ulimit -n') or close other programs" };
    case 'ENXIO':
      return { cause: 'no device or reader behind this path (a socket?)', hint: `give ${role.expect}` };
    default: {
      const msg = e instanceof Error ? e.message : String(e);
      return { cause: `cannot read it (${msg})`, hint: `check the file; give ${role.expect}` };
    }
  }
}

function fsError(role: FileRole, path: string, e: unknown): KtrailError {
  const { cause, hint } = describeFsError(e, role);
  return inputFileError(role, path, cause, hint, e);
}

/** `1048576 bytes (1.0 MiB)`; under a KiB just the bytes. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} ${n === 1 ? 'byte' : 'bytes'}`;
  const [v, unit] = n < MIB ? [n / 1024, 'KiB'] : n < 1024 * MIB ? [n / MIB, 'MiB'] : [n / 1024 / MIB, 'GiB'];
  return `${n} bytes (${v.toFixed(1)} ${unit})`;
}

/**
 * The offset of the first byte that does not belong to well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or -1 when all of `b` is well formed. A sequence cut off by the end of
 * `b` counts as malformed at its first byte.
 */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    if (i + need >= b.length) return i;
    const second = b[i + 1]!;
    if (second < lo || second > hi) return i;
    for (let k = 2; k <= need; k++) {
      const x = b[i + k]!;
      if (x < 0x80 || x > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

/** 1-based line and byte column of `offset` in `b`. */
export function lineColumn(b: Uint8Array, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset; i++) {
    if (b[i] === 0x0a) {
      line++;
      start = i + 1;
    }
  }
  return { line, col: offset - start + 1 };
}

const NOT_UTF8_HINT = "save the file as UTF-8 (it may be UTF-16 or Latin-1: 'iconv -t UTF-8' converts it)";

/**
 * Decodes `bytes` as UTF-8 (a leading byte-order mark is dropped), refusing malformed input with the position
 * of the first bad byte.
 * @throws KtrailError INPUT_FILE `WHERE(path:line:col): not UTF-8 text (byte 0xNN)`.
 */
export function decodeUtf8(bytes: Uint8Array, path: string, role: FileRole): string {
  if (isUtf16(bytes)) throw notUtf16(role, path);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    const at = Math.max(0, firstInvalidUtf8(bytes));
    const { line, col } = lineColumn(bytes, at);
    const byte = (bytes[at] ?? 0).toString(16).padStart(2, '0');
    return failUtf8(role, `${path}:${line}:${col}`, byte, e);
  }
}

/** True when `b` starts with a UTF-16 byte-order mark (FF FE or FE FF). */
function isUtf16(b: Uint8Array): boolean {
  return b.length >= 2 && ((b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff));
}

function notUtf16(role: FileRole, path: string): KtrailError {
  return inputFileError(role, path, 'not UTF-8 text (UTF-16, by its byte-order mark)', NOT_UTF8_HINT);
}

function failUtf8(role: FileRole, location: string, byte: string, e: unknown): never {
  throw inputFileError(role, location, `not UTF-8 text (byte 0x${byte})`, NOT_UTF8_HINT, e);
}

export interface TextFileLimits {
  /** The largest file accepted, in bytes. */
  readonly maxBytes: number;
  /** What to do when the file is larger (the hint of the size error). */
  readonly tooLargeHint: string;
  /** What a useful file holds (the hint of the "empty" error). */
  readonly emptyHint: string;
}

function tooLarge(
  role: FileRole,
  path: string,
  what: string | undefined,
  limits: TextFileLimits,
): KtrailError {
  const limit = `the limit of ${formatBytes(limits.maxBytes)}`;
  return inputFileError(
    role,
    path,
    what === undefined ? `it holds more than ${limit}` : `${what}, more than ${limit}`,
    limits.tooLargeHint,
  );
}

/**
 * Reads a whole text file the user named, synchronously. A regular file is checked against the size limit
 * before any byte is read; a pipe or device is read up to one byte past the limit. The file must be non-empty,
 * well-formed UTF-8 and not a directory.
 * @throws KtrailError INPUT_FILE (exit status 2) naming the path and what is wrong; never a raw Node.js error.
 */
export function readTextFile(path: string, role: FileRole, limits: TextFileLimits): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw fsError(role, path, e);
  }
  try {
    let st: Stats;
    try {
      st = fstatSync(fd);
    } catch (e) {
      throw fsError(role, path, e);
    }
    if (st.isDirectory())
      throw inputFileError(role, path, 'is a directory, not a file', `give ${role.expect}`);
    if (st.isFile() && st.size > limits.maxBytes)
      throw tooLarge(role, path, `the file is ${formatBytes(st.size)}`, limits);
    const chunks: Buffer[] = [];
    let total = 0;
    // Regular files: read what fstat promised plus one byte, to notice a file that grew past the limit.
    const chunkSize = st.isFile() ? Math.min(st.size + 1, limits.maxBytes + 1) : 64 * 1024;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(chunkSize, limits.maxBytes + 1 - total));
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        throw fsError(role, path, e);
      }
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > limits.maxBytes) throw tooLarge(role, path, undefined, limits);
    }
    if (total === 0) throw inputFileError(role, path, 'the file is empty', limits.emptyHint);
    return decodeUtf8(Buffer.concat(chunks, total), path, role);
  } finally {
    closeSync(fd);
  }
}

/** One line of a line-oriented input file. */
export interface InputLine {
  /** 1-based. */
  readonly number: number;
  /** The line without its `\n` (and a `\r` before it); undefined when `problem` says why it is unusable. */
  readonly text: string | undefined;
  /** Why the line could not be read as text: not UTF-8, or longer than the line limit. */
  readonly problem?: string;
}

/**
 * Opens a text file to read line by line without holding more than one line (at most `maxLineBytes`) in
 * memory, so an input of any size streams. The file is opened and checked here, before any line: a missing,
 * unreadable or empty file or a directory is a KtrailError INPUT_FILE. A line that is not UTF-8 or is longer
 * than `maxLineBytes` is yielded with a `problem` instead of text, and reading goes on. The file closes when
 * the iteration ends (completes, breaks or throws); iterate the result at least once.
 * @throws KtrailError INPUT_FILE (exit status 2), from here or from a later read.
 */
export async function openLines(
  path: string,
  role: FileRole,
  opts: { readonly maxLineBytes: number; readonly emptyHint: string },
): Promise<AsyncGenerator<InputLine>> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw fsError(role, path, e);
  }
  try {
    let st: Stats;
    try {
      st = await fh.stat();
    } catch (e) {
      throw fsError(role, path, e);
    }
    if (st.isDirectory())
      throw inputFileError(role, path, 'is a directory, not a file', `give ${role.expect}`);
    if (st.isFile() && st.size === 0) throw inputFileError(role, path, 'the file is empty', opts.emptyHint);
  } catch (e) {
    await fh.close();
    throw e;
  }
  return linesOf(fh, path, role, opts);
}

async function* linesOf(
  fh: FileHandle,
  path: string,
  role: FileRole,
  opts: { readonly maxLineBytes: number; readonly emptyHint: string },
): AsyncGenerator<InputLine> {
  try {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const buf = Buffer.allocUnsafe(64 * 1024);
    // The start of a line that spans reads (copies: `buf` is reused), or nothing.
    let parts: Buffer[] = [];
    let partBytes = 0;
    let tooLong = false;
    let number = 0;
    let total = 0;
    const decodeLine = (bytes: Buffer): InputLine => {
      number++;
      if (tooLong || bytes.length > opts.maxLineBytes) {
        tooLong = false;
        return { number, text: undefined, problem: `line longer than ${formatBytes(opts.maxLineBytes)}` };
      }
      const line = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.subarray(0, -1) : bytes;
      try {
        return { number, text: decoder.decode(line) };
      } catch {
        const at = Math.max(0, firstInvalidUtf8(line));
        const byte = (line[at] ?? 0).toString(16).padStart(2, '0');
        return { number, text: undefined, problem: `not UTF-8 text (byte 0x${byte} at column ${at + 1})` };
      }
    };
    /** The line ending at `piece` (the rest of it after what `parts` holds). */
    const complete = (piece: Buffer): InputLine => {
      if (parts.length === 0) return decodeLine(piece);
      keep(piece);
      const line = decodeLine(Buffer.concat(parts, partBytes));
      parts = [];
      partBytes = 0;
      return line;
    };
    const keep = (piece: Buffer) => {
      if (tooLong || piece.length === 0) return;
      if (partBytes + piece.length > opts.maxLineBytes) {
        // Drop what was kept: the line is reported as too long, and memory stays bounded.
        tooLong = true;
        parts = [];
        partBytes = 0;
        return;
      }
      parts.push(Buffer.from(piece));
      partBytes += piece.length;
    };
    for (;;) {
      let n: number;
      try {
        ({ bytesRead: n } = await fh.read(buf, 0, buf.length, null));
      } catch (e) {
        throw fsError(role, path, e);
      }
      if (n === 0) break;
      if (total === 0 && isUtf16(buf.subarray(0, n))) throw notUtf16(role, path);
      total += n;
      let start = 0;
      for (;;) {
        const nl = buf.indexOf(0x0a, start);
        if (nl < 0 || nl >= n) break;
        yield complete(buf.subarray(start, nl));
        start = nl + 1;
      }
      keep(buf.subarray(start, n));
    }
    if (total === 0) throw inputFileError(role, path, 'the file is empty', opts.emptyHint);
    if (partBytes > 0 || tooLong) yield complete(Buffer.alloc(0));
  } finally {
    await fh.close();
  }
}
