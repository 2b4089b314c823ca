import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TraceEvent } from '../decode/event.js';
import { Heartbeat, sendHeartbeat } from './heartbeat.js';

const MS = 1_000_000n;
const BOOT_TO_EPOCH = 1_700_000_000_000n * MS;

/** A heartbeat record made at boot time `madeNs` (only the timestamp matters here). */
const record = (madeNs: bigint) => ({ timestamp: madeNs + BOOT_TO_EPOCH }) as TraceEvent;

function setup() {
  let now = 1000n * MS;
  const sent: boolean[] = [];
  const hb = new Heartbeat({
    now: () => now,
    bootToEpochNs: BOOT_TO_EPOCH,
    send: (n) => sent.push(n),
    staleAfterMs: 3000,
  });
  return { hb, sent, at: (ms: number) => (now = BigInt(ms) * MS), made: () => now };
}

test('healthy once a heartbeat made within 3 s came back; the reason says what is wrong', () => {
  const { hb, at } = setup();
  assert.deepEqual(hb.health(), { ok: false, reason: 'starting: no heartbeat back yet' });
  at(5000);
  assert.deepEqual(hb.health(), { ok: false, reason: 'no heartbeat came back in 4.0 s since start' });
  hb.receive(record(4990n * MS));
  assert.deepEqual(hb.health(), { ok: true });
  assert.deepEqual(hb.stats(), { sent: 0, received: 1, lastMadeNs: 4990n * MS, lastRoundTripNs: 10n * MS });
  at(7990);
  assert.deepEqual(hb.health(), { ok: true });
  at(8500);
  assert.deepEqual(hb.health(), {
    ok: false,
    reason:
      'the newest heartbeat that came back was made 3.5 s ago: the kernel program, the ring poller or the ' +
      'pipeline has stalled, or the ring is full',
  });
  // A late arrival of an old heartbeat does not make it healthy again.
  hb.receive(record(4000n * MS));
  assert.equal(hb.health().ok, false);
  hb.stop();
  assert.deepEqual(hb.health(), { ok: false, reason: 'ktrail is stopping' });
});

test('a barrier runs at the first heartbeat made after it was asked for, not at older ones', async () => {
  const { hb, sent, at } = setup();
  hb.numbered = true;
  at(2000);
  let ran = 0;
  const done = hb.barrier(() => ran++);
  assert.deepEqual(sent, [true]);
  hb.receive(record(1999n * MS)); // made before the barrier: records before it may still be on their way
  assert.equal(ran, 0);
  hb.receive(record(2500n * MS)); // the barrier's own heartbeat was lost; a later one completes it
  assert.equal(ran, 1);
  await done;
  hb.receive(record(3000n * MS));
  assert.equal(ran, 1);
});

test('stop fails a pending barrier; a throwing barrier function rejects its promise', async () => {
  const { hb } = setup();
  const pending = hb.barrier(() => {});
  const throwing = hb.barrier(() => {
    throw new Error('boom');
  });
  hb.receive(record(1001n * MS));
  await assert.rejects(throwing, /boom/);
  await pending;
  const late = hb.barrier(() => {});
  hb.stop();
  await assert.rejects(late, /stopped before the barrier/);
  await assert.rejects(
    hb.barrier(() => {}),
    /stopped/,
  );
});

test('a failing heartbeat call is the reason given', () => {
  let now = 0n;
  const hb = new Heartbeat({
    now: () => now,
    bootToEpochNs: 0n,
    send: () => {
      throw new Error('EPERM');
    },
  });
  hb.beat();
  now = 5000n * MS;
  assert.deepEqual(hb.health(), { ok: false, reason: 'the heartbeat call failed: EPERM' });
});

test('the heartbeat call is a harmless kill that fails with ESRCH', () => {
  sendHeartbeat(false);
  sendHeartbeat(true);
});
