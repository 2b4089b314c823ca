/**
 * Fuzzing the record decoder (bytes from the kernel, or from a corrupted ring buffer): random bytes, mutations
 * of a record the real kernel produced, the same record relabelled as any catalog event, and batches with
 * wrong length prefixes. The decoder never throws (it counts what it skips) and each input finishes within the
 * time bound. Only calls decode.ts; does not change it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { event_hdr_t as HDR } from '../abi/abi.gen.js';
import { catalog, eventById } from '../catalog/index.js';
import { packageRoot } from '../native/binding.js';
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
