/**
 * Fuzzing the line reader behind `ktrail analyze` against a plain model: split the bytes at '\n', drop one
 * '\r' before it, report lines over the limit or not UTF-8. Inputs cross the 64 KiB read size, so lines that
 * span reads are covered. Only KtrailError INPUT_FILE may escape (an empty file, a UTF-16 one).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { KtrailError } from '../errors.js';
import { fuzzParams, withinAsync } from './fuzz-testing.js';
import { type FileRole, type InputLine, openLines } from './input-file.js';

const root = mkdtempSync(join(tmpdir(), 'ktrail-lines-fuzz-'));
after(() => rmSync(root, { recursive: true, force: true }));
const role: FileRole = { where: (loc) => `reading ${loc}`, expect: 'a file' };

function model(b: Uint8Array, max: number): { text?: string; bad?: boolean }[] {
  const out: { text?: string; bad?: boolean }[] = [];
  const td = new TextDecoder('utf-8', { fatal: true });
  let start = 0;
  while (start < b.length) {
    let nl = b.indexOf(0x0a, start);
    if (nl < 0) nl = b.length;
    let line = b.subarray(start, nl);
    if (line.length > max) out.push({ bad: true });
    else {
      if (line[line.length - 1] === 0x0d) line = line.subarray(0, -1);
      try {
        out.push({ text: td.decode(line) });
      } catch {
        out.push({ bad: true });
      }
    }
    start = nl + 1;
  }
  return out;
}

const piece = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom('a', 'é', '\n', '\r', '\r\n', '{"x":1}').map((s) => Buffer.from(s)),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(0xff, 0xc3, 0xa9, 0xe2, 0x80, 0x00, 0xfe).map((x) => Buffer.from([x])),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 70_000 }).map((n) => Buffer.alloc(n, 0x62)) },
);
const input = fc.array(piece, { maxLength: 30 }).map((ps) => new Uint8Array(Buffer.concat(ps)));

test('fuzz: openLines yields what the plain model says, for any bytes', async () => {
  const file = join(root, 'in.jsonl');
  await fc.assert(
    fc.asyncProperty(input, fc.integer({ min: 1, max: 100_000 }), async (bytes, max) => {
      writeFileSync(file, bytes);
      const got = await withinAsync(
        async () => {
          const lines: InputLine[] = [];
          for await (const l of await openLines(file, role, { maxLineBytes: max, emptyHint: 'x' }))
            lines.push(l);
          return lines;
        },
        (e) => e instanceof KtrailError && e.code === 'INPUT_FILE',
      );
      const utf16 =
        bytes.length >= 2 &&
        ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff));
      if (bytes.length === 0 || utf16) {
        assert.equal(got, undefined);
        return;
      }
      assert.ok(got !== undefined);
      assert.deepEqual(
        got.map((l, i) => {
          assert.equal(l.number, i + 1);
          return l.text === undefined ? { bad: true } : { text: l.text };
        }),
        model(bytes, max),
      );
    }),
    fuzzParams(300),
  );
});
