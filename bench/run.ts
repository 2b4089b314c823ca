/**
 * npm run bench: ktrail against the empty-program floor, bpftrace and auditd, measured side by side in one run.
 * Suites, in this order (audit last: once audit is enabled, every new task pays extra until it is disabled):
 *   1. overhead    ns per getppid (unselected) and per delete_module (traced) call, configurations alternated
 *   1b. kevents    caller CPU per openat+close and per UDP connect: not selected, traced as syscalls, and
 *                  traced as kernel events (security_file_open, security_socket_connect: paths and sockets
 *                  resolved in the kernel)
 *   1c. net stream ns per packet of a loopback TCP stream: nothing attached, the default set, net_packet_tcp
 *                  (bench/lib/net-stream.ts)
 *   2. throughput  a delete_module storm from 1 and 2 threads; events delivered, seq gaps, reported loss
 *   3. pipeline    the live pipeline (src/pipeline) on captured batches in this process, events/s on one core
 *   4. startup     launch to the first delivered event; RSS idle and at ~100k events/s; a CPU profile
 *   5. audit       overhead and storm with auditd holding one delete_module rule
 * Writes bench/results/latest.json and BENCHMARKS.md (generated). Needs root and a built tree (npm run setup).
 * Options: --reps N (default 5), --storm-ms MS (default 3000), --quick (2 reps, 1 s storms), --no-peers.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { openCapture } from '../src/capture/session.js';
import { eventById, eventByName } from '../src/catalog/index.js';
import { Decoder } from '../src/decode/decode.js';
import type { TraceEvent } from '../src/decode/event.js';
import { addonPath, loadNative } from '../src/native/binding.js';
import { jsonPrinter } from '../src/output/printer.js';
import { openFileSink } from '../src/output/sink.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { planTrace } from '../src/pipeline/plan.js';
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
  LOADGEN,
  nothing,
  PROF_CHILD,
  ROOT,
  type Tracer,
} from './lib/tracers.js';
import { renderMarkdown } from './report.js';

const TMP = '/tmp/ktrail-bench';
const MEASURE_MS = 300;

export interface Options {
  reps: number;
  stormMs: number;
  peers: boolean;
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
  /** ns per packet of a loopback TCP stream, by configuration (1c). */
  netStream?: NetStreamResults;
  throughput: StormResult[];
  pipeline?: {
    batches: number;
    events: number;
    decode: Summary;
    /** src/pipeline Pipeline.push: decode, enrich, match, rules, JSON, write to /dev/null. */
    pipeline: Summary;
  };
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
  const o: Options = { reps: 5, stormMs: 3000, peers: true };
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
    else throw new Error(`unknown option '${a}' (known: --reps N, --storm-ms MS, --quick, --no-peers)`);
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
  // make: a no-op when the load generator is current, a rebuild when bench/loadgen.c changed.
  if (!tryRun('make', ['-s', '-C', resolve(ROOT, 'bench')]) && !existsSync(LOADGEN)) {
    throw new Error(`building ${LOADGEN} failed: run 'make -C bench' (or 'npm run setup') to see why`);
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
// 2. Throughput and loss

function stormEntry(res: Results, tracer: string, threads: number): StormResult {
  let e = res.throughput.find((x) => x.tracer === tracer && x.threads === threads);
  if (e === undefined) {
    e = { tracer, threads, runs: [] };
    res.throughput.push(e);
  }
  return e;
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
    calls: load.calls,
    delivered: scan.events,
    reportedLost: lost,
    unreported: load.calls - scan.events - lost,
    deliveredPerS: scan.events / (stormMs / 1000),
    callNs: load.nsPerCall,
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
  return {
    calls: load.calls,
    delivered: scan.events,
    reportedLost: scan.lost,
    unreported: load.calls - scan.events - scan.lost,
    deliveredPerS: scan.events / (stormMs / 1000),
    callNs: load.nsPerCall,
  };
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
  return {
    calls: load.calls,
    delivered,
    reportedLost: lost,
    unreported: load.calls - delivered - lost,
    deliveredPerS: delivered / (stormMs / 1000),
    callNs: load.nsPerCall,
  };
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
  // The live command's pipeline for `ktrail -e delete_module -o json`, writing to /dev/null.
  const plan = await planTrace({ events: ['delete_module'] });
  const devnull = openFileSink('/dev/null');
  const pipeline = new Pipeline({
    policies: plan.compiled,
    printed: new Set(plan.printed.map((e) => e.id)),
    rules: plan.rules,
    enabled: plan.enabled,
    printers: [jsonPrinter([devnull], { parseArguments: false, policyNames: [''] })],
    bootToEpochNs,
    startedAtNs: clocks.realtime,
  });
  const events: TraceEvent[] = [];
  const stage = (full: boolean): number => {
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < 1000) {
      for (const b of batches) {
        if (full) pipeline.push(b);
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
  const full: number[] = [];
  try {
    stage(true); // warm-up
    for (let i = 0; i < 3; i++) {
      log(`pipeline ${i + 1}/3`);
      dec.push(stage(false));
      full.push(stage(true));
    }
  } finally {
    pipeline.close();
    devnull.close();
  }
  res.pipeline = {
    batches: batches.length,
    events: perPass,
    decode: summarize(dec),
    pipeline: summarize(full),
  };
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

function targets(res: Results): void {
  const g = res.overhead.getppid;
  const d = res.overhead.delmod;
  const out = res.targets;
  const floor = g[FLOOR]?.median ?? Number.NaN;
  for (const k of [K_NONE, K_DEFAULT]) {
    const ratio = (g[k]?.median ?? Number.NaN) / floor;
    out.push({
      what: `getppid (unselected) under ${k}, vs the floor`,
      value: `${ratio.toFixed(2)}x`,
      target: '<= 1.10x',
      status: Number.isFinite(ratio) ? (ratio <= 1.1 ? 'ok' : 'MISS') : 'n/a',
    });
  }
  const dc = res.overhead.delmodCpu;
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
    out.push({
      what: 'unreported loss in the storms (calls - delivered - reported lost; seq gaps - reported lost)',
      value: `${unreported}; ${gaps}`,
      target: '0; 0',
      status: unreported === 0 && gaps === 0 ? 'ok' : 'MISS',
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
  const peers = opts.peers ? ensurePeers(res.notes) : { bpftrace: false, auditd: false };
  if (!opts.peers) res.notes.push('peers skipped (--no-peers)');
  if (peers.bpftrace && !mountTracefs(res.notes)) peers.bpftrace = false;
  res.machine = machine();
  const t0 = performance.now();

  // 1. Overhead, configurations alternated within each repetition.
  const configs: Tracer[] = [
    nothing,
    emptyProgram(),
    ktrail({ name: K_NONE, args: ['-e', 'delete_module', '-o', 'none'], stdout: '/dev/null' }),
    ktrail({ name: K_DEFAULT, args: ['-o', 'json'], stdout: '/dev/null' }),
  ];
  if (peers.bpftrace) {
    const out = join(TMP, 'bpftrace-overhead.out');
    configs.push(bpftrace('bpftrace raw_syscalls filter + printf', join(TMP, 'delete_module.bt'), out));
  }
  await overheadSuite(res, configs, opts.reps);
  await keventsSuite(res, opts.reps);
  res.netStream = await netStreamSuite(opts.reps, log);

  // 2. Throughput: ktrail and bpftrace alternated, 1 and 2 threads.
  for (let rep = 0; rep < Math.max(2, Math.min(3, opts.reps)); rep++) {
    for (const threads of [1, 2]) {
      log(`storm ${rep + 1}: ktrail, ${threads} thread(s)`);
      stormEntry(res, 'ktrail -o json', threads).runs.push(await stormKtrail(opts.stormMs, threads));
      if (peers.bpftrace) {
        log(`storm ${rep + 1}: bpftrace, ${threads} thread(s)`);
        stormEntry(res, 'bpftrace', threads).runs.push(await stormBpftrace(opts.stormMs, threads));
      }
    }
  }

  // 3-4.
  await pipelineSuite(res);
  await startupSuite(res, opts.reps);
  await rssSuite(res);
  await profileSuite(res, opts.stormMs);

  // 5. Audit, last.
  if (peers.auditd) {
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
