/**
 * Golden test on a record the real kernel produced (scripts/record-fixture.ts: `rmmod -f fixture_mod` traced
 * by ktrail.bpf.o). The decoded values are checked exactly, and the classic JSON, plain and with
 * parse-arguments, byte for byte against the committed golden file. KTRAIL_UPDATE_GOLDEN=1 rewrites that file
 * (review the diff).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { eventById } from '../catalog/index.js';
import { packageRoot } from '../native/binding.js';
import { formatJson } from '../output/json.js';
import { Decoder } from './decode.js';

const dir = resolve(packageRoot(), 'test', 'fixtures', 'records');
const BOOT_TO_EPOCH = 1_764_412_200_000_000_000n;

test('a recorded rmmod -f record decodes to exact values and golden JSON', () => {
  const rec = new Uint8Array(readFileSync(resolve(dir, 'delete_module-rmmod.bin')));
  const decoder = new Decoder({ eventById, bootToEpochNs: BOOT_TO_EPOCH });
  const ev = decoder.decodeRecord(rec);
  assert.ok(ev);
  assert.equal(ev.spec.name, 'delete_module');
  assert.equal(ev.processName, 'rmmod');
  assert.equal(ev.returnValue, -38);
  assert.equal(ev.syscall, 'delete_module');
  assert.equal(ev.isCompat, false);
  assert.equal(ev.userId, 0);
  assert.equal(ev.hostProcessId, ev.hostThreadId);
  assert.ok(ev.seq >= 1n);
  assert.ok(ev.durationNs !== undefined && ev.durationNs > 0n);
  assert.ok(ev.timestamp > ev.threadStartTime && ev.threadStartTime > BOOT_TO_EPOCH);
  assert.deepEqual(ev.args, [
    { name: 'name', type: 'string', value: 'fixture_mod' },
    { name: 'flags', type: 'int32', value: 2560 },
  ]);
  const lines =
    `${formatJson(ev, { parseArguments: false, policyNames: [''] })}\n` +
    `${formatJson(ev, { parseArguments: true, policyNames: [''] })}\n`;
  const golden = resolve(dir, 'delete_module-rmmod.jsonl');
  if (process.env['KTRAIL_UPDATE_GOLDEN'] === '1') writeFileSync(golden, lines);
  assert.equal(lines, readFileSync(golden, 'utf8'));
  assert.equal(decoder.errors.short_record + decoder.errors.bad_size + decoder.errors.bad_blob, 0);
});
