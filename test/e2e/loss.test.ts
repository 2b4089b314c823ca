/**
 * Loss is counted, per event type, and visible as sequence gaps. The test makes the consumer stall (a busy
 * wait inside the batch callback blocks the main thread, so the native poller's queue fills and it stops
 * draining) while a child storms delete_module into a one-page ring. Then: the kernel's lost counter is non-zero,
 * and the gaps in the delivered sequence numbers add up to exactly that count.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openCapture } from '../../src/capture/session.js';
import { eventByName } from '../../src/catalog/index.js';
import { Decoder } from '../../src/decode/decode.js';
import { loadNative } from '../../src/native/binding.js';
import { liveSkipReason } from './run-ktrail.js';

const skip = liveSkipReason();

describe('loss accounting', { skip }, () => {
  it('a stalled consumer loses records; lost count == sum of seq gaps', async () => {
    const spec = eventByName('delete_module')!;
    const clocks = loadNative().clocks();
    const decoder = new Decoder({
      eventById: (id) => (id === spec.id ? spec : undefined),
      bootToEpochNs: clocks.realtime - clocks.boottime,
    });
    const seqs: bigint[] = [];
    let stalled = false;
    const cap = await openCapture({
      events: [spec],
      ringBytes: 4096,
      queueDepth: 1,
      batchBytes: 4096,
      onBatch: (batch) => {
        for (const ev of decoder.decodeBatch(batch)) seqs.push(ev.seq);
        if (!stalled) {
          // Block the main thread: the poller hands over one more batch, then waits, and the ring fills.
          stalled = true;
          const until = Date.now() + 1500;
          while (Date.now() < until) {}
        }
      },
    });
    const storm = spawn('python3', [
      '-c',
      'import ctypes\nf=ctypes.CDLL(None).syscall\nfor i in range(20000): f(176, b"storm", 0)',
    ]);
    await new Promise((r) => storm.on('exit', r));
    await sleep(300);
    const stats = cap.stats().events.get(spec.id);
    await cap.close();
    assert.ok(stats, 'stats for delete_module');
    assert.ok(stats.lost > 0n, `expected losses, got ${stats.lost} lost and ${stats.submitted} submitted`);
    assert.equal(BigInt(seqs.length), stats.submitted);
    const sorted = [...seqs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    let gaps = 0n;
    for (let i = 1; i < sorted.length; i++) gaps += sorted[i]! - sorted[i - 1]! - 1n;
    // Records after the last delivered one can be lost too: count the tail up to submitted + lost.
    gaps += stats.submitted + stats.lost - sorted[sorted.length - 1]!;
    gaps += sorted[0]! - 1n;
    assert.equal(gaps, stats.lost);
    assert.ok(stats.submitted + stats.lost >= 20000n);
  });
});
