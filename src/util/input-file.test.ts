import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KtrailError } from '../errors.js';
import {
  decodeUtf8,
  type FileRole,
  firstInvalidUtf8,
  formatBytes,
  type InputLine,
  MIB,
  openLines,
  readTextFile,
} from './input-file.js';

const root = mkdtempSync(join(tmpdir(), 'ktrail-input-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function file(content: string | Uint8Array): string {
  const p = join(root, `f${n++}`);
  writeFileSync(p, content);
  return p;
}

const role: FileRole = { where: (loc) => `loading thing ${loc}`, expect: 'a thing file' };
const limits = { maxBytes: 64, tooLargeHint: 'make it smaller', emptyHint: 'put a thing in it' };

function fails(fn: () => unknown, message: string, hint: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof KtrailError, String(e));
    assert.deepEqual(
      { code: e.code, message: e.message, hint: e.hint, exit: e.exitCode },
      { code: 'INPUT_FILE', message, hint, exit: 2 },
    );
    return true;
  });
}

describe('readTextFile', () => {
  it('reads UTF-8 text and drops a byte-order mark', () => {
    assert.equal(readTextFile(file('héllo\n'), role, limits), 'héllo\n');
    assert.equal(readTextFile(file('\uFEFFa: 1\n'), role, limits), 'a: 1\n');
  });
  it('names the path and says what is wrong', () => {
    const missing = join(root, 'missing');
    fails(
      () => readTextFile(missing, role, limits),
      `loading thing ${missing}: no such file or directory`,
      'give a thing file',
    );
    const dir = join(root, 'dir');
    mkdirSync(dir);
    fails(
      () => readTextFile(dir, role, limits),
      `loading thing ${dir}: is a directory, not a file`,
      'give a thing file',
    );
    const empty = file('');
    fails(
      () => readTextFile(empty, role, limits),
      `loading thing ${empty}: the file is empty`,
      'put a thing in it',
    );
    const big = file('x'.repeat(65));
    fails(
      () => readTextFile(big, role, limits),
      `loading thing ${big}: the file is 65 bytes, more than the limit of 64 bytes`,
      'make it smaller',
    );
    const latin1 = file(Buffer.from('a: 1\nb: caf\xe9\n', 'latin1'));
    fails(
      () => readTextFile(latin1, role, limits),
      `loading thing ${latin1}:2:7: not UTF-8 text (byte 0xe9)`,
      "save the file as UTF-8 (it may be UTF-16 or Latin-1: 'iconv -t UTF-8' converts it)",
    );
    const through = join(root, 'through-file');
    fails(
      () => readTextFile(join(big, 'x'), role, limits),
      `loading thing ${join(big, 'x')}: a part of the path is not a directory`,
      'check the path; give a thing file',
    );
    symlinkSync(through, through);
    fails(
      () => readTextFile(through, role, limits),
      `loading thing ${through}: too many levels of symbolic links`,
      'give the real path',
    );
  });
  it('refuses a large file from its size, before reading it', () => {
    const p = join(root, 'sparse');
    writeFileSync(p, '');
    // A 50 MiB sparse file: refused by size at once (reading it would take visible time and memory).
    truncateSync(p, 50 * MIB);
    const t0 = process.hrtime.bigint();
    fails(
      () => readTextFile(p, role, { ...limits, maxBytes: MIB }),
      `loading thing ${p}: the file is 52428800 bytes (50.0 MiB), more than the limit of 1048576 bytes (1.0 MiB)`,
      'make it smaller',
    );
    assert.ok(process.hrtime.bigint() - t0 < 50_000_000n);
  });
  it('reads a device only up to the limit', () => {
    fails(
      () => readTextFile('/dev/zero', role, limits),
      'loading thing /dev/zero: it holds more than the limit of 64 bytes',
      'make it smaller',
    );
  });
  it('reports permission denied, for readTextFile and openLines', (t) => {
    const asRoot = process.getuid?.() === 0;
    const module = fileURLToPath(new URL('./input-file.js', import.meta.url));
    // A clone in a directory only root can enter (mktemp -d) keeps nobody from loading the module.
    if (asRoot && spawnSync('test', ['-r', module], { uid: 65534, gid: 65534 }).status !== 0)
      return t.skip(`user nobody cannot read ${module}`);
    const p = file('x');
    chmodSync(p, asRoot ? 0o600 : 0);
    if (asRoot) chmodSync(root, 0o755);
    // As root every file is readable: run the two readers as 'nobody' in a child process.
    const script = `
      import { readTextFile, openLines } from ${JSON.stringify(new URL('./input-file.js', import.meta.url).href)};
      const role = { where: (l) => 'loading thing ' + l, expect: 'a thing file' };
      const out = [];
      try { readTextFile(process.argv[1], role, { maxBytes: 9, tooLargeHint: '', emptyHint: '' }); }
      catch (e) { out.push([e.code, e.message, e.hint]); }
      try { await openLines(process.argv[1], role, { maxLineBytes: 9, emptyHint: '' }); }
      catch (e) { out.push([e.code, e.message, e.hint]); }
      console.log(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, p], {
      encoding: 'utf8',
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
    });
    assert.equal(r.status, 0, r.stderr);
    const want = [
      'INPUT_FILE',
      `loading thing ${p}: permission denied`,
      "make it readable by the user running ktrail ('ls -l' shows its owner and mode)",
    ];
    assert.deepEqual(JSON.parse(r.stdout), [want, want]);
  });
});

describe('UTF-8 checks', () => {
  it('finds the first malformed byte', () => {
    const cases: [number[], number][] = [
      [[0x61, 0x62], -1],
      [[0xc3, 0xa9], -1],
      [[0xf0, 0x9f, 0x98, 0x80], -1],
      [[0x61, 0xc3], 1], // cut off
      [[0xc0, 0x80], 0], // overlong
      [[0xe0, 0x80, 0x80], 0], // overlong
      [[0xed, 0xa0, 0x80], 0], // surrogate
      [[0xf4, 0x90, 0x80, 0x80], 0], // above U+10FFFF
      [[0x61, 0x80], 1], // lone continuation
      [[0xff, 0xfe, 0x61, 0x00], 0], // UTF-16 byte-order mark
    ];
    for (const [bytes, at] of cases) assert.equal(firstInvalidUtf8(new Uint8Array(bytes)), at, String(bytes));
  });
  it('agrees with the fatal TextDecoder on every 2-byte input', () => {
    const td = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    for (let a = 0; a < 256; a++)
      for (let b = 0; b < 256; b++) {
        const bytes = new Uint8Array([a, b]);
        let ok = true;
        try {
          td.decode(bytes);
        } catch {
          ok = false;
        }
        assert.equal(firstInvalidUtf8(bytes) === -1, ok, `${a} ${b}`);
      }
  });
  it('decodeUtf8 names line and column', () => {
    fails(
      () => decodeUtf8(new Uint8Array([0x61, 0x0a, 0x62, 0x62, 0xff]), 'p', role),
      'loading thing p:2:3: not UTF-8 text (byte 0xff)',
      "save the file as UTF-8 (it may be UTF-16 or Latin-1: 'iconv -t UTF-8' converts it)",
    );
  });
  it('formats sizes', () => {
    assert.equal(formatBytes(1), '1 byte');
    assert.equal(formatBytes(1023), '1023 bytes');
    assert.equal(formatBytes(1536), '1536 bytes (1.5 KiB)');
    assert.equal(formatBytes(MIB), '1048576 bytes (1.0 MiB)');
  });
});

async function lines(path: string, maxLineBytes = 16): Promise<InputLine[]> {
  const out: InputLine[] = [];
  for await (const l of await openLines(path, role, { maxLineBytes, emptyHint: 'give events' })) out.push(l);
  return out;
}

describe('openLines', () => {
  it('yields numbered lines; CRLF and a missing final newline are fine', async () => {
    assert.deepEqual(await lines(file('a\r\n\nb')), [
      { number: 1, text: 'a' },
      { number: 2, text: '' },
      { number: 3, text: 'b' },
    ]);
  });
  it('reports a malformed or too long line and goes on', async () => {
    const p = file(
      Buffer.concat([Buffer.from('ok\nbad\xff\n', 'latin1'), Buffer.from(`${'x'.repeat(40)}\nend\n`)]),
    );
    assert.deepEqual(await lines(p), [
      { number: 1, text: 'ok' },
      { number: 2, text: undefined, problem: 'not UTF-8 text (byte 0xff at column 4)' },
      { number: 3, text: undefined, problem: 'line longer than 16 bytes' },
      { number: 4, text: 'end' },
    ]);
  });
  it('joins lines across reads, and bounds a line that never ends', async () => {
    const long = `${'y'.repeat(70_000)}\nz`;
    assert.deepEqual(
      (await lines(file(long), 100_000)).map((l) => [l.number, l.text?.length]),
      [
        [1, 70_000],
        [2, 1],
      ],
    );
    assert.deepEqual(await lines(file('w'.repeat(200_000)), 100_000), [
      { number: 1, text: undefined, problem: 'line longer than 100000 bytes (97.7 KiB)' },
    ]);
  });
  it('refuses a missing file, a directory and an empty file before the first line', async () => {
    const reject = async (path: string, message: string) =>
      assert.rejects(
        lines(path),
        (e: unknown) => e instanceof KtrailError && e.code === 'INPUT_FILE' && e.message === message,
      );
    await reject(join(root, 'nope'), `loading thing ${join(root, 'nope')}: no such file or directory`);
    await reject(root, `loading thing ${root}: is a directory, not a file`);
    const empty = file('');
    await reject(empty, `loading thing ${empty}: the file is empty`);
  });
});
