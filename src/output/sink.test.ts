/**
 * File sinks on a real temporary directory: append, mode 0600, no symbolic links, size rotation with
 * backups, reopen after a rename (logrotate without copytruncate). Standard output through a real pipe.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KtrailError } from '../errors.js';
import { countLines, openFileSink } from './sink.js';

const dir = mkdtempSync(join(tmpdir(), 'ktrail-sink-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(dir, `f${++n}.json`);

describe('file sink', () => {
  it('appends to what is there instead of truncating, and sets mode 0600', () => {
    const p = fresh();
    writeFileSync(p, 'earlier run\n', { mode: 0o644 });
    const s = openFileSink(p);
    s.write('{"a":1}\n');
    s.write(Buffer.from('{"a":2}\n{"a":3}\n'));
    s.close();
    assert.equal(readFileSync(p, 'utf8'), 'earlier run\n{"a":1}\n{"a":2}\n{"a":3}\n');
    assert.equal(statSync(p).mode & 0o777, 0o600);
    assert.deepEqual(s.stats?.(), {
      written: 3,
      dropped: 0,
      queued: 0,
      queuedBytes: 0,
      errors: 0,
      rotations: 0,
      reopens: 0,
    });
  });

  it('never writes through a symbolic link, and says so', () => {
    const target = fresh();
    const link = fresh();
    symlinkSync(target, link);
    assert.throws(
      () => openFileSink(link),
      (e: unknown) =>
        e instanceof KtrailError &&
        e.exitCode === 2 &&
        e.message === `opening output file '${link}': ELOOP` &&
        e.hint === 'the path is a symbolic link; ktrail does not write through links',
    );
    assert.equal(existsSync(target), false);
  });

  it('rotates by size, keeps N backups (newest .1), writes the header at the top of each new file', () => {
    const p = fresh();
    const s = openFileSink(p, { rotateBytes: 50, backups: 2 });
    s.header?.('HEAD\n');
    s.write('HEAD\n');
    const line = (i: number) => `line ${i} ${'x'.repeat(12)}\n`; // 20 bytes
    for (let i = 1; i <= 7; i++) s.write(line(i));
    s.close();
    // A file holds the header and two lines (45 bytes); a third would pass 50: rotate before lines 3, 5, 7.
    assert.equal(readFileSync(p, 'utf8'), `HEAD\n${line(7)}`);
    assert.equal(readFileSync(`${p}.1`, 'utf8'), `HEAD\n${line(5)}${line(6)}`);
    assert.equal(readFileSync(`${p}.2`, 'utf8'), `HEAD\n${line(3)}${line(4)}`);
    assert.equal(existsSync(`${p}.3`), false, 'the oldest beyond 2 backups is gone');
    assert.equal(s.stats?.().rotations, 3);
    for (const f of [p, `${p}.1`, `${p}.2`]) assert.equal(statSync(f).mode & 0o777, 0o600);
  });

  it('a batch of lines is cut between lines: every file within the limit, every line once', () => {
    const p = fresh();
    const s = openFileSink(p, { rotateBytes: 50, backups: 9 });
    s.header?.('HEAD\n');
    const line = (i: number) => `line ${i} ${'x'.repeat(12)}\n`; // 20 bytes
    s.write(Array.from({ length: 9 }, (_, i) => line(i + 1)).join(''));
    s.close();
    // The first file has no header line (it was opened before the header was set).
    assert.equal(readFileSync(`${p}.4`, 'utf8'), `${line(1)}${line(2)}`);
    assert.equal(readFileSync(`${p}.3`, 'utf8'), `HEAD\n${line(3)}${line(4)}`);
    assert.equal(readFileSync(`${p}.2`, 'utf8'), `HEAD\n${line(5)}${line(6)}`);
    assert.equal(readFileSync(`${p}.1`, 'utf8'), `HEAD\n${line(7)}${line(8)}`);
    assert.equal(readFileSync(p, 'utf8'), `HEAD\n${line(9)}`);
    assert.equal(s.stats?.().written, 9);
    // A line longer than the room left after the header goes whole into the fresh file.
    const q = fresh();
    const t = openFileSink(q, { rotateBytes: 50 });
    t.header?.('HEAD\n');
    t.write(`a\n${'z'.repeat(60)}\nb\n`);
    t.close();
    assert.equal(readFileSync(`${q}.2`, 'utf8'), 'a\n');
    assert.equal(readFileSync(`${q}.1`, 'utf8'), `HEAD\n${'z'.repeat(60)}\n`);
    assert.equal(readFileSync(q, 'utf8'), 'HEAD\nb\n');
  });

  it('a write larger than the limit still goes whole into a fresh file', () => {
    const p = fresh();
    const s = openFileSink(p, { rotateBytes: 1024 });
    s.write('small\n');
    s.write(`${'y'.repeat(2000)}\n`);
    s.close();
    assert.equal(readFileSync(`${p}.1`, 'utf8'), 'small\n');
    assert.equal(readFileSync(p, 'utf8').length, 2001);
  });

  it('reopen after a rename writes to a new file at the path (logrotate without copytruncate)', () => {
    const p = fresh();
    const s = openFileSink(p);
    s.header?.('HEAD\n');
    s.write('one\n');
    renameSync(p, `${p}.old`);
    s.write('two\n'); // still the renamed file: the descriptor follows it
    s.reopen?.();
    s.write('three\n');
    s.close();
    assert.equal(readFileSync(`${p}.old`, 'utf8'), 'one\ntwo\n');
    assert.equal(readFileSync(p, 'utf8'), 'HEAD\nthree\n');
    assert.equal(statSync(p).mode & 0o777, 0o600);
    assert.equal(s.stats?.().reopens, 1);
  });

  it('a failed reopen keeps the old file in use and reports why', () => {
    const p = fresh();
    const s = openFileSink(p);
    renameSync(p, `${p}.old`);
    symlinkSync('/etc/passwd', p);
    assert.throws(() => s.reopen?.(), /reopening output file '.*': ELOOP/);
    s.write('kept\n');
    s.close();
    assert.equal(readFileSync(`${p}.old`, 'utf8'), 'kept\n');
    assert.equal(s.stats?.().errors, 1);
  });

  it('a rotation that fails writes on to the current file and reports it', () => {
    const p = fresh();
    const problems: string[] = [];
    const s = openFileSink(p, { rotateBytes: 1024, backups: 1, onError: (m) => problems.push(m) });
    s.write(`${'a'.repeat(1000)}\n`);
    // PATH.1 is a directory that is not empty: the rename cannot replace it.
    mkdirSync(join(`${p}.1`, 'x'), { recursive: true });
    s.write(`${'b'.repeat(100)}\n`);
    s.close();
    assert.deepEqual(problems.length, 1);
    assert.match(problems[0]!, /^rotating output file '.*': .*; writing on to the current file$/);
    assert.equal(readFileSync(p, 'utf8').length, 1102);
    assert.equal(s.stats?.().errors, 1);
  });
});

describe('file sink whose writes fail', () => {
  it('a full device: lines dropped and counted, reported once, other writes unharmed', () => {
    const problems: string[] = [];
    const s = openFileSink('/dev/full', { onError: (m) => problems.push(m) });
    s.write('{"a":1}\n{"a":2}\n');
    s.write('{"a":3}\n');
    s.close();
    assert.deepEqual(problems, [
      "writing output file '/dev/full': no space left on device (ENOSPC); its lines are dropped and counted until a write works again",
    ]);
    const st = s.stats?.();
    assert.deepEqual([st?.written, st?.dropped, st?.errors], [0, 3, 2]);
  });

  it('reports when writes work again and how many lines were dropped meanwhile', () => {
    // A FIFO: writing fails (EPIPE) while it has no reader, and works again once it has one.
    const p = join(dir, 'fifo');
    assert.equal(spawnSync('mkfifo', [p]).status, 0);
    let reader = openSync(p, constants.O_RDONLY | constants.O_NONBLOCK);
    const problems: string[] = [];
    const s = openFileSink(p, { onError: (m) => problems.push(m) });
    s.write('one\n');
    closeSync(reader);
    s.write('two\n');
    s.write('three\nfour\n');
    reader = openSync(p, constants.O_RDONLY | constants.O_NONBLOCK);
    s.write('five\n');
    const buf = Buffer.alloc(100);
    const n = readSync(reader, buf);
    closeSync(reader);
    s.close();
    // 'one' waited in the pipe (the writer kept it open); 'two' to 'four' were refused.
    assert.equal(buf.subarray(0, n).toString(), 'one\nfive\n');
    assert.deepEqual(problems, [
      `writing output file '${p}': broken pipe (EPIPE); its lines are dropped and counted until a write works again`,
      `writing output file '${p}' works again, after 3 dropped lines`,
    ]);
    const st = s.stats?.();
    assert.deepEqual([st?.written, st?.dropped, st?.errors], [2, 3, 2]);
  });
});

describe('stdout sink', () => {
  it('a pipe whose reader is gone reports it once and drops the rest', () => {
    const script = fileURLToPath(new URL('./stdout-probe.fixture.js', import.meta.url));
    // `node probe | head -c 1`: head exits after one byte, the probe keeps writing.
    const r = spawnSync('/bin/sh', ['-c', `"${process.execPath}" "${script}" | head -c 1 >/dev/null`], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^closed after \d+ written, \d+ dropped\n$/);
  });

  it('a full device on standard output is reported once and does not stop the run', () => {
    const script = fileURLToPath(new URL('./stdout-probe.fixture.js', import.meta.url));
    const full = openSync('/dev/full', 'w');
    const r = spawnSync(process.execPath, [script, 'full'], {
      stdio: ['ignore', full, 'pipe'],
      encoding: 'utf8',
    });
    closeSync(full);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      r.stderr,
      'writing to standard output: no space left on device (ENOSPC); its lines are dropped and counted until a write works again\n' +
        'not closed: 0 written, 300 dropped, 3 errors\n',
    );
  });
});

it('countLines counts newline bytes', () => {
  assert.equal(countLines(Buffer.from('a\nb\n\n')), 3);
  assert.equal(countLines(Buffer.from('')), 0);
  assert.equal(readdirSync(dir).length > 0, true);
});
