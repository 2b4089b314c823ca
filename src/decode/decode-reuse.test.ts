import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blob_hdr_t, event_hdr_t as HDR } from '../abi/abi.gen.js';
import type { EventSpec } from '../catalog/types.js';
import { Decoder } from './decode.js';
import { batch } from './testing.js';

const spec: EventSpec = {
  id: 901,
  name: 'one_string',
  version: '1.0.0',
  kind: 'syscall',
  description: '',
  sets: [],
  probes: [],
  fields: [
    { name: 'name', cType: 'const char *', type: 'string', decode: { wire: 'str', max: 64 }, tags: [] },
    { name: 'flags', cType: 'unsigned int', type: 'int32', decode: { wire: 'reg' }, tags: [] },
    { name: 'returnValue', cType: 'long', type: 'int64', decode: { wire: 'reg' }, tags: [] },
  ],
  syscall: { nr: 901, compatNrs: [], emit: 'exit' },
};

/** A record of `spec` from thread `tid`; `pad` bytes of ring slack after it (a record built in the ring). */
function record(tid: number, name: string, flags: bigint, seq: bigint, pad = 0): Uint8Array {
  const body = new TextEncoder().encode(name);
  const size = HDR.SIZE + blob_hdr_t.SIZE + body.length;
  const b = new Uint8Array(size + pad).fill(0xee);
  b.fill(0, 0, size);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(HDR.seq, seq, true);
  dv.setBigUint64(HDR.args, 0x7ffc0000n, true);
  dv.setBigUint64(HDR.args + 8, flags, true);
  dv.setUint32(HDR.event_id, 901, true);
  dv.setUint32(HDR.syscall_nr, 901, true);
  dv.setUint32(HDR.host_tid, tid, true);
  dv.setUint32(HDR.size, size, true);
  dv.setUint16(HDR.SIZE, body.length, true);
  dv.setUint8(HDR.SIZE + 3, 2);
  b.set(body, HDR.SIZE + blob_hdr_t.SIZE);
  return b;
}

const decoder = () => new Decoder({ eventById: (id) => (id === 901 ? spec : undefined), bootToEpochNs: 0n });

test('a thread repeating a call shares one arguments array; any changed byte decodes afresh', () => {
  const d = decoder();
  const buf = batch([
    record(5, 'foo', 0xa00n, 1n),
    record(5, 'foo', 0xa00n, 2n),
    record(6, 'foo', 0xa00n, 3n),
    record(5, 'fop', 0xa00n, 4n),
    record(5, 'fop', 0xa01n, 5n),
    record(5, 'fop', 0xa01n, 6n),
  ]);
  const ev = d.decodeBatch(buf);
  assert.equal(ev.length, 6);
  assert.equal(ev[1]!.args, ev[0]!.args);
  assert.notEqual(ev[2]!.args, ev[0]!.args); // another thread
  assert.deepEqual(ev[2]!.args, ev[0]!.args);
  assert.deepEqual(
    ev.map((e) => [e.seq, e.args[0]!.value, e.args[1]!.value]),
    [
      [1n, 'foo', 2560],
      [2n, 'foo', 2560],
      [3n, 'foo', 2560],
      [4n, 'fop', 2560],
      [5n, 'fop', 2561],
      [6n, 'fop', 2561],
    ],
  );
  assert.equal(ev[5]!.args, ev[4]!.args);
  // The batch memory is reused by the ring reader: shared arguments must not follow it.
  buf.fill(0);
  assert.equal(ev[0]!.args[0]!.value, 'foo');
});

test('a record reserved larger than it is (ring slack after it) decodes by its header size', () => {
  const d = decoder();
  const [a, b] = d.decodeBatch(batch([record(5, 'foo', 1n, 1n, 100), record(5, 'bar', 1n, 2n, 3)]));
  assert.equal(a?.args[0]?.value, 'foo');
  assert.equal(b?.args[0]?.value, 'bar');
  assert.equal(d.errors.bad_size + d.errors.bad_blob, 0);
});
