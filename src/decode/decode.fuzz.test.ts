/**
 * Fuzzing the record decoder (bytes from the kernel, or from a corrupted ring buffer): random bytes, mutations
 * of a record the real kernel produced, the same record relabelled as any catalog event, and batches with
 * wrong length prefixes; then the batches a live run recorded (test/fixtures/records/pipeline-*.batches) with
 * bytes flipped, overwritten, cut and inserted. The decoder never throws (it counts what it skips), each input
 * finishes within the time bound, and whatever it decodes prints as valid classic JSON and as a table row.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { event_hdr_t as HDR } from '../abi/abi.gen.js';
import { catalog, eventById } from '../catalog/index.js';
import { packageRoot } from '../native/binding.js';
import { formatJson } from '../output/json.js';
import { formatTableRow } from '../output/table.js';
import { fuzzParams, mutatedBytes, within } from '../util/fuzz-testing.js';
import { Decoder } from './decode.js';

const RECORD = new Uint8Array(
  readFileSync(resolve(packageRoot(), 'test', 'fixtures', 'records', 'delete_module-rmmod.bin')),
);
const IDS = catalog.map((e) => e.id);
const never = () => false;

function withId(rec: Uint8Array, id: number): Uint8Array {
  const out = new Uint8Array(rec);
  if (out.length >= HDR.event_id + 4) new DataView(out.buffer).setUint32(HDR.event_id, id >>> 0, true);
  return out;
}

/** Records joined with u32 length prefixes (the native batch format); `lie` adds to one prefix. */
function batch(records: readonly Uint8Array[], lie: number, which: number): Uint8Array {
  const total = records.reduce((n, r) => n + 4 + r.length, 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  let off = 0;
  records.forEach((r, i) => {
    dv.setUint32(off, (r.length + (i === which ? lie : 0)) >>> 0, true);
    out.set(r, off + 4);
    off += 4 + r.length;
  });
  return out;
}

const record = fc.oneof(
  { weight: 3, arbitrary: mutatedBytes(RECORD) },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom(...IDS), mutatedBytes(RECORD)).map(([id, r]) => withId(r, id)),
  },
  { weight: 1, arbitrary: fc.constantFrom(...IDS).map((id) => withId(RECORD, id)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 600 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...IDS), fc.uint8Array({ minLength: 0, maxLength: 400 }))
      .map(([id, tail]) => {
        // A valid header (size covering the tail) followed by random argument bytes.
        const r = new Uint8Array(HDR.SIZE + tail.length);
        r.set(RECORD.subarray(0, HDR.SIZE));
        r.set(tail, HDR.SIZE);
        const dv = new DataView(r.buffer);
        dv.setUint32(HDR.event_id, id, true);
        dv.setUint32(HDR.size, r.length, true);
        return r;
      }),
  },
);

test('fuzz: decodeRecord never throws, on any bytes', () => {
  let decoded = 0;
  let skipped = 0;
  fc.assert(
    fc.property(record, (rec) => {
      const d = new Decoder({ eventById, bootToEpochNs: 0n });
      const ev = within(() => d.decodeRecord(rec), never);
      const errors = Object.values(d.errors).reduce((a, b) => a + b, 0);
      // A record either decodes or is counted, never both, never neither.
      assert.equal(errors, ev === undefined ? 1 : 0);
      if (ev === undefined) skipped++;
      else decoded++;
    }),
    fuzzParams(1500),
  );
  // The inputs reach past the header checks: many decode, many are skipped.
  assert.ok(decoded > 10 && skipped > 10, `decoded ${decoded}, skipped ${skipped}`);
});

test('fuzz: decodeBatch never throws, whatever the length prefixes say', () => {
  fc.assert(
    fc.property(
      fc.array(record, { maxLength: 5 }),
      fc.integer({ min: -300, max: 300 }),
      fc.nat({ max: 5 }),
      fc.uint8Array({ maxLength: 8 }),
      (records, lie, which, tail) => {
        const d = new Decoder({ eventById, bootToEpochNs: 0n });
        const b = batch(records, lie, which);
        const withTail = new Uint8Array(b.length + tail.length);
        withTail.set(b);
        withTail.set(tail, b.length);
        within(() => d.decodeBatch(withTail), never);
        // A Buffer-backed batch at an offset (as the addon hands them) too.
        const shifted = Buffer.alloc(withTail.length + 3);
        shifted.set(withTail, 3);
        within(() => d.decodeBatch(shifted.subarray(3)), never);
      },
    ),
    fuzzParams(800),
  );
});

/** The batches of a recorded live run (u32 length, then the batch), as the addon handed them over. */
function recordedBatches(name: string): Uint8Array[] {
  const raw = readFileSync(resolve(packageRoot(), 'test', 'fixtures', 'records', `${name}.batches`));
  const out: Uint8Array[] = [];
  for (let off = 0; off < raw.length; ) {
    const len = raw.readUInt32LE(off);
    out.push(new Uint8Array(raw.subarray(off + 4, off + 4 + len)));
    off += 4 + len;
  }
  return out;
}

const BATCHES = [...recordedBatches('pipeline-plain'), ...recordedBatches('pipeline-parsed')];

/** Records in a well-formed batch (the length prefixes chain to its end). */
function recordsIn(b: Uint8Array): number {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let n = 0;
  for (let off = 0; off + 4 <= b.length; off += 4 + dv.getUint32(off, true)) n++;
  return n;
}

/** Inserts `bytes` at `at` (modulo the length + 1). */
function insert(b: Uint8Array, at: number, bytes: Uint8Array): Uint8Array {
  const i = at % (b.length + 1);
  const out = new Uint8Array(b.length + bytes.length);
  out.set(b.subarray(0, i));
  out.set(bytes, i);
  out.set(b.subarray(i), i + bytes.length);
  return out;
}

const mutatedBatch = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...BATCHES).chain((b) => mutatedBytes(b)) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...BATCHES), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 40 }))
      .map(([b, at, bytes]) => insert(b, at, bytes)),
  },
  { weight: 1, arbitrary: fc.constantFrom(...BATCHES) },
);

test('fuzz: recorded batches with bytes flipped, cut or inserted: no throw, and what decodes prints as JSON', () => {
  assert.ok(BATCHES.length >= 2, 'the recorded batches are there');
  let printed = 0;
  fc.assert(
    fc.property(mutatedBatch, (b) => {
      const d = new Decoder({ eventById, bootToEpochNs: 1_796_341_340_650_000_246n });
      const events = within(() => d.decodeBatch(b), never)!;
      const errors = Object.values(d.errors).reduce((a, c) => a + c, 0);
      // Every record is decoded or counted at most once; a bad length prefix ends the batch early.
      assert.ok(events.length + errors <= Math.max(1, recordsIn(b)) + 1, `${events.length} + ${errors}`);
      for (const ev of events) {
        within(() => {
          for (const parseArguments of [false, true]) {
            const line = formatJson(ev, { parseArguments, policyNames: [''] });
            assert.doesNotThrow(() => JSON.parse(line), line);
            assert.equal(line.includes('\n'), false);
            const row = formatTableRow(ev, parseArguments);
            assert.equal(row.includes('\n'), false, row);
          }
        }, never);
        printed++;
      }
    }),
    fuzzParams(800),
  );
  assert.ok(printed > 100, `only ${printed} mutated events printed`);
});
