/**
 * Records real ring-buffer records for the decoder's golden test (root; run after `npm run setup`):
 *   node dist/scripts/record-fixture.js
 * Traces delete_module, runs `rmmod -f fixture_mod`, and writes the rmmod record's bytes to
 * test/fixtures/records/delete_module-rmmod.bin. The golden JSON beside it is made by the test itself
 * with KTRAIL_UPDATE_GOLDEN=1, so that a reviewed change of format is one command.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { event_hdr_t } from '../src/abi/abi.gen.js';
import { openCapture } from '../src/capture/session.js';
import { eventByName } from '../src/catalog/index.js';
import { packageRoot } from '../src/native/binding.js';

const spec = eventByName('delete_module')!;
const records: Buffer[] = [];
const cap = await openCapture({
  events: [spec],
  onBatch: (batch) => {
    let off = 0;
    while (off + 4 <= batch.length) {
      const len = batch.readUInt32LE(off);
      records.push(Buffer.from(batch.subarray(off + 4, off + 4 + len)));
      off += 4 + len;
    }
  },
});
const child = spawnSync('rmmod', ['-f', 'fixture_mod']);
await sleep(300);
await cap.close();
const mine = records.filter((r) => r.readUInt32LE(event_hdr_t.host_pid) === child.pid);
if (mine.length !== 1)
  throw new Error(`expected one record from rmmod (pid ${child.pid}), got ${mine.length}`);
const out = resolve(packageRoot(), 'test', 'fixtures', 'records', 'delete_module-rmmod.bin');
writeFileSync(out, mine[0]!);
console.log(`wrote ${out} (${mine[0]!.length} bytes)`);
