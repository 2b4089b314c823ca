/**
 * The HTTP endpoints and the metrics registry with fake sources, over a real server on 127.0.0.1 (and ::1).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import type { CaptureStats } from '../capture/session.js';
import { KtrailError } from '../errors.js';
import type { SinkStats } from '../output/sink.js';
import type { PipelineStats } from '../pipeline/pipeline.js';
import type { Health } from './heartbeat.js';
import { startServer } from './http.js';
import { createMetrics, type MetricSources } from './metrics.js';

function pipelineStats(over: Partial<PipelineStats> = {}): PipelineStats {
  return {
    records: 10,
    printed: 6,
    filtered: 2,
    filteredByEvent: new Map([[176, 2]]),
    findings: 1,
    findingsByRule: new Map([['KTR-001', 1]]),
    decodeErrors: { short_record: 0, bad_size: 1, unknown_event: 0, bad_blob: 0 },
    unprinted: 1,
    heartbeats: 3,
    reconfigured: 0,
    containerFactsMissing: 0,
    netTruncated: new Map([['net_packet_dns_response', 2]]),
    netMalformed: new Map(),
    ...over,
  };
}

function sources(over: Partial<MetricSources> = {}): MetricSources {
  let lost = 5n;
  const capture = (): CaptureStats => ({
    events: new Map([
      [176, { submitted: 100n, lost: lost++, readErrors: 1n, filtered: 7n }],
      [257, { submitted: 3n, lost: 0n, readErrors: 0n, filtered: 0n }],
    ]),
    batches: 4,
    bytes: 4096,
  });
  const out: SinkStats = { written: 9, dropped: 2, queued: 1, queuedBytes: 300, errors: 3, retries: 2 };
  return {
    pipeline: () => pipelineStats(),
    capture,
    ring: () => ({ used: 1234, size: 8 << 20 }),
    outputs: () => [{ name: 'http://127.0.0.1:1/hook', stats: out }],
    heartbeat: () => ({ sent: 5, received: 4, lastMadeNs: 9_000_000_000n, lastRoundTripNs: 2_000_000n }),
    health: () => ({ ok: true }),
    now: () => 10_000_000_000n,
    eventName: (id) => (id === 176 ? 'delete_module' : id === 257 ? 'openat' : String(id)),
    rules: () => 2,
    errors: () => 4,
    reloads: () => ({ ok: 1, failed: 2 }),
    containers: () => ({ lookups: 5, answered: 3, unknown: 2, errors: 4 }),
    net: () => ({ unattributedIngress: 3n, unattributedEgress: 1n, truncated: 2n, busy: 0n }),
    ...over,
  };
}

/** A value of `text` for the metric line that starts with `series` (name plus labels). */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics registry', () => {
  it("exports Tracee's names and ktrail's per-event counters, read at scrape time", async () => {
    const registry = createMetrics(sources());
    const text = await registry.metrics();
    assert.equal(value(text, 'tracee_events_total'), 7);
    assert.equal(value(text, 'tracee_events_filtered'), 2);
    assert.equal(value(text, 'tracee_lostevents_total'), 5);
    assert.equal(value(text, 'tracee_errors_total'), 5);
    assert.equal(
      value(text, 'tracee_bpf_perf_event_submit_attempts{event_name="delete_module",internal="false"}'),
      105,
    );
    assert.equal(
      value(text, 'tracee_bpf_perf_event_submit_failures{event_name="delete_module",internal="false"}'),
      5,
    );
    assert.equal(value(text, 'tracee_signatures_detections_total'), 1);
    assert.equal(value(text, 'tracee_signatures_total'), 2);
    assert.equal(value(text, 'ktrail_events_submitted_total{event_name="openat"}'), 3);
    assert.equal(value(text, 'ktrail_events_lost_total{event_name="delete_module"}'), 5);
    assert.equal(value(text, 'ktrail_events_kernel_filtered_total{event_name="delete_module"}'), 7);
    assert.equal(value(text, 'ktrail_events_user_filtered_total{event_name="delete_module"}'), 2);
    assert.equal(value(text, 'ktrail_user_read_errors_total{event_name="delete_module"}'), 1);
    assert.equal(value(text, 'ktrail_decode_errors_total{reason="bad_size"}'), 1);
    assert.equal(value(text, 'ktrail_findings_total{rule_id="KTR-001"}'), 1);
    assert.equal(value(text, 'ktrail_ring_buffer_used_bytes'), 1234);
    assert.equal(value(text, 'ktrail_ring_buffer_size_bytes'), 8 << 20);
    assert.equal(value(text, 'ktrail_output_dropped_total{output="http://127.0.0.1:1/hook"}'), 2);
    assert.equal(value(text, 'ktrail_output_retries_total{output="http://127.0.0.1:1/hook"}'), 2);
    assert.equal(value(text, 'ktrail_output_rotations_total{output="http://127.0.0.1:1/hook"}'), undefined);
    assert.equal(value(text, 'ktrail_heartbeat_age_seconds'), 1);
    assert.equal(value(text, 'ktrail_heartbeat_round_trip_seconds'), 0.002);
    assert.equal(value(text, 'ktrail_healthy'), 1);
    assert.equal(value(text, 'ktrail_policy_reloads_total{result="failed"}'), 2);
    assert.equal(value(text, 'ktrail_container_lookups_total{result="answered"}'), 3);
    assert.equal(value(text, 'ktrail_container_lookups_total{result="unknown"}'), 2);
    assert.equal(value(text, 'ktrail_container_runtime_errors_total'), 4);
    assert.equal(value(text, 'ktrail_container_events_without_facts_total'), 0);
    assert.equal(value(text, 'ktrail_net_packets_unattributed_total{direction="ingress"}'), 3);
    assert.equal(value(text, 'ktrail_net_packets_unattributed_total{direction="egress"}'), 1);
    assert.equal(value(text, 'ktrail_net_packets_truncated_total'), 2);
    assert.equal(value(text, 'ktrail_net_packets_busy_total'), 0);
    assert.equal(value(text, 'ktrail_net_events_truncated_total{event_name="net_packet_dns_response"}'), 2);
    assert.equal(
      value(text, 'ktrail_net_events_malformed_total{event_name="net_packet_dns_response"}'),
      undefined,
    );
    assert.match(text, /^# TYPE tracee_lostevents_total counter$/m);
    assert.match(text, /^nodejs_eventloop_lag_seconds \d/m);
    assert.match(text, /^process_resident_memory_bytes \d+/m);
    // A later scrape reads the sources again (the fake's loss counter grows by one per read); within one
    // scrape every metric comes from the same reading.
    await new Promise((r) => setTimeout(r, 60));
    const again = await registry.metrics();
    assert.equal(value(again, 'tracee_lostevents_total'), 6);
    assert.equal(value(again, 'ktrail_events_lost_total{event_name="delete_module"}'), 6);
  });
});

async function freePort(host: string): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, host, r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('HTTP endpoints', () => {
  it('serve /metrics and /healthz on 127.0.0.1; 503 with the reason when unhealthy', async () => {
    let health: Health = { ok: true };
    const srv = await startServer(
      { host: '127.0.0.1', port: 0, metrics: true, healthz: true },
      { metrics: createMetrics(sources()), health: () => health },
    );
    const base = `http://127.0.0.1:${srv.address.port}`;
    try {
      let r = await fetch(`${base}/healthz`);
      assert.equal(r.status, 200);
      assert.equal(await r.text(), 'OK');
      health = { ok: false, reason: 'no heartbeat came back in 4.0 s since start' };
      r = await fetch(`${base}/healthz`);
      assert.equal(r.status, 503);
      assert.equal(await r.text(), 'NOT OK: no heartbeat came back in 4.0 s since start');
      r = await fetch(`${base}/metrics`);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      assert.match(await r.text(), /^tracee_events_total 7$/m);
      r = await fetch(`${base}/metrics`, { method: 'HEAD' });
      assert.equal(r.status, 200);
      assert.equal(await r.text(), '');
      r = await fetch(`${base}/metrics`, { method: 'POST' });
      assert.equal(r.status, 405);
      r = await fetch(`${base}/debug/pprof`);
      assert.equal(r.status, 404);
    } finally {
      await srv.close();
    }
  });

  it('serve only what was asked for, also on ::1', async () => {
    const srv = await startServer(
      { host: '::1', port: 0, metrics: false, healthz: true },
      { health: () => ({ ok: true }) },
    );
    try {
      assert.equal((await fetch(`http://[::1]:${srv.address.port}/metrics`)).status, 404);
      assert.equal((await fetch(`http://[::1]:${srv.address.port}/healthz`)).status, 200);
    } finally {
      await srv.close();
    }
  });

  it('an address in use is a clear error with exit status 2', async () => {
    const port = await freePort('127.0.0.1');
    const first = await startServer(
      { host: '127.0.0.1', port, metrics: true, healthz: false },
      { metrics: createMetrics(sources()) },
    );
    try {
      await assert.rejects(
        startServer(
          { host: '127.0.0.1', port, metrics: true, healthz: false },
          { metrics: createMetrics(sources()) },
        ),
        (e: unknown) =>
          e instanceof KtrailError &&
          e.exitCode === 2 &&
          e.message === `--server: listening on 127.0.0.1:${port}: EADDRINUSE` &&
          /pick another/.test(e.hint ?? ''),
      );
    } finally {
      await first.close();
    }
  });
});
