/**
 * The Prometheus registry behind `GET /metrics` (prom-client). Every ktrail and Tracee metric is read from
 * its source when Prometheus scrapes (collect callbacks reading Pipeline.stats(), Capture.stats(), the ring's
 * fill, the sinks' and the heartbeat's counters): the metrics layer never counts anything per event. Plus
 * prom-client's process and Node.js metrics (CPU, memory, file descriptors, event-loop lag, GC).
 *
 * Names: Tracee main's where ktrail has the same quantity (COMPAT.md 7), `ktrail_*` for the rest; README.md
 * (Operability) lists them all. A private Registry per call, so tests and embedders get their own.
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { NetStats } from '../capture/config.js';
import type { CaptureStats } from '../capture/session.js';
import type { ContainerStoreStats } from '../containers/store.js';
import type { SinkStats } from '../output/sink.js';
import type { PipelineStats } from '../pipeline/pipeline.js';
import type { Health, HeartbeatStats } from './heartbeat.js';

export interface MetricSources {
  readonly pipeline: () => PipelineStats;
  readonly capture: () => CaptureStats;
  /** Bytes waiting in the ring and its size. */
  readonly ring: () => { readonly used: number; readonly size: number };
  /** Every output with its counters; `name` carries no credentials. */
  readonly outputs: () => readonly { readonly name: string; readonly stats: SinkStats }[];
  readonly heartbeat: () => HeartbeatStats;
  readonly health: () => Health;
  /** The boot clock, ns (heartbeat age). */
  readonly now: () => bigint;
  /** Event names by catalog id. */
  readonly eventName: (id: number) => string;
  /** Detection rules running. */
  readonly rules: () => number;
  /** Userspace errors besides decode errors: poller and consumer failures, rules that threw. */
  readonly errors: () => number;
  readonly reloads: () => { readonly ok: number; readonly failed: number };
  /** Container runtime lookups (src/containers/store.ts); absent when containers are not tracked. */
  readonly containers?: () => ContainerStoreStats;
  /** The kernel's packet counters; undefined (or absent) when no packet event is traced. */
  readonly net?: () => NetStats | undefined;
}

type Row = readonly [labels: Record<string, string>, value: number];

/** Defines a counter whose values are read at scrape time. */
function counter(
  r: Registry,
  name: string,
  help: string,
  labelNames: readonly string[],
  read: () => readonly Row[] | number,
): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [r],
    collect() {
      this.reset();
      const v = read();
      if (typeof v === 'number') this.inc(v);
      else for (const [labels, n] of v) this.inc(labels, n);
    },
  });
}

function gauge(
  r: Registry,
  name: string,
  help: string,
  labelNames: readonly string[],
  read: () => readonly Row[] | number,
): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [r],
    collect() {
      this.reset();
      const v = read();
      if (typeof v === 'number') this.set(v);
      else for (const [labels, n] of v) this.set(labels, n);
    },
  });
}

const num = (v: bigint | number): number => Number(v);

export function createMetrics(s: MetricSources): Registry {
  const r = new Registry();
  collectDefaultMetrics({ register: r });

  // One snapshot per scrape: collect callbacks run one after another within registry.metrics().
  let snap: { p: PipelineStats; c: CaptureStats; at: number } | undefined;
  const take = () => {
    const at = performance.now();
    if (snap === undefined || at - snap.at > 50) snap = { p: s.pipeline(), c: s.capture(), at };
    return snap;
  };
  const perEvent = (
    pick: (e: CaptureStats['events'] extends ReadonlyMap<number, infer V> ? V : never) => bigint,
  ) => [...take().c.events].map(([id, e]): Row => [{ event_name: s.eventName(id) }, num(pick(e))]);
  const sum = (
    pick: (e: CaptureStats['events'] extends ReadonlyMap<number, infer V> ? V : never) => bigint,
  ) => {
    let t = 0n;
    for (const e of take().c.events.values()) t += pick(e);
    return num(t);
  };
  const decodeErrors = () => Object.values(take().p.decodeErrors).reduce((a, b) => a + b, 0);
  const outputs = (pick: (st: SinkStats) => number | undefined) =>
    s.outputs().flatMap(({ name, stats }): Row[] => {
      const v = pick(stats);
      return v === undefined ? [] : [[{ output: name }, v]];
    });

  // Tracee's names (main; v0.24 prefixed them tracee_ebpf_).
  counter(r, 'tracee_events_total', 'events and findings written to the outputs', [], () => {
    const p = take().p;
    return p.printed + p.findings;
  });
  counter(r, 'tracee_events_filtered', 'events dropped by userspace filters', [], () => take().p.filtered);
  counter(r, 'tracee_lostevents_total', 'records lost because the ring buffer was full', [], () =>
    sum((e) => e.lost),
  );
  counter(
    r,
    'tracee_errors_total',
    'userspace errors: undecodable records, poller and consumer failures, rules that threw',
    [],
    () => decodeErrors() + s.errors(),
  );
  gauge(
    r,
    'tracee_bpf_perf_event_submit_attempts',
    'records the kernel tried to submit, per event',
    ['event_name', 'internal'],
    () =>
      [...take().c.events].map(
        ([id, e]): Row => [{ event_name: s.eventName(id), internal: 'false' }, num(e.submitted + e.lost)],
      ),
  );
  gauge(
    r,
    'tracee_bpf_perf_event_submit_failures',
    'records the kernel could not submit (ring full), per event',
    ['event_name', 'internal'],
    () =>
      [...take().c.events].map(
        ([id, e]): Row => [{ event_name: s.eventName(id), internal: 'false' }, num(e.lost)],
      ),
  );
  counter(
    r,
    'tracee_signatures_detections_total',
    'findings of the detection rules',
    [],
    () => take().p.findings,
  );
  gauge(r, 'tracee_signatures_total', 'detection rules running', [], () => s.rules());

  // ktrail's own, per event.
  counter(r, 'ktrail_events_submitted_total', 'records committed to the ring buffer', ['event_name'], () =>
    perEvent((e) => e.submitted),
  );
  counter(r, 'ktrail_events_lost_total', 'records lost: the ring buffer was full', ['event_name'], () =>
    perEvent((e) => e.lost),
  );
  counter(
    r,
    'ktrail_events_kernel_filtered_total',
    'records dropped in the kernel: no policy scope or filter could match',
    ['event_name'],
    () => perEvent((e) => e.filtered),
  );
  counter(
    r,
    'ktrail_events_user_filtered_total',
    'records dropped in userspace: no policy matched',
    ['event_name'],
    () => [...take().p.filteredByEvent].map(([id, n]): Row => [{ event_name: s.eventName(id) }, n]),
  );
  counter(
    r,
    'ktrail_user_read_errors_total',
    'arguments the kernel could not read from user memory',
    ['event_name'],
    () => perEvent((e) => e.readErrors),
  );
  counter(r, 'ktrail_records_total', 'records decoded, internal ones included', [], () => take().p.records);
  counter(
    r,
    'ktrail_events_printed_total',
    'events written to the outputs (findings apart)',
    [],
    () => take().p.printed,
  );
  counter(
    r,
    'ktrail_events_unprinted_total',
    'numbered records no policy printed: rule inputs, or caught in a reload',
    [],
    () => take().p.unprinted,
  );
  counter(r, 'ktrail_decode_errors_total', 'records the decoder skipped', ['reason'], () =>
    Object.entries(take().p.decodeErrors).map(([reason, n]): Row => [{ reason }, n]),
  );
  counter(r, 'ktrail_findings_total', 'findings per detection rule', ['rule_id'], () =>
    [...take().p.findingsByRule].map(([id, n]): Row => [{ rule_id: id }, n]),
  );
  counter(
    r,
    'ktrail_capture_batches_total',
    'batches the ring poller handed over',
    [],
    () => take().c.batches,
  );
  counter(r, 'ktrail_capture_bytes_total', 'bytes the ring poller handed over', [], () => take().c.bytes);
  gauge(
    r,
    'ktrail_ring_buffer_used_bytes',
    'bytes waiting in the ring buffer at scrape time',
    [],
    () => s.ring().used,
  );
  gauge(r, 'ktrail_ring_buffer_size_bytes', 'size of the ring buffer', [], () => s.ring().size);

  // Outputs.
  counter(
    r,
    'ktrail_output_written_total',
    'lines (events, findings, loss records) delivered',
    ['output'],
    () => outputs((st) => st.written),
  );
  counter(
    r,
    'ktrail_output_dropped_total',
    'lines given up: full queue, failing receiver, reader gone, stop deadline',
    ['output'],
    () => outputs((st) => st.dropped),
  );
  gauge(r, 'ktrail_output_queued', 'lines waiting to be delivered', ['output'], () =>
    outputs((st) => st.queued),
  );
  gauge(r, 'ktrail_output_queued_bytes', 'bytes waiting to be delivered', ['output'], () =>
    outputs((st) => st.queuedBytes),
  );
  counter(r, 'ktrail_output_errors_total', 'failed writes, requests or publishes', ['output'], () =>
    outputs((st) => st.errors),
  );
  counter(
    r,
    'ktrail_output_retries_total',
    'requests or publishes repeated after a failure',
    ['output'],
    () => outputs((st) => st.retries),
  );
  counter(r, 'ktrail_output_rotations_total', 'size rotations of a file output', ['output'], () =>
    outputs((st) => st.rotations),
  );
  counter(r, 'ktrail_output_reopens_total', 'SIGHUP reopens of a file output', ['output'], () =>
    outputs((st) => st.reopens),
  );

  // Network events.
  const net = () => s.net?.();
  counter(
    r,
    'ktrail_net_packets_unattributed_total',
    'packets of a wanted class from sockets no task was seen using (not reported)',
    ['direction'],
    () => {
      const n = net();
      return n === undefined
        ? []
        : [
            [{ direction: 'ingress' }, num(n.unattributedIngress)],
            [{ direction: 'egress' }, num(n.unattributedEgress)],
          ];
    },
  );
  counter(
    r,
    'ktrail_net_packets_truncated_total',
    'DNS and HTTP packets longer than the bytes the kernel keeps of them',
    [],
    () => num(net()?.truncated ?? 0n),
  );
  counter(
    r,
    'ktrail_net_packets_busy_total',
    'packets not reported: both record areas of their CPU were in use',
    [],
    () => num(net()?.busy ?? 0n),
  );
  counter(
    r,
    'ktrail_net_events_truncated_total',
    'network events shown with a DNS message or HTTP head cut short',
    ['event_name'],
    () => [...take().p.netTruncated].map(([n, v]): Row => [{ event_name: n }, v]),
  );
  counter(
    r,
    'ktrail_net_events_malformed_total',
    'packets whose DNS message or HTTP head did not parse (no event)',
    ['event_name'],
    () => [...take().p.netMalformed].map(([n, v]): Row => [{ event_name: n }, v]),
  );

  // Liveness and reloads.
  counter(r, 'ktrail_heartbeats_sent_total', 'heartbeat calls made', [], () => s.heartbeat().sent);
  counter(
    r,
    'ktrail_heartbeats_received_total',
    'heartbeat records that came back',
    [],
    () => s.heartbeat().received,
  );
  gauge(r, 'ktrail_heartbeat_age_seconds', 'since the newest heartbeat that came back was made', [], () => {
    const h = s.heartbeat();
    return h.lastMadeNs === 0n ? -1 : Number(s.now() - h.lastMadeNs) / 1e9;
  });
  gauge(
    r,
    'ktrail_heartbeat_round_trip_seconds',
    'kernel to pipeline, the newest heartbeat',
    [],
    () => Number(s.heartbeat().lastRoundTripNs) / 1e9,
  );
  gauge(r, 'ktrail_healthy', '1 when /healthz answers OK', [], () => (s.health().ok ? 1 : 0));
  counter(r, 'ktrail_policy_reloads_total', 'SIGHUP reloads of policies and signatures', ['result'], () => {
    const x = s.reloads();
    return [
      [{ result: 'ok' }, x.ok],
      [{ result: 'failed' }, x.failed],
    ];
  });
  // Containers.
  const lookups = s.containers;
  if (lookups !== undefined) {
    counter(
      r,
      'ktrail_container_lookups_total',
      "asks for a container's runtime facts, by how they ended",
      ['result'],
      () => {
        const x = lookups();
        return [
          [{ result: 'answered' }, x.answered],
          [{ result: 'unknown' }, x.unknown],
        ];
      },
    );
    counter(
      r,
      'ktrail_container_runtime_errors_total',
      'runtime calls that failed',
      [],
      () => lookups().errors,
    );
    counter(
      r,
      'ktrail_container_events_without_facts_total',
      "events of a container that went out without its runtime's facts",
      [],
      () => s.pipeline().containerFactsMissing,
    );
  }
  return r;
}
