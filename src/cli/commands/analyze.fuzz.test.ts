/**
 * Fuzzing `ktrail analyze` as a whole, on files: real event lines with bytes edited, random lines, binary
 * bytes, blank lines and CRLF. The outcome is always one of three, against a plain model of the file: exit 0
 * when at least one line is an event, exit 2 when none is, or a KtrailError INPUT_FILE (exit 2) for a file that
 * cannot be read as text at all (empty, UTF-16); stdout holds only valid JSON findings, and the summary counts
 * the file's lines exactly.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { KtrailError } from '../../errors.js';
import { ClassicReader } from '../../input/classic-json.js';
import { packageRoot } from '../../native/binding.js';
import { fuzzParams, mutatedBytes, withinAsync } from '../../util/fuzz-testing.js';
import { runAnalyze } from './analyze.js';

const root = mkdtempSync(join(tmpdir(), 'ktrail-analyze-fuzz-'));
after(() => rmSync(root, { recursive: true, force: true }));

const LINES = readFileSync(resolve(packageRoot(), 'test', 'fixtures', 'events', 'attacks.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l !== '');

const line = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...LINES).map((l) => Buffer.from(l)) },
  {
    weight: 4,
    arbitrary: fc
      .constantFrom(...LINES)
      .chain((l) => mutatedBytes(new Uint8Array(Buffer.from(l))))
      .map((b) => Buffer.from(b)),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', '  ', '{}', '[]', 'null', '{"eventName":"x"}').map(Buffer.from),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b)) },
);
const file = fc
  .tuple(fc.array(line, { maxLength: 12 }), fc.constantFrom('\n', '\r\n'), fc.boolean())
  .map(([ls, eol, lastEol]) =>
    Buffer.concat(ls.flatMap((l, i) => (i < ls.length - 1 || lastEol ? [l, Buffer.from(eol)] : [l]))),
  );

/** What the file holds, read the plain way: events, malformed lines (blank ones are neither). */
function model(bytes: Buffer): { events: number; bad: number } {
  const reader = new ClassicReader();
  const td = new TextDecoder('utf-8', { fatal: true });
  let events = 0;
  let bad = 0;
  const parts = bytes.length === 0 ? [] : bytes.toString('latin1').split('\n');
  if (parts.at(-1) === '') parts.pop();
  for (const raw of parts) {
    let b = Buffer.from(raw, 'latin1');
    if (b.at(-1) === 0x0d) b = b.subarray(0, -1);
    let text: string;
    try {
      text = td.decode(b);
    } catch {
      bad++;
      continue;
    }
    if (text.trim() === '') continue;
    try {
      reader.parseLine(text);
      events++;
    } catch {
      bad++;
    }
  }
  return { events, bad };
}

test('fuzz: analyze on any file exits 0 with events, 2 without, and counts every line', async () => {
  const path = join(root, 'in.jsonl');
  await fc.assert(
    fc.asyncProperty(file, async (bytes) => {
      writeFileSync(path, bytes);
      const out: string[] = [];
      const err: string[] = [];
      const code = await withinAsync(
        () => runAnalyze([path], { values: new Map() }, { out: (t) => out.push(t), err: (t) => err.push(t) }),
        (e) => e instanceof KtrailError && e.code === 'INPUT_FILE',
      );
      const utf16 =
        bytes.length >= 2 &&
        ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff));
      if (bytes.length === 0 || utf16) {
        assert.equal(code, undefined);
        return;
      }
      const m = model(bytes);
      assert.equal(code, m.events > 0 ? 0 : 2);
      const summary = err.find((l) => / \d+ events?, \d+ findings?/.test(l));
      assert.ok(summary !== undefined, err.join('\n'));
      assert.match(summary, new RegExp(`: ${m.events} events?, ${out.length} findings?`));
      if (m.bad > 0) assert.match(summary, new RegExp(`, ${m.bad} malformed lines? skipped$`));
      for (const o of out) assert.doesNotThrow(() => JSON.parse(o), o);
      for (const e of err) assert.equal(/[\u0000-\u001f\u007f-\u009f]/.test(e), false, JSON.stringify(e));
    }),
    fuzzParams(400),
  );
});
