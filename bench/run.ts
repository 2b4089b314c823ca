/**
 * npm run bench: ktrail against the empty-program floor, bpftrace and auditd, measured side by side in one run.
 * Suites, in this order (audit last: once audit is enabled, every new task pays extra until it is disabled):
 *   1. overhead    ns per getppid (unselected) and per delete_module (traced) call, configurations alternated
 *   1b. kevents    caller CPU per openat+close and per UDP connect: not selected, traced as syscalls, and
 *                  traced as kernel events (security_file_open, security_socket_connect: paths and sockets
 *                  resolved in the kernel)
 *   1c. levers     the kernel fast paths one at a time, beside the floor and the minimal ring-buffer tracer
 *   1d. net        ns per packet of a loopback TCP stream: nothing attached, the default set, net_packet_tcp
 *                  (bench/lib/net-stream.ts)
 *   2. throughput  a delete_module storm from 1 and 2 threads; events delivered, seq gaps, reported loss
 *   3. pipeline    the live pipeline (src/pipeline) on captured batches in this process, events/s on one core
 *   4. startup     launch to the first delivered event; RSS idle and at ~100k events/s; a CPU profile
 *   5. audit       overhead and storm with auditd holding one delete_module rule
 * Writes bench/results/latest.json and BENCHMARKS.md (generated). Needs root and a built tree (npm run setup).
 * Options: --reps N (default 5), --storm-ms MS (default 3000), --quick (2 reps, 1 s storms), --no-peers,
 * --suites LIST (a comma-separated subset of SUITES), --baseline DIRS (trees of earlier commits built by
 * bench/baseline.sh, measured beside this one); --render alone writes BENCHMARKS.md again from
 * bench/results/latest.json without measuring.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { release } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { type FastPaths, openCapture } from '../src/capture/session.js';
import { eventById, eventByName } from '../src/catalog/index.js';
import { Decoder } from '../src/decode/decode.js';
import type { TraceEvent } from '../src/decode/event.js';
import { addonPath, loadNative } from '../src/native/binding.js';
import { Audit, auditdRunning, auditStatus } from './lib/audit.js';
import { type NetStreamResults, netStreamSuite } from './lib/net-stream.js';
import { killAllNow, parseLoad, rssKiB, run, start, stop, stopAll, tryRun } from './lib/proc.js';
import { type ProfileSummary, summarizeProfile } from './lib/profile.js';
import { scanBpftrace, scanKtrailJson } from './lib/scan.js';
import { type Summary, summarize } from './lib/stats.js';
import {
  bpftrace,
  emptyProgram,
  KTRAIL_MAIN,
  ktrail,
  ktrailCapture,
  LOADGEN,
  MINI_CONSUMER,
  MINI_OBJ,
  minimalTracer,
  nothing,
  PROF_CHILD,
  ROOT,
  type Tracer,
  WRITABLE_FLAGS_OBJ,
} from './lib/tracers.js';
import { renderMarkdown } from './report.js';

const TMP = '/tmp/ktrail-bench';
const MEASURE_MS = 300;

/** The suites, in the order they run. */
export const SUITES = [
  'overhead',
  'kevents',
  'levers',
  'net',
  'throughput',
  'pipeline',
  'startup',
  'audit',
] as const;
export type SuiteName = (typeof SUITES)[number];

export interface Options {
  reps: number;
  stormMs: number;
  peers: boolean;
  /** The suites to run (default: all); a partial run still writes BENCHMARKS.md, with what it measured. */
  suites: SuiteName[];
  /**
   * Built trees of earlier commits (bench/baseline.sh), measured beside this one: the first as ktrail rows
   * in the overhead suite, every one in the pipeline suite. Empty: none.
   */
  baselines: string[];
}

/** One storm run of one tracer. `unreported` = calls made - events delivered - losses the tracer reported. */
export interface StormRun {
  readonly calls: number;
  readonly delivered: number;
  readonly reportedLost: number;
  readonly unreported: number;
  readonly deliveredPerS: number;
  readonly callNs: number;
  readonly seqMissing?: number;
  readonly seqDuplicates?: number;
  readonly seqMaxReorder?: number;
  readonly lostRecords?: number;
}

export interface StormResult {
  readonly tracer: string;
  readonly threads: number;
  readonly runs: StormRun[];
  deliveredPerS?: Summary;
  callsPerS?: Summary;
}

export interface Results {
  generatedAt: string;
  machine: Record<string, string>;
  options: Options;
  overhead: {
    configs: string[];
    getppid: Record<string, Summary>;
    delmod: Record<string, Summary>;
    /** The same, in the calling thread's CPU time (excludes waiting for a CPU the tracer's consumer holds). */
    delmodCpu: Record<string, Summary>;
    samples: Record<string, { getppid: number[]; delmod: number[]; delmodCpu: number[] }>;
  };
  /** Caller CPU ns per call, by configuration (1b). */
  kevents?: {
    configs: string[];
    openat: Record<string, Summary>;
    connect: Record<string, Summary>;
    samples: Record<string, { openat: number[]; connect: number[] }>;
  };
  /** ns per packet of a loopback TCP stream, by configuration (1d). */
  netStream?: NetStreamResults;
  /**
   * Kernel fast paths one at a time (1c): ktrail's capture of delete_module in this process with every fast
   * path, and with each one turned off, beside the floor and the minimal tracer. Caller CPU ns per getppid and
   * per delete_module call, and the ns the tracer's BPF programs ran per delete_module call (bpf_stats).
   */
  levers?: {
    configs: string[];
    getppid: Record<string, Summary>;
    delmodCpu: Record<string, Summary>;
    bpfNs: Record<string, Summary>;
    samples: Record<string, { getppid: number[]; delmodCpu: number[]; bpfNs: number[] }>;
    /** The string-once lever, on openat+close (caller CPU ns and BPF ns per call), with nothing attached. */
    open: {
      configs: string[];
      cpu: Record<string, Summary>;
      bpfNs: Record<string, Summary>;
      samples: Record<string, { cpu: number[]; bpfNs: number[] }>;
    };
  };
  throughput: StormResult[];
  pipeline?: {
    batches: number;
    events: number;
    decode: Summary;
    /** src/pipeline Pipeline.push: decode, enrich, match, rules, JSON, write to /dev/null. */
    pipeline: Summary;
    /** The same pipeline of earlier commits (--baseline), alternated with this tree's on the same batches. */
    baselines?: { label: string; pipeline: Summary }[];
    /** V8's sampling profiler on this tree's pipeline for one pass of the measurement. */
    profile?: ProfileSummary;
  };
  /** Calls per second one thread makes with nothing attached (the storm's loadgen), for the delivery target. */
  untracedCallsPerS?: Summary;
  startup?: { firstEventMs: Summary; attachMs: Summary };
  rss?: { idleMiB: number; peakMiB: number; rate: number; delivered: number; lost: number };
  profile?: ProfileSummary & { eventsPerS: number };
  targets: { what: string; value: string; target: string; status: 'ok' | 'MISS' | 'n/a' }[];
  notes: string[];
}

function log(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

function parseOptions(argv: readonly string[]): Options {
  const o: Options = { reps: 5, stormMs: 3000, peers: true, suites: [...SUITES], baselines: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const num = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) throw new Error(`${a} needs a positive integer`);
      return v;
    };
    if (a === '--reps') o.reps = num();
    else if (a === '--storm-ms') o.stormMs = num();
    else if (a === '--quick') {
      o.reps = 2;
      o.stormMs = 1000;
    } else if (a === '--no-peers') o.peers = false;
    else if (a === '--suites') {
      const list = (argv[++i] ?? '').split(',').filter((x) => x !== '');
      const bad = list.filter((x) => !(SUITES as readonly string[]).includes(x));
      if (list.length === 0 || bad.length > 0)
        throw new Error(
          `--suites needs a comma-separated list of ${SUITES.join(', ')}; got '${bad.join(',')}'`,
        );
      o.suites = SUITES.filter((x) => list.includes(x));
    } else if (a === '--baseline') {
      const dirs = (argv[++i] ?? '').split(',').filter((x) => x !== '');
      const bad = dirs.filter((d) => !existsSync(join(d, 'dist', 'src', 'pipeline', 'pipeline.js')));
      if (dirs.length === 0 || bad.length > 0)
        throw new Error(`--baseline needs built trees (bench/baseline.sh); not built: ${bad.join(', ')}`);
      o.baselines = dirs.map((d) => resolve(d));
    } else
      throw new Error(
        `unknown option '${a}' (known: --reps N, --storm-ms MS, --quick, --no-peers, --suites LIST, --baseline DIRS)`,
      );
  }
  return o;
}

/** Fails with the command to run when the tree is not built; builds the load generator when only it is missing. */
function checkBuilt(): void {
  if (process.geteuid?.() !== 0)
    throw new Error('the benchmarks load BPF programs and start auditd: run as root');
  const need = [
    resolve(ROOT, 'build', 'bpf', 'ktrail.bpf.o'),
    resolve(ROOT, 'build', 'bpf', 'bench_empty.bpf.o'),
  ];
  need.push(addonPath(), KTRAIL_MAIN);
  const missing = need.filter((f) => !existsSync(f));
  if (missing.length > 0) throw new Error(`not built: ${missing.join(', ')}: run 'npm run setup' first`);
  const benchBins = [LOADGEN, MINI_CONSUMER, MINI_OBJ, WRITABLE_FLAGS_OBJ];
  // make: a no-op when the programs are current, a rebuild when a source under bench/ changed.
  if (!tryRun('make', ['-s', '-C', resolve(ROOT, 'bench')]) && benchBins.some((f) => !existsSync(f))) {
    throw new Error(
      `building ${benchBins.join(', ')} failed: run 'make -C bench' (or 'npm run setup') to see why`,
    );
  }
}

/** Installs Debian's bpftrace and auditd when missing (as a user would); returns the peers usable here. */
function ensurePeers(notes: string[]): { bpftrace: boolean; auditd: boolean } {
  const have = (c: string) => tryRun('sh', ['-c', `command -v ${c} >/dev/null`]);
  const missing = ['bpftrace', 'auditd'].filter((c) => !have(c));
  if (missing.length > 0) {
    log(`installing ${missing.join(' ')} (apt-get)`);
    const r = tryRun('sh', [
      '-c',
      `DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${missing.join(' ')} >/dev/null 2>&1`,
    ]);
    if (!r) notes.push(`apt-get install ${missing.join(' ')} failed; the missing peers are skipped`);
  }
  const out = { bpftrace: have('bpftrace'), auditd: have('auditd') && have('auditctl') };
  if (out.auditd && auditdRunning()) {
    notes.push('an auditd was already running: the auditd suite is skipped (never two at once)');
    out.auditd = false;
  }
  return out;
}

async function loadgen(mode: string, sys: string, threads: number, arg: number) {
  const c = start('loadgen', LOADGEN, [mode, sys, String(threads), String(arg)]);
  const code = await c.exited;
  if (code !== 0) throw new Error(`loadgen ${mode} ${sys}: exit ${code}: ${c.stderr.trim()}`);
  return parseLoad(c.stdout);
}

// ---------------------------------------------------------------------------------------------------------
// 1. Overhead

async function overheadSuite(res: Results, tracers: Tracer[], reps: number, tag = ''): Promise<void> {
  for (const t of tracers) {
    const key = t.name + tag;
    if (!res.overhead.configs.includes(key)) res.overhead.configs.push(key);
    res.overhead.samples[key] ??= { getppid: [], delmod: [], delmodCpu: [] };
  }
  for (let rep = 0; rep < reps; rep++) {
    for (const t of tracers) {
      const key = t.name + tag;
      log(`overhead ${rep + 1}/${reps}: ${key}`);
      await t.start();
      try {
        const g = await loadgen('time', 'getppid', 1, MEASURE_MS);
        const d = await loadgen('time', 'delmod', 1, MEASURE_MS);
        res.overhead.samples[key]!.getppid.push(g.nsPerCall);
        res.overhead.samples[key]!.delmod.push(d.nsPerCall);
        res.overhead.samples[key]!.delmodCpu.push(d.cpuNsPerCall);
      } finally {
        await t.stop();
      }
    }
  }
  for (const [k, s] of Object.entries(res.overhead.samples)) {
    res.overhead.getppid[k] = summarize(s.getppid);
    res.overhead.delmod[k] = summarize(s.delmod);
    res.overhead.delmodCpu[k] = summarize(s.delmodCpu);
  }
}

// ---------------------------------------------------------------------------------------------------------
// 1b. What the kernel events add to the calls they are built from

const KE_UNSELECTED = 'ktrail -e delete_module (openat, connect not selected)';
const KE_SYSCALLS = 'ktrail -e openat,connect';
const KE_KERNEL = 'ktrail -e security_file_open,security_socket_connect';

async function keventsSuite(res: Results, reps: number): Promise<void> {
  const configs: Tracer[] = [
    nothing,
    emptyProgram(),
    ktrail({ name: KE_UNSELECTED, args: ['-e', 'delete_module', '-o', 'none'], stdout: '/dev/null' }),
    ktrail({ name: KE_SYSCALLS, args: ['-e', 'openat,connect', '-o', 'none'], stdout: '/dev/null' }),
    ktrail({
      name: KE_KERNEL,
      args: ['-e', 'security_file_open,security_socket_connect', '-o', 'none'],
      stdout: '/dev/null',
    }),
  ];
  const ke = { configs: configs.map((t) => t.name), openat: {}, connect: {}, samples: {} } as NonNullable<
    Results['kevents']
  >;
  for (const t of configs) ke.samples[t.name] = { openat: [], connect: [] };
  for (let rep = 0; rep < reps; rep++) {
    for (const t of configs) {
      log(`kevents ${rep + 1}/${reps}: ${t.name}`);
      await t.start();
      try {
        ke.samples[t.name]!.openat.push((await loadgen('time', 'openat', 1, MEASURE_MS)).cpuNsPerCall);
        ke.samples[t.name]!.connect.push((await loadgen('time', 'connect', 1, MEASURE_MS)).cpuNsPerCall);
      } finally {
        await t.stop();
      }
    }
  }
  for (const [k, v] of Object.entries(ke.samples)) {
    ke.openat[k] = summarize(v.openat);
    ke.connect[k] = summarize(v.connect);
  }
  res.kevents = ke;
}

// ---------------------------------------------------------------------------------------------------------
// 1c. Kernel fast paths, one at a time

const BPF_STATS = '/proc/sys/kernel/bpf_stats_enabled';
let bpfStatsBefore: string | undefined;

function setBpfStats(on: boolean): void {
  if (on) {
    bpfStatsBefore ??= readFileSync(BPF_STATS, 'utf8').trim();
    writeFileSync(BPF_STATS, '1');
  } else if (bpfStatsBefore !== undefined) {
    writeFileSync(BPF_STATS, bpfStatsBefore);
    bpfStatsBefore = undefined;
  }
}

/** The lever rows: a name and the fast paths turned off (src/capture/session.ts FastPaths). */
export const LEVERS: readonly { name: string; off: FastPaths; object?: string }[] = [
  { name: 'ktrail capture, every fast path', off: {} },
  { name: 'without task storage (LRU hash pairs entry and exit)', off: { taskStorage: false } },
  { name: 'without direct task reads (probe reads, as raw_tp)', off: { directTask: false } },
  {
    name: 'without wakeups at the crossing only (every record past the mark wakes)',
    off: { wakeOnCrossing: false },
  },
  { name: 'without ring reserve (per-CPU scratch, then bpf_ringbuf_output)', off: { ringReserve: false } },
  { name: 'raw_tp programs (the fallback: probe reads throughout)', off: { btfPrograms: false } },
  {
    name: 'switches in writable data (every fast path, each tested at run time)',
    off: {},
    object: WRITABLE_FLAGS_OBJ,
  },
];

/** The string-once lever's rows: openat and security_file_open both selected, so both carry the path. */
export const OPEN_LEVERS: readonly { name: string; off: FastPaths }[] = [
  { name: 'ktrail capture of openat + security_file_open, every fast path', off: {} },
  {
    name: 'without reading the path once (the record and the kernel event each read it)',
    off: { strOnce: false },
  },
];
const OPEN_EVENTS = ['openat', 'security_file_open'];

/** Caller CPU ns per call of `sys` and the tracer's BPF ns per call (undefined when it cannot be read). */
async function measured(t: Tracer, sys: string): Promise<{ cpu: number; bpf: number | undefined }> {
  const before = t.bpfRunNs?.();
  const d = await loadgen('time', sys, 1, MEASURE_MS);
  const after = t.bpfRunNs?.();
  return {
    cpu: d.cpuNsPerCall,
    bpf: before !== undefined && after !== undefined ? (after - before) / d.calls : undefined,
  };
}

async function leversSuite(res: Results, reps: number): Promise<void> {
  const configs: Tracer[] = [
    nothing,
    emptyProgram(),
    emptyProgram(true),
    minimalTracer(MINI),
    ...LEVERS.map((l) => ktrailCapture(l.name, l.off, ['delete_module'], l.object)),
  ];
  const openConfigs: Tracer[] = [
    nothing,
    ...OPEN_LEVERS.map((l) => ktrailCapture(l.name, l.off, OPEN_EVENTS)),
  ];
  const lv = {
    configs: configs.map((t) => t.name),
    getppid: {},
    delmodCpu: {},
    bpfNs: {},
    samples: {},
    open: { configs: openConfigs.map((t) => t.name), cpu: {}, bpfNs: {}, samples: {} },
  } as NonNullable<Results['levers']>;
  for (const t of configs) lv.samples[t.name] = { getppid: [], delmodCpu: [], bpfNs: [] };
  for (const t of openConfigs) lv.open.samples[t.name] = { cpu: [], bpfNs: [] };
  setBpfStats(true);
  try {
    for (let rep = 0; rep < reps; rep++) {
      for (const t of configs) {
        log(`levers ${rep + 1}/${reps}: ${t.name}`);
        await t.start();
        try {
          const sm = lv.samples[t.name]!;
          sm.getppid.push((await loadgen('time', 'getppid', 1, MEASURE_MS)).cpuNsPerCall);
          const d = await measured(t, 'delmod');
          sm.delmodCpu.push(d.cpu);
          if (d.bpf !== undefined) sm.bpfNs.push(d.bpf);
        } finally {
          await t.stop();
        }
      }
      for (const t of openConfigs) {
        log(`levers ${rep + 1}/${reps} (openat): ${t.name}`);
        await t.start();
        try {
          const o = await measured(t, 'openat');
          lv.open.samples[t.name]!.cpu.push(o.cpu);
          if (o.bpf !== undefined) lv.open.samples[t.name]!.bpfNs.push(o.bpf);
        } finally {
          await t.stop();
        }
      }
    }
  } finally {
    setBpfStats(false);
  }
  for (const [k, v] of Object.entries(lv.samples)) {
    lv.getppid[k] = summarize(v.getppid);
    lv.delmodCpu[k] = summarize(v.delmodCpu);
    lv.bpfNs[k] = summarize(v.bpfNs);
  }
  for (const [k, v] of Object.entries(lv.open.samples)) {
    lv.open.cpu[k] = summarize(v.cpu);
    lv.open.bpfNs[k] = summarize(v.bpfNs);
  }
  res.levers = lv;
}

// ---------------------------------------------------------------------------------------------------------
// 2. Throughput and loss

function stormEntry(res: Results, tracer: string, threads: number): StormResult {
  let e = res.throughput.find((x) => x.tracer === tracer && x.threads === threads);
  if (e === undefined) {
    e = { tracer, threads, runs: [] };
    res.throughput.push(e);
  }
  return e;
}

/** A storm's counts: `delivered` and `reportedLost` of the `load`'s calls, over `stormMs`. */
function stormRun(
  load: { readonly calls: number; readonly nsPerCall: number },
  stormMs: number,
  delivered: number,
  reportedLost: number,
): StormRun {
  return {
    calls: load.calls,
    delivered,
    reportedLost,
    unreported: load.calls - delivered - reportedLost,
    deliveredPerS: delivered / (stormMs / 1000),
    callNs: load.nsPerCall,
  };
}

async function stormKtrail(stormMs: number, threads: number): Promise<StormRun> {
  const out = join(TMP, 'ktrail-storm.json');
  const t = ktrail({ name: 'ktrail', args: ['-e', 'delete_module', '-o', 'json'], stdout: out });
  await t.start();
  let load: Awaited<ReturnType<typeof loadgen>>;
  try {
    load = await loadgen('storm', 'delmod', threads, stormMs);
  } finally {
    await sleep(200);
  }
  const rep = await t.stop();
  const scan = scanKtrailJson(out);
  rmSync(out, { force: true });
  const lost = rep.lost ?? scan.reportedLost;
  return {
    ...stormRun(load, stormMs, scan.events, lost),
    seqMissing: scan.missingSeqs,
    seqDuplicates: scan.duplicateSeqs,
    seqMaxReorder: scan.maxReorder,
    lostRecords: scan.lostRecords,
  };
}

async function stormBpftrace(stormMs: number, threads: number): Promise<StormRun> {
  const out = join(TMP, 'bpftrace-storm.out');
  const t = bpftrace('bpftrace', join(TMP, 'delete_module.bt'), out);
  await t.start();
  const load = await loadgen('storm', 'delmod', threads, stormMs);
  await sleep(200);
  await t.stop();
  const scan = scanBpftrace(out);
  rmSync(out, { force: true });
  return stormRun(load, stormMs, scan.events, scan.lost);
}

async function stormAudit(audit: Audit, stormMs: number, threads: number): Promise<StormRun> {
  await audit.settle();
  audit.addDeleteModuleRule();
  const from = audit.logSize();
  const lost0 = auditStatus().lost;
  let load: Awaited<ReturnType<typeof loadgen>>;
  try {
    load = await loadgen('storm', 'delmod', threads, stormMs);
  } finally {
    audit.clearRules();
  }
  await audit.settle();
  const delivered = audit.countDeleteModule(from);
  const lost = auditStatus().lost - lost0;
  return stormRun(load, stormMs, delivered, lost);
}

async function stormMinimal(stormMs: number, threads: number): Promise<StormRun> {
  const t = minimalTracer(MINI);
  await t.start();
  let load: Awaited<ReturnType<typeof loadgen>>;
  try {
    load = await loadgen('storm', 'delmod', threads, stormMs);
  } finally {
    await sleep(200);
  }
  const rep = await t.stop();
  const delivered = rep.events ?? 0;
  const lost = rep.lost ?? 0;
  return stormRun(load, stormMs, delivered, lost);
}

function summarizeStorms(res: Results): void {
  for (const e of res.throughput) {
    e.deliveredPerS = summarize(e.runs.map((r) => r.deliveredPerS));
    e.callsPerS = summarize(e.runs.map((r) => r.calls / (res.options.stormMs / 1000)));
  }
}

// ---------------------------------------------------------------------------------------------------------
// 3. Userspace pipeline

async function pipelineSuite(res: Results): Promise<void> {
  const spec = eventByName('delete_module');
  if (spec === undefined) throw new Error('the catalog has no delete_module');
  const batches: Buffer[] = [];
  const cap = await openCapture({
    events: [spec],
    processTree: true,
    onBatch: (b) => batches.push(Buffer.from(b)),
  });
  try {
    await loadgen('loop', 'delmod', 1, 50_000);
    await sleep(50);
  } finally {
    await cap.close();
  }
  const native = loadNative();
  const clocks = native.clocks();
  const bootToEpochNs = clocks.realtime - clocks.boottime;
  const decoder = new Decoder({ eventById, bootToEpochNs });
  const perBatch = new Map(batches.map((b) => [b, decoder.decodeBatch(b, []).length]));
  let perPass = 0;
  for (const n of perBatch.values()) perPass += n;
  if (perPass === 0) throw new Error('pipeline: no events captured');
  // The live command's pipeline for `ktrail -e delete_module -o json`, writing to /dev/null: this tree's
  // and each baseline's, built from their own modules.
  const impls = [
    { label: 'this tree', root: ROOT },
    ...res.options.baselines.map((d) => ({ label: baselineLabel(d), root: d })),
  ];
  const live = await Promise.all(impls.map((i) => livePipeline(i.root, bootToEpochNs, clocks.realtime)));
  const events: TraceEvent[] = [];
  const stage = (push: ((b: Buffer) => void) | undefined, ms = 1000): number => {
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < ms) {
      for (const b of batches) {
        if (push !== undefined) push(b);
        else {
          events.length = 0;
          decoder.decodeBatch(b, events);
        }
        n += perBatch.get(b)!;
      }
    }
    return n / ((performance.now() - t0) / 1000);
  };
  const dec: number[] = [];
  const full: number[][] = impls.map(() => []);
  let profile: ProfileSummary | undefined;
  try {
    for (const p of live) stage(p.push); // warm-up
    for (let i = 0; i < 3; i++) {
      log(`pipeline ${i + 1}/3`);
      dec.push(stage(undefined));
      live.forEach((p, j) => {
        full[j]!.push(stage(p.push));
      });
    }
    profile = await profiled(join(TMP, 'pipeline.cpuprofile'), () => stage(live[0]!.push, 1500));
  } finally {
    for (const p of live) p.close();
  }
  res.pipeline = {
    batches: batches.length,
    events: perPass,
    decode: summarize(dec),
    pipeline: summarize(full[0]!),
    baselines: impls.slice(1).map((i, j) => ({ label: i.label, pipeline: summarize(full[j + 1]!) })),
    profile,
  };
}

/** `abc1234 (subject)` of a baseline tree (bench/baseline.sh writes BASELINE with its commit). */
function baselineLabel(dir: string): string {
  const f = join(dir, 'BASELINE');
  return existsSync(f) ? readFileSync(f, 'utf8').trim() : dir;
}

/** The pipeline of `-e delete_module -o json` to /dev/null, from the modules of the tree at `root`. */
async function livePipeline(
  root: string,
  bootToEpochNs: bigint,
  startedAtNs: bigint,
): Promise<{ push: (b: Buffer) => void; close: () => void }> {
  const mod = (p: string) => import(pathToFileURL(join(root, 'dist', 'src', p)).href);
  const [{ Pipeline: P }, { planTrace: plan }, { jsonPrinter: printer }, { openFileSink: sink }] =
    await Promise.all([
      mod('pipeline/pipeline.js'),
      mod('pipeline/plan.js'),
      mod('output/printer.js'),
      mod('output/sink.js'),
    ]);
  const t = await plan({ events: ['delete_module'] });
  const devnull = sink('/dev/null');
  const pipeline = new P({
    policies: t.compiled,
    printed: new Set(t.printed.map((e: { id: number }) => e.id)),
    rules: t.rules,
    enabled: t.enabled,
    printers: [printer([devnull], { parseArguments: false, policyNames: [''] })],
    bootToEpochNs,
    startedAtNs,
  });
  return {
    push: (b) => pipeline.push(b),
    close: () => {
      pipeline.close();
      devnull.close();
    },
  };
}

/** Runs `work` under V8's sampling profiler in this process and summarizes the profile written to `file`. */
async function profiled(file: string, work: () => unknown): Promise<ProfileSummary> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    work();
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
  } finally {
    session.disconnect();
  }
  return summarizeProfile(file, 12);
}

// ---------------------------------------------------------------------------------------------------------
// 4. Start-up, RSS, profile

async function startupSuite(res: Results, reps: number): Promise<void> {
  const trigger = start('loadgen', LOADGEN, ['rate', 'delmod', '10000', '0']);
  const first: number[] = [];
  const attach: number[] = [];
  try {
    for (let i = 0; i < reps; i++) {
      log(`startup ${i + 1}/${reps}`);
      const t0 = performance.now();
      let firstAt = Number.NaN;
      const c = start('ktrail', process.execPath, [KTRAIL_MAIN, '-e', 'delete_module', '-o', 'json'], {
        collectStdout: false,
      });
      c.proc.stdout?.on('data', (d: Buffer) => {
        if (Number.isNaN(firstAt) && d.includes('"delete_module"')) firstAt = performance.now();
      });
      const end = Date.now() + 20_000;
      while (Number.isNaN(firstAt) && Date.now() < end && c.exitCode === undefined) await sleep(2);
      await stop(c, 'SIGINT', 10_000);
      const m = /started in (\d+) ms/.exec(c.stderr);
      if (Number.isNaN(firstAt)) throw new Error(`startup: no event from ktrail: ${c.stderr.trim()}`);
      first.push(firstAt - t0);
      if (m) attach.push(Number(m[1]));
    }
  } finally {
    await stop(trigger, 'SIGTERM');
  }
  res.startup = { firstEventMs: summarize(first), attachMs: summarize(attach) };
}

async function rssSuite(res: Results): Promise<void> {
  log('rss at idle and at 100k events/s');
  const t = ktrail({ name: 'ktrail', args: ['-e', 'delete_module', '-o', 'json'], stdout: '/dev/null' });
  await t.start();
  let idle = 0;
  let peak = 0;
  let rate = 0;
  try {
    await sleep(1000);
    idle = rssKiB(t.pid()!) ?? 0;
    // Two callers at 50k/s each: one thread cannot make 100k traced calls per second here.
    const gens = [0, 1].map(() => start('loadgen', LOADGEN, ['rate', 'delmod', '50000', '4000']));
    while (gens.some((c) => c.exitCode === undefined)) {
      peak = Math.max(peak, rssKiB(t.pid()!) ?? 0);
      await sleep(100);
    }
    rate = gens.reduce((a, c) => a + parseLoad(c.stdout).callsPerS, 0);
  } finally {
    const rep = await t.stop();
    res.rss = {
      idleMiB: idle / 1024,
      peakMiB: peak / 1024,
      rate,
      delivered: rep.events ?? Number.NaN,
      lost: rep.lost ?? Number.NaN,
    };
  }
}

async function profileSuite(res: Results, stormMs: number): Promise<void> {
  log('profile: the V8 profiler on ktrail during a 1-thread storm');
  const file = join(TMP, 'ktrail.cpuprofile');
  const t = ktrail({
    name: 'ktrail',
    args: ['-e', 'delete_module', '-o', 'json'],
    stdout: '/dev/null',
    main: PROF_CHILD,
    mainArgs: [file, '--'],
  });
  await t.start();
  try {
    await loadgen('storm', 'delmod', 1, stormMs);
  } finally {
    const rep = await t.stop();
    if (existsSync(file)) {
      res.profile = { ...summarizeProfile(file), eventsPerS: (rep.events ?? 0) / (stormMs / 1000) };
    } else res.notes.push(`profile: no profile written: ${rep.stderr?.trim()}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Targets

const K_NONE = 'ktrail -e delete_module -o none';
const K_DEFAULT = 'ktrail (default set) -o json >/dev/null';
const FLOOR = 'empty raw_tp program (floor)';
const BASE = 'nothing attached';
const MINI = 'minimal ring-buffer tracer (C consumer)';
const FLOOR_PAIR = 'empty raw_tp programs on sys_enter and sys_exit';
const MINI_STORM = 'minimal ring-buffer tracer';

const fmtInt = (v: number): string => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');

function targets(res: Results): void {
  const g = res.overhead.getppid;
  const d = res.overhead.delmod;
  const out = res.targets;
  const floor = g[FLOOR]?.median ?? Number.NaN;
  const ratioRow = (what: string, ratio: number, max: number) =>
    out.push({
      what,
      value: `${ratio.toFixed(2)}x`,
      target: `<= ${max.toFixed(2)}x`,
      status: Number.isFinite(ratio) ? (ratio <= max ? 'ok' : 'MISS') : 'n/a',
    });
  // Issue 16: unselected syscalls within 1.05x (-e delete_module) and 1.10x (default set) of the floor.
  const pair = (g[FLOOR_PAIR]?.median ?? Number.NaN) / floor;
  for (const [k, max] of [
    [K_NONE, 1.05],
    [K_DEFAULT, 1.1],
  ] as const)
    ratioRow(
      `getppid (unselected) under ${k}, vs the floor (empty programs on sys_enter and sys_exit: ${Number.isFinite(pair) ? pair.toFixed(2) : 'n/a'}x)`,
      (g[k]?.median ?? Number.NaN) / floor,
      max,
    );
  const dc = res.overhead.delmodCpu;
  // Issue 16: the kernel cost of a traced call (caller CPU added) within 2x the minimal tracer's, and the
  // default set's within 1.5x of -e delete_module's.
  const c0 = dc[BASE]?.median ?? Number.NaN;
  const addedCpu = (k: string) => (dc[k]?.median ?? Number.NaN) - c0;
  if (dc[MINI] !== undefined) {
    ratioRow(
      `delete_module (traced): caller CPU added by ${K_NONE}, vs the minimal tracer's (${Math.round(addedCpu(K_NONE))} / ${Math.round(addedCpu(MINI))} ns)`,
      addedCpu(K_NONE) / addedCpu(MINI),
      2,
    );
  }
  ratioRow(
    `delete_module (traced): caller CPU added by the default set, vs ${K_NONE} (${Math.round(addedCpu(K_DEFAULT))} / ${Math.round(addedCpu(K_NONE))} ns)`,
    addedCpu(K_DEFAULT) / addedCpu(K_NONE),
    1.5,
  );
  for (const [table, how] of [
    [dc, "caller's CPU time"],
    [d, 'wall time, consumer competing for the 2 CPUs'],
  ] as const) {
    const base = table[BASE]?.median ?? Number.NaN;
    for (const k of [K_NONE, K_DEFAULT]) {
      const added = (table[k]?.median ?? Number.NaN) - base;
      out.push({
        what: `delete_module (traced) added by ${k} (${how})`,
        value: `${Math.round(added)} ns`,
        target: '< 1000 ns',
        status: Number.isFinite(added) ? (added < 1000 ? 'ok' : 'MISS') : 'n/a',
      });
    }
  }
  if (res.kevents !== undefined) {
    const o = res.kevents.openat;
    const ratio = (o[KE_UNSELECTED]?.median ?? Number.NaN) / (o[FLOOR]?.median ?? Number.NaN);
    out.push({
      what: 'openat+close (not selected) under ktrail -e delete_module, caller CPU vs the floor',
      value: `${ratio.toFixed(2)}x`,
      target: '<= 1.10x',
      status: Number.isFinite(ratio) ? (ratio <= 1.1 ? 'ok' : 'MISS') : 'n/a',
    });
  }
  const storms = res.throughput.filter((e) => e.tracer.startsWith('ktrail'));
  if (storms.length > 0) {
    const best = Math.max(...storms.map((e) => e.deliveredPerS?.median ?? 0));
    // Negative values (more reported lost than missing) are over-reporting, not unreported loss.
    const unreported = storms.flatMap((e) => e.runs).reduce((a, r) => a + Math.max(0, r.unreported), 0);
    // A lost record keeps its seq, so every gap must be covered by the reported loss (losses after the last
    // delivered record leave no gap).
    const gaps = storms
      .flatMap((e) => e.runs)
      .reduce((a, r) => a + Math.max(0, (r.seqMissing ?? 0) - r.reportedLost), 0);
    out.push({
      what: 'events/s delivered to JSON (best median over 1 and 2 threads)',
      value: `${Math.round(best).toLocaleString('en-US')}/s`,
      target: '>= 1,000,000/s',
      status: best >= 1e6 ? 'ok' : 'MISS',
    });
    // Issue 16: one producer thread, delivered to JSON, against the rate that thread makes untraced.
    const one = storms.find((e) => e.threads === 1)?.deliveredPerS?.median ?? Number.NaN;
    const untraced = res.untracedCallsPerS?.median ?? Number.NaN;
    const mini = res.throughput.find((e) => e.tracer === MINI_STORM && e.threads === 1)?.deliveredPerS
      ?.median;
    out.push({
      what:
        `events/s delivered to JSON from one producer thread, vs its untraced call rate (${fmtInt(one)} / ${fmtInt(untraced)}/s; ` +
        `the minimal tracer delivers ${mini === undefined ? 'n/a' : `${((100 * mini) / untraced).toFixed(0)}%`})`,
      value: `${((100 * one) / untraced).toFixed(0)}%`,
      target: '>= 80%',
      status: Number.isFinite(one / untraced) ? (one / untraced >= 0.8 ? 'ok' : 'MISS') : 'n/a',
    });
    out.push({
      what: 'unreported loss in the storms (calls - delivered - reported lost; seq gaps - reported lost)',
      value: `${unreported}; ${gaps}`,
      target: '0; 0',
      status: unreported === 0 && gaps === 0 ? 'ok' : 'MISS',
    });
  }
  if (res.pipeline !== undefined) {
    const v = res.pipeline.pipeline.median;
    out.push({
      what: 'the pipeline of `-e delete_module -o json` on one core (decode, enrich, match, rules, JSON)',
      value: `${fmtInt(v)} events/s`,
      target: '>= 2,000,000/s',
      status: v >= 2e6 ? 'ok' : 'MISS',
    });
  }
  if (res.startup !== undefined) {
    const v = res.startup.firstEventMs.median;
    out.push({
      what: 'start-up: launch to the first delivered event',
      value: `${Math.round(v)} ms`,
      target: '< 1000 ms',
      status: v < 1000 ? 'ok' : 'MISS',
    });
  }
  if (res.rss !== undefined) {
    out.push({
      what: `RSS peak, ${Math.round(res.rss.rate / 1000)}k calls/s traced`,
      value: `${res.rss.peakMiB.toFixed(0)} MiB (${Math.round(res.rss.delivered / 4000)}k/s delivered, ${res.rss.lost.toLocaleString('en-US')} lost)`,
      target: '< 150 MiB',
      status: res.rss.peakMiB < 150 ? 'ok' : 'MISS',
    });
  }
}

// ---------------------------------------------------------------------------------------------------------

function machine(): Record<string, string> {
  const v = (cmd: string, args: string[]) => {
    try {
      return run(cmd, args).trim().split('\n')[0] ?? '';
    } catch {
      return 'absent';
    }
  };
  return {
    kernel: release(),
    cpus: String(loadNative().numPossibleCpus()),
    node: process.version,
    bpftrace: v('bpftrace', ['--version']),
    auditd: v('auditctl', ['-v']),
  };
}

async function main(): Promise<void> {
  // --render: BENCHMARKS.md again from the last run's results (after a change to report.ts), measuring nothing.
  if (process.argv.slice(2).join(' ') === '--render') {
    const res = JSON.parse(readFileSync(resolve(ROOT, 'bench', 'results', 'latest.json'), 'utf8')) as Results;
    writeFileSync(resolve(ROOT, 'BENCHMARKS.md'), renderMarkdown(res));
    log(`rendered BENCHMARKS.md from bench/results/latest.json (run ${res.generatedAt})`);
    return;
  }
  const opts = parseOptions(process.argv.slice(2));
  checkBuilt();
  rmSync(TMP, { recursive: true, force: true });
  mkdirSync(TMP, { recursive: true, mode: 0o700 });
  const res: Results = {
    generatedAt: new Date().toISOString(),
    machine: {},
    options: opts,
    overhead: { configs: [], getppid: {}, delmod: {}, delmodCpu: {}, samples: {} },
    throughput: [],
    targets: [],
    notes: [],
  };
  if (opts.suites.length < SUITES.length) res.notes.push(`partial run: --suites ${opts.suites.join(',')}`);
  const peers = opts.peers ? ensurePeers(res.notes) : { bpftrace: false, auditd: false };
  if (!opts.peers) res.notes.push('peers skipped (--no-peers)');
  // Run counters on add two clock reads to every BPF program run: every row would carry them.
  if (readFileSync(BPF_STATS, 'utf8').trim() !== '0')
    res.notes.push(
      `kernel.bpf_stats_enabled was ${readFileSync(BPF_STATS, 'utf8').trim()} at the start: every BPF program run in every section paid for its run counters`,
    );
  if (peers.bpftrace && !mountTracefs(res.notes)) peers.bpftrace = false;
  res.machine = machine();
  const t0 = performance.now();

  // 1. Overhead, configurations alternated within each repetition.
  const configs: Tracer[] = [
    nothing,
    emptyProgram(),
    emptyProgram(true),
    minimalTracer(MINI),
    ktrail({ name: K_NONE, args: ['-e', 'delete_module', '-o', 'none'], stdout: '/dev/null' }),
    ktrail({ name: K_DEFAULT, args: ['-o', 'json'], stdout: '/dev/null' }),
  ];
  // The same two ktrail configurations from the first baseline tree: what this tree's changes bought.
  const base = opts.baselines[0];
  if (base !== undefined) {
    const main = join(base, 'dist', 'src', 'cli', 'main.js');
    const label = baselineLabel(base).split(' ')[0];
    configs.push(
      ktrail({
        name: `${K_NONE} at ${label}`,
        args: ['-e', 'delete_module', '-o', 'none'],
        stdout: '/dev/null',
        main,
      }),
      ktrail({ name: `${K_DEFAULT} at ${label}`, args: ['-o', 'json'], stdout: '/dev/null', main }),
    );
  }
  if (peers.bpftrace) {
    const out = join(TMP, 'bpftrace-overhead.out');
    configs.push(bpftrace('bpftrace raw_syscalls filter + printf', join(TMP, 'delete_module.bt'), out));
  }
  const want = (s: SuiteName) => opts.suites.includes(s);
  if (want('overhead')) await overheadSuite(res, configs, opts.reps);
  if (want('kevents')) await keventsSuite(res, opts.reps);
  if (want('levers')) await leversSuite(res, opts.reps);
  if (want('net')) res.netStream = await netStreamSuite(opts.reps, log);

  // 2. Throughput: the untraced call rate, ktrail, the minimal tracer and bpftrace alternated, 1 and 2 threads.
  const untraced: number[] = [];
  for (let rep = 0; want('throughput') && rep < Math.max(2, Math.min(3, opts.reps)); rep++) {
    log(`storm ${rep + 1}: nothing attached, 1 thread`);
    untraced.push((await loadgen('storm', 'delmod', 1, opts.stormMs)).callsPerS);
    for (const threads of [1, 2]) {
      log(`storm ${rep + 1}: ktrail, ${threads} thread(s)`);
      stormEntry(res, 'ktrail -o json', threads).runs.push(await stormKtrail(opts.stormMs, threads));
      log(`storm ${rep + 1}: minimal tracer, ${threads} thread(s)`);
      stormEntry(res, MINI_STORM, threads).runs.push(await stormMinimal(opts.stormMs, threads));
      if (peers.bpftrace) {
        log(`storm ${rep + 1}: bpftrace, ${threads} thread(s)`);
        stormEntry(res, 'bpftrace', threads).runs.push(await stormBpftrace(opts.stormMs, threads));
      }
    }
  }

  if (untraced.length > 0) res.untracedCallsPerS = summarize(untraced);

  // 3-4.
  if (want('pipeline')) await pipelineSuite(res);
  if (want('startup')) {
    await startupSuite(res, opts.reps);
    await rssSuite(res);
    await profileSuite(res, opts.stormMs);
  }

  // 5. Audit, last.
  if (peers.auditd && want('audit')) {
    const audit = new Audit(join(TMP, 'audit'));
    activeAudit = audit;
    try {
      await audit.start();
      const enabledOnly: Tracer = { ...nothing, name: 'audit enabled, no rules' };
      const withRule: Tracer = {
        name: 'auditd, one delete_module rule',
        start: async () => audit.addDeleteModuleRule(),
        stop: async () => {
          audit.clearRules();
          return {};
        },
        pid: () => undefined,
      };
      await overheadSuite(res, [enabledOnly, withRule], opts.reps);
      for (let rep = 0; rep < Math.max(2, Math.min(3, opts.reps)); rep++) {
        for (const threads of [1, 2]) {
          log(`storm ${rep + 1}: auditd, ${threads} thread(s)`);
          stormEntry(res, 'auditd', threads).runs.push(await stormAudit(audit, opts.stormMs, threads));
        }
      }
    } finally {
      const problems = await audit.teardown();
      activeAudit = undefined;
      for (const p of problems) res.notes.push(`audit teardown: ${p}`);
    }
  }

  summarizeStorms(res);
  // Ratio rows and targets use the medians; the storm rows keep every run.
  res.throughput.sort((a, b) => a.threads - b.threads);
  targets(res);
  res.notes.push(`total bench time ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  const jsonPath = resolve(ROOT, 'bench', 'results', 'latest.json');
  mkdirSync(resolve(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(res, null, 2)}\n`);
  // Keep the committed file in the repository's format (biome checks bench/**); skipped when biome is absent.
  const biome = resolve(ROOT, 'node_modules', '@biomejs', 'biome', 'bin', 'biome');
  if (existsSync(biome)) tryRun(process.execPath, [biome, 'format', '--write', jsonPath]);
  const md = renderMarkdown(res);
  writeFileSync(resolve(ROOT, 'BENCHMARKS.md'), md);
  process.stdout.write(md);
  log(`wrote ${jsonPath} and BENCHMARKS.md`);
}

let activeAudit: Audit | undefined;
let cleaning: Promise<void> | undefined;
/** tracefs as the bench found it: bpftrace needs it, and a fresh machine may not have it mounted. */
const TRACEFS = '/sys/kernel/tracing';
let mountedTracefs = false;

/** Mounts tracefs when it is absent (unmounted again at exit); false when bpftrace cannot have it. */
function mountTracefs(notes: string[]): boolean {
  if (existsSync(join(TRACEFS, 'events'))) return true;
  if (!tryRun('mount', ['-t', 'tracefs', 'nodev', TRACEFS]) || !existsSync(join(TRACEFS, 'events'))) {
    notes.push(`bpftrace skipped: tracefs is not mounted and mounting it at ${TRACEFS} failed`);
    return false;
  }
  mountedTracefs = true;
  notes.push(`tracefs was not mounted: mounted at ${TRACEFS} for bpftrace, unmounted at the end`);
  return true;
}

/** Every exit path: stop children, leave audit disabled without rules, remove the temporary files. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await stopAll();
    setBpfStats(false);
    if (activeAudit !== undefined) await activeAudit.teardown();
    if (mountedTracefs && tryRun('umount', [TRACEFS])) mountedTracefs = false;
    rmSync(TMP, { recursive: true, force: true });
  })();
  return cleaning;
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping`);
    cleanup().finally(() => process.exit(130));
  });
}
process.once('exit', () => killAllNow());

main()
  .catch((e: unknown) => {
    log(`failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
