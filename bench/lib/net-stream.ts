/**
 * What the network events add to each packet: a loopback TCP stream (`loadgen stream tcp`, 1 KiB sends, one
 * segment each, in a network namespace of its own, everything on CPU 0) measured with nothing attached, with
 * the default set (every packet classified by the cgroup_skb programs, none of them a DNS, HTTP or ICMP packet
 * it reports) and with `-e net_packet_tcp` (every packet reported, at egress and at ingress; decoded and
 * matched, then printed as JSON or not printed). The configurations are alternated within each repetition; figures are per TCP segment sent (data and ACKs).
 * Kept apart from run.ts so the suite stays one call there.
 */

import { start } from './proc.js';
import { fmtNum, fmtRatio, fmtSummary, type Summary, summarize } from './stats.js';
import { ktrail, LOADGEN, nothing, type Tracer } from './tracers.js';

const SIZE = 1024;
const MS = 1000;
const BASE = nothing.name;
const DEFAULT_SET = 'ktrail (default set) -o json >/dev/null';
const TCP_NONE = 'ktrail -e net_packet_tcp -o none';
const TCP_JSON = 'ktrail -e net_packet_tcp -o json >/dev/null';

export interface NetStreamResults {
  readonly sendBytes: number;
  readonly ms: number;
  readonly configs: string[];
  /** Wall ns per segment: CPU 0's time, as the stream keeps it busy. */
  readonly wallNs: Record<string, Summary>;
  /** CPU ns per segment: the process's and ksoftirqd/0's. */
  readonly cpuNs: Record<string, Summary>;
  readonly segmentsPerS: Record<string, Summary>;
  /**
   * ktrail's "N events" over the segments of the stream, per run: 2 when every segment gave an event at egress
   * and at ingress (any other TCP on the host while it traced counts too).
   */
  readonly eventsPerSegment: Record<string, Summary>;
  /** Events ktrail reported lost, over all runs. */
  readonly lost: Record<string, number>;
  readonly samples: Record<
    string,
    { wallNs: number[]; cpuNs: number[]; segments: number[]; sends: number[]; events: number[] }
  >;
}

interface StreamRun {
  readonly segments: number;
  readonly sends: number;
  readonly wallNs: number;
  readonly cpuNs: number;
}

async function stream(): Promise<StreamRun> {
  const c = start('loadgen', LOADGEN, ['stream', 'tcp', String(SIZE), String(MS)]);
  const code = await c.exited;
  if (code !== 0) {
    const hint = code === 2 ? " (a loadgen without stream mode: run 'make -C bench')" : '';
    throw new Error(`loadgen stream tcp: exit ${code}${hint}: ${c.stderr.trim()}`);
  }
  const kv = new Map([...c.stdout.matchAll(/(\w+)=([\d.]+)/g)].map((m) => [m[1]!, Number(m[2])]));
  const need = (k: string): number => {
    const v = kv.get(k);
    if (v === undefined) throw new Error(`loadgen stream printed no ${k}: '${c.stdout.trim()}'`);
    return v;
  };
  return {
    segments: need('calls'),
    sends: need('writes'),
    wallNs: need('ns_per_call'),
    cpuNs: need('cpu_ns_per_call'),
  };
}

/** Runs the suite, `reps` rounds of the configurations; `log` names each step. */
export async function netStreamSuite(reps: number, log: (msg: string) => void): Promise<NetStreamResults> {
  const configs: Tracer[] = [
    nothing,
    ktrail({ name: DEFAULT_SET, args: ['-o', 'json'], stdout: '/dev/null' }),
    ktrail({ name: TCP_NONE, args: ['-e', 'net_packet_tcp', '-o', 'none'], stdout: '/dev/null' }),
    ktrail({ name: TCP_JSON, args: ['-e', 'net_packet_tcp', '-o', 'json'], stdout: '/dev/null' }),
  ];
  const r: NetStreamResults = {
    sendBytes: SIZE,
    ms: MS,
    configs: configs.map((t) => t.name),
    wallNs: {},
    cpuNs: {},
    segmentsPerS: {},
    eventsPerSegment: {},
    lost: {},
    samples: {},
  };
  for (const t of configs) {
    r.samples[t.name] = { wallNs: [], cpuNs: [], segments: [], sends: [], events: [] };
    r.lost[t.name] = 0;
  }
  for (let rep = 0; rep < reps; rep++) {
    for (const t of configs) {
      log(`net stream ${rep + 1}/${reps}: ${t.name}`);
      const s = r.samples[t.name]!;
      await t.start();
      let run: StreamRun;
      try {
        run = await stream();
      } finally {
        const stopped = await t.stop();
        if (t.name === TCP_NONE || t.name === TCP_JSON) s.events.push(stopped.events ?? Number.NaN);
        if (t !== nothing) r.lost[t.name]! += stopped.lost ?? 0;
      }
      s.wallNs.push(run.wallNs);
      s.cpuNs.push(run.cpuNs);
      s.segments.push(run.segments);
      s.sends.push(run.sends);
    }
  }
  for (const [k, s] of Object.entries(r.samples)) {
    r.wallNs[k] = summarize(s.wallNs);
    r.cpuNs[k] = summarize(s.cpuNs);
    r.segmentsPerS[k] = summarize(s.segments.map((n) => n / (MS / 1000)));
    if (s.events.length > 0) r.eventsPerSegment[k] = summarize(s.events.map((e, i) => e / s.segments[i]!));
  }
  return r;
}

/** The BENCHMARKS.md section. */
export function renderNetStream(n: NetStreamResults): string[] {
  const L: string[] = [];
  L.push('## 1d. Network events: a loopback TCP stream (ns per packet)');
  L.push('');
  L.push(
    `\`loadgen stream tcp ${n.sendBytes} ${n.ms}\`: one thread sends ${n.sendBytes} bytes at a time (one segment ` +
      'each: MSG_EOR, TCP_NODELAY, no autocorking) to a reader over 127.0.0.1 in a network namespace of its own ' +
      'for ' +
      `${n.ms / 1000} s; both threads on CPU 0, so the receive side (softirq, mostly in ksoftirqd/0) runs there ` +
      "too. Per TCP segment sent (data and ACKs); each passes ktrail's egress and ingress cgroup_skb programs " +
      "once. Wall is CPU 0's time per segment (the stream keeps it busy); CPU is the stream process's time plus " +
      "ksoftirqd/0's. The default set classifies every packet (it wants DNS, HTTP and ICMP) and reports none of " +
      'these; `net_packet_tcp` reports each at egress and at ingress (`-o none`: decoded and matched, not printed). ' +
      'Events per segment is ktrail\'s "N events" over the segments (2 expected, less what it reported lost; other ' +
      'TCP on the host while it traced counts too).',
  );
  L.push('');
  L.push(
    '| configuration | wall ns per segment | added | ratio | CPU ns per segment | added | ratio | segments/s | events per segment | lost (all runs) |',
  );
  L.push('|---|---|---|---|---|---|---|---|---|---|');
  const w0 = n.wallNs[BASE]?.median ?? Number.NaN;
  const c0 = n.cpuNs[BASE]?.median ?? Number.NaN;
  for (const k of n.configs) {
    const w = n.wallNs[k]?.median ?? Number.NaN;
    const c = n.cpuNs[k]?.median ?? Number.NaN;
    const base = k === BASE;
    const added = (x: number, x0: number) => (base ? '-' : `${fmtNum(x - x0)} ns`);
    const ratio = (x: number, x0: number) => (base ? '-' : fmtRatio(x / x0));
    const ev = n.eventsPerSegment[k];
    L.push(
      `| ${k} | ${fmtSummary(n.wallNs[k])} | ${added(w, w0)} | ${ratio(w, w0)} | ${fmtSummary(n.cpuNs[k])} | ${added(c, c0)} | ${ratio(c, c0)} | ${fmtSummary(n.segmentsPerS[k])} | ${ev === undefined ? '-' : fmtSummary(ev, 2)} | ${base ? '-' : fmtNum(n.lost[k] ?? Number.NaN)} |`,
    );
  }
  L.push('');
  return L;
}
