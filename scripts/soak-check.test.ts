import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkLostRecords,
  judgeRss,
  metricByEvent,
  metricValue,
  readOutputLine,
  readSummary,
  SeqTracker,
  showCounts,
} from './soak-check.js';

describe('soak checks', () => {
  it('reads the seq of an event line, whatever its strings hold, and lost_events lines whole', () => {
    assert.deepEqual(
      readOutputLine(
        '{"timestamp":1796348469043288432,"eventName":"openat","args":[{"name":"pathname","type":"const char*","value":"/tmp/\\"seq\\":9"}],"seq":41,"durationNs":2140}',
      ),
      { kind: 'event', seq: 41 },
    );
    assert.deepEqual(
      readOutputLine(
        '{"timestamp":1796348469043288432,"eventName":"lost_events","lostTotal":7,"lost":{"delete_module":5,"openat":2}}',
      ),
      {
        kind: 'lost',
        total: 7n,
        lost: new Map([
          ['delete_module', 5n],
          ['openat', 2n],
        ]),
      },
    );
    assert.deepEqual(readOutputLine('{"eventName":"x"}'), { kind: 'other' });
  });

  it('counts gaps below the highest seq and duplicates, across the bitmap growing', () => {
    const t = new SeqTracker();
    for (const s of [1, 2, 4, 4, 9, 10_000_000, 0]) t.add(s);
    assert.deepEqual([t.count, t.duplicates, t.zero, t.max, t.gaps()], [5, 1, 1, 10_000_000, 9_999_995]);
  });

  it("reads ktrail's JSON summary, the per-event losses from its message", () => {
    const lines = [
      '{"level":"info","time":"2026-12-04T01:00:00.000Z","msg":"tracing 6 events (started in 400 ms); Ctrl-C stops","events":6,"rules":0,"startupMs":400}',
      '{"level":"warn","time":"2026-12-04T01:00:10.000Z","msg":"lost events so far: delete_module 3"}',
      '{"level":"info","time":"2026-12-04T01:02:00.000Z","msg":"SIGINT: 120 events, 9 lost (delete_module 5, sched_process_fork 4), dropped by outputs: x 1","reason":"SIGINT","events":120,"lost":9,"kernelFiltered":0,"userFiltered":2,"findings":0,"undecodable":0,"dropped":1}',
    ];
    assert.deepEqual(readSummary(lines), {
      reason: 'SIGINT',
      events: 120,
      lost: 9n,
      userFiltered: 2,
      dropped: 1,
      undecodable: 0,
      lostByEvent: new Map([
        ['delete_module', 5n],
        ['sched_process_fork', 4n],
      ]),
    });
    assert.equal(readSummary(lines.slice(0, 2)), undefined);
    assert.deepEqual(
      readSummary([
        '{"level":"info","time":"t","msg":"SIGINT: 3 events, 0 lost","reason":"SIGINT","events":3,"lost":0,"kernelFiltered":0,"userFiltered":0,"findings":0,"undecodable":0,"dropped":0}',
      ])?.lostByEvent,
      new Map(),
    );
  });

  it('reads metrics, plain and per event', () => {
    const text = [
      '# HELP ktrail_events_lost_total records lost',
      'ktrail_events_lost_total{event_name="delete_module"} 5',
      'ktrail_events_lost_total{event_name="openat"} 0',
      'ktrail_events_unprinted_total 3',
    ].join('\n');
    assert.equal(metricValue(text, 'ktrail_events_unprinted_total'), 3);
    assert.equal(metricValue(text, 'ktrail_nothing'), undefined);
    assert.deepEqual(
      metricByEvent(text, 'ktrail_events_lost_total'),
      new Map([
        ['delete_module', 5],
        ['openat', 0],
      ]),
    );
  });

  it('judges RSS: under the cap, and the last third within +20 % of the first', () => {
    const samples = (kibs: number[]) => kibs.map((kib, i) => ({ t: i * 2, kib }));
    assert.deepEqual(judgeRss(samples([80_000, 90_000, 85_000, 95_000, 100_000, 98_000]), 150, 0.2), {
      maxMiB: 97.7,
      firstThirdMaxMiB: 87.9,
      lastThirdMaxMiB: 97.7,
      bounded: true,
      why: '',
    });
    const growing = judgeRss(samples([60_000, 61_000, 70_000, 80_000, 90_000, 100_000]), 150, 0.2);
    assert.equal(growing.bounded, false);
    assert.equal(
      growing.why,
      "the last third's maximum 97.7 MiB is more than 20 % above the first third's 59.6 MiB",
    );
    const big = judgeRss(samples([160_000, 150_000, 155_000]), 150, 0.2);
    assert.equal(big.why, 'the maximum 156.3 MiB reached the cap of 150 MiB');
    assert.equal(judgeRss(samples([1, 2]), 150, 0.2).why, 'fewer than 3 samples after 0 s');
  });

  it('leaves the warm-up out of the growth comparison, not out of the cap', () => {
    // Start-up at 60 MiB, then a steady 100 MiB from 6 s on: steady once warmed up.
    const kibs = [61_440, 61_440, 61_440, 102_400, 102_400, 102_400, 102_400, 102_400, 102_400];
    const samples = kibs.map((kib, i) => ({ t: i * 2, kib }));
    assert.equal(judgeRss(samples, 150, 0.2).bounded, false);
    assert.deepEqual(judgeRss(samples, 150, 0.2, 6), {
      maxMiB: 100,
      firstThirdMaxMiB: 100,
      lastThirdMaxMiB: 100,
      bounded: true,
      why: '',
    });
    const capped = [...samples.slice(0, 1), { t: 2, kib: 160_000 }, ...samples.slice(2)];
    assert.equal(judgeRss(capped, 150, 0.2, 6).why, 'the maximum 156.3 MiB reached the cap of 150 MiB');
  });

  it('checks lost_events records: totals add up, counters never go down or vanish', () => {
    const r = (total: bigint, entries: [string, bigint][]) => ({ total, lost: new Map(entries) });
    assert.deepEqual(
      checkLostRecords([
        r(3n, [['delete_module', 3n]]),
        r(7n, [
          ['delete_module', 5n],
          ['openat', 2n],
        ]),
      ]),
      [],
    );
    assert.deepEqual(
      checkLostRecords([
        r(5n, [
          ['delete_module', 3n],
          ['openat', 2n],
        ]),
        r(3n, [['delete_module', 2n]]),
      ]),
      [
        'lost_events record 2: lostTotal 3, its parts add up to 2',
        'lost_events record 2: delete_module went down from 3 to 2',
        'lost_events record 2: openat is missing (was 2)',
      ],
    );
    assert.equal(
      showCounts(
        new Map([
          ['openat', 2n],
          ['delete_module', 5n],
          ['execve', 0n],
        ]),
      ),
      'delete_module 5, openat 2',
    );
  });
});
