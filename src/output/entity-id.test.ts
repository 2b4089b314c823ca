import assert from 'node:assert/strict';
import { test } from 'node:test';
import { entityId, murmur3 } from './entity-id.js';

test('murmur3 x86_32 matches the reference vectors', () => {
  const enc = new TextEncoder();
  assert.equal(murmur3(new Uint8Array(0), 0), 0);
  assert.equal(murmur3(new Uint8Array(0), 1), 0x514e28b7);
  assert.equal(murmur3(enc.encode('hello'), 0), 0x248bfa47);
  assert.equal(murmur3(enc.encode('The quick brown fox jumps over the lazy dog'), 0), 0x2e4ff723);
  assert.equal(murmur3(new Uint8Array([0x21, 0x43, 0x65, 0x87]), 0x5082edee), 0x2362f9de);
  assert.equal(murmur3(new Uint8Array([0x21, 0x43, 0x65]), 0), 0x7e4a8634);
});

test('entity ids floor the start time to 100 ms', () => {
  const a = entityId(4242, 1764412200120004511n);
  assert.equal(a, entityId(4242, 1764412200100000000n));
  assert.equal(a, entityId(4242, 1764412200199999999n));
  assert.notEqual(a, entityId(4242, 1764412200200000000n));
  assert.notEqual(a, entityId(4243, 1764412200120004511n));
});
