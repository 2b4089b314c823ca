/**
 * The soak (not part of `npm test`; README "Development", docs/operations.md "Soak"): ktrail runs for 10 minutes
 * (`--minutes N`) under mixed load while its ring consumer is stalled at intervals, and the run is checked:
 *
 *   - RSS stays bounded: below 150 MiB, and the last third's maximum within +20 % of the first third's (the
 *     thirds of the time after the first stall has drained: both see the same workload);
 *   - every loss shows as a seq gap: the `seq` numbers of the JSON output have no duplicate, and the numbers
 *     missing below the highest one are exactly the records lost of the printed events (plus userspace drops
 *     and unprinted records, 0 here);
 *   - the loss counters agree: each `lost_events` record's total is the sum of its parts and no counter goes
 *     down, the last record, the summary and /metrics give the same per-event counts, and every delete_module
 *     call the load made is either submitted or lost;
 *   - ktrail exits 0, and nothing is left behind: no process, no temporary file, no BPF program.
 *
 * Load (each its own python3 process, started and stopped here): a delete_module storm, file opens, short-lived
 * processes (/bin/true), TCP connects to a server on 127.0.0.1 that this script runs. ktrail traces
 * delete_module, openat, security_file_open, execve, sched_process_exec and connect into a JSON file, with a
 * 1 MiB ring (--buffer-mib) so that a stall of a few seconds overflows it. Stalls: ktrail's `ktrail-ring`
 * poller thread alone is stopped with ptrace (PTRACE_SEIZE + PTRACE_INTERRUPT on its thread id) for
 * --stall-seconds (5) every --stall-every seconds (60), starting half an interval in.
 *
 * Run as root, holding the shared lock of the machine's BPF users, after `npm run setup`:
 *   flock /tmp/ktrail-bpf.lock node dist/scripts/soak.js [--minutes N]
 * Exit status 0 when every check holds, 1 when one does not (or the run failed), 2 for a bad flag.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  createReadStream,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  checkLostRecords,
  judgeRss,
  metricByEvent,
  metricValue,
  type RssSample,
  readOutputLine,
  readSummary,
  SeqTracker,
  showCounts,
} from './soak-check.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const BPF_OBJECT = join(ROOT, 'build', 'bpf', 'ktrail.bpf.o');

/** The events ktrail traces, all printed (so each takes a seq). */
const SELECTED = ['delete_module', 'openat', 'security_file_open', 'execve', 'sched_process_exec', 'connect'];
const RSS_CAP_MIB = 150;
const RSS_GROWTH = 0.2;
const SAMPLE_MS = 2000;

interface Options {
  minutes: number;
  stallEvery: number;
  stallSeconds: number;
  bufferMib: number;
  keep: boolean;
}

const USAGE = `usage: node dist/scripts/soak.js [--minutes N] [--stall-every SECONDS] [--stall-seconds SECONDS]
                                [--buffer-mib MIB] [--keep]
  --minutes N            how long ktrail runs under load (default 10)
  --stall-every SECONDS  how often the ring poller is stopped (default 60; the first stall is at half of it)
  --stall-seconds S      how long each stall lasts (default 5)
  --buffer-mib MIB       ktrail's --buffer-size (default 1, so that a stall overflows the ring)
  --keep                 keep the temporary directory (the JSON output, ktrail's log, rss.tsv)
Run as root with the BPF lock held: flock /tmp/ktrail-bpf.lock node dist/scripts/soak.js`;

function parseOptions(argv: readonly string[]): Options {
  const o: Options = { minutes: 10, stallEvery: 60, stallSeconds: 5, bufferMib: 1, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    if (a === '--keep') {
      o.keep = true;
      continue;
    }
    const v = Number(argv[++i]);
    const positive = Number.isFinite(v) && v > 0;
    if (a === '--minutes' && positive) o.minutes = v;
    else if (a === '--stall-every' && positive) o.stallEvery = v;
    else if (a === '--stall-seconds' && positive) o.stallSeconds = v;
    else if (a === '--buffer-mib' && Number.isInteger(v) && v > 0 && (v & (v - 1)) === 0) o.bufferMib = v;
    else {
      console.error(`soak: bad flag or value: ${a} ${argv[i] ?? ''}\n${USAGE}`);
      process.exit(2);
    }
  }
  return o;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const say = (m: string) => console.log(`soak: ${m}`);

/** ktrail's BPF programs loaded now, by id (bpftool; names are cut to 15 characters). */
function ktrailPrograms(): Set<number> {
  const r = spawnSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bpftool prog show failed: ${r.stderr}`);
  const progs = JSON.parse(r.stdout) as { id: number; name?: string }[];
  return new Set(progs.filter((p) => /^(raw_tp__|tp_btf__|kt_)/.test(p.name ?? '')).map((p) => p.id));
}

/** The load generator: one mode per process, `rate` operations a second until SIGTERM; prints its count. */
const LOAD_PY = `
import ctypes, os, signal, socket, sys, time
mode, rate, arg = sys.argv[1], float(sys.argv[2]), sys.argv[3]
count = 0
def stop(*_):
    print(count, flush=True)
    os._exit(0)
signal.signal(signal.SIGTERM, stop)
libc = ctypes.CDLL(None, use_errno=True)
name = ctypes.create_string_buffer(b'ktrail_soak')   # written: an untouched page cannot be read from BPF
def storm():
    libc.syscall(176, name, 0)
def opens():
    os.close(os.open(arg, os.O_RDONLY))
def execs():
    pid = os.posix_spawn('/bin/true', ['/bin/true'], {})
    os.waitpid(pid, 0)
def connects():
    s = socket.socket()
    try:
        s.connect(('127.0.0.1', int(arg)))
    finally:
        s.close()
op = {'storm': storm, 'opens': opens, 'execs': execs, 'connects': connects}[mode]
if mode == 'storm' and rate == 0:
    for _ in range(int(arg)):
        op()
        count += 1
    stop()
per = max(1, int(rate / 100))
due = time.monotonic()
while True:
    for _ in range(per):
        op()
        count += 1
    due += per / rate
    lag = due - time.monotonic()
    if lag > 0:
        time.sleep(lag)
    else:
        due = time.monotonic()
`;

/** Stops one thread with ptrace for `seconds`, then detaches; the kernel detaches too if this process dies. */
const STALL_PY = `
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
tid = int(sys.argv[1])
for req in (0x4206, 0x4207):  # PTRACE_SEIZE, PTRACE_INTERRUPT
    if libc.ptrace(req, tid, None, None) != 0:
        sys.exit("ptrace: " + os.strerror(ctypes.get_errno()))
os.waitpid(tid, 0x40000000)  # __WALL
print("stopped", flush=True)
time.sleep(float(sys.argv[2]))
libc.ptrace(17, tid, None, None)  # PTRACE_DETACH
print("released", flush=True)
`;

interface Load {
  readonly mode: string;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  out: string;
  err: string;
}

class Soak {
  readonly children: ChildProcess[] = [];
  readonly loads: Load[] = [];
  readonly dir = mkdtempSync('/tmp/ktrail-soak-');
  ktrail: ChildProcess | undefined;
  readonly log: string[] = [];
  server: Server | undefined;

  constructor(readonly o: Options) {}

  spawnLoad(mode: string, rate: number, arg: string): Load {
    const child = spawn('python3', ['-c', LOAD_PY, mode, String(rate), arg], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.push(child);
    const load: Load = { mode, child, out: '', err: '', exited: once(child, 'exit').then(() => {}) };
    child.stdout!.on('data', (d: Buffer) => (load.out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (load.err += d.toString()));
    this.loads.push(load);
    return load;
  }

  /** Stops every process this soak started that still runs (by its pid), and waits for it. */
  async stopAll(): Promise<void> {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    const deadline = Date.now() + 10_000;
    for (const c of this.children) {
      while (c.exitCode === null && c.signalCode === null && Date.now() < deadline) await sleep(50);
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) await once(c, 'exit');
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  removeFiles(): void {
    if (!this.o.keep) rmSync(this.dir, { recursive: true, force: true });
  }
}

async function metrics(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
  return r.text();
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function rssKib(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

function pollerThread(pid: number): number {
  for (const t of readdirSync(`/proc/${pid}/task`))
    if (readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim() === 'ktrail-ring') return Number(t);
  throw new Error('ktrail has no ktrail-ring thread');
}

/** Stops the poller thread for `seconds`; resolves when it runs again. */
async function stall(soak: Soak, pid: number, seconds: number): Promise<void> {
  const child = spawn('python3', ['-c', STALL_PY, String(pollerThread(pid)), String(seconds)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  soak.children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await once(child, 'exit');
  if (!out.includes('released'))
    throw new Error(`could not stall the poller thread: ${err.trim() || out.trim()}`);
}

function preconditions(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (the soak loads BPF programs and ptraces a thread)');
  if (!existsSync(CLI)) missing.push(`${CLI} (run 'npm run setup')`);
  if (!existsSync(BPF_OBJECT)) missing.push(`${BPF_OBJECT} (run 'npm run setup')`);
  for (const tool of ['python3', 'bpftool'])
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) missing.push(tool);
  return missing;
}

async function run(o: Options): Promise<number> {
  const missing = preconditions();
  if (missing.length > 0) {
    console.error(`soak: cannot run, missing: ${missing.join('; ')}`);
    return 1;
  }
  const before = ktrailPrograms();
  const soak = new Soak(o);
  const stop = () => {
    say('interrupted: stopping what the soak started');
    void soak.stopAll().then(() => {
      soak.removeFiles();
      process.exit(1);
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    return await soakRun(soak, o, before);
  } finally {
    await soak.stopAll();
    soak.removeFiles();
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
}

async function soakRun(soak: Soak, o: Options, before: ReadonlySet<number>): Promise<number> {
  const failures: string[] = [];
  const file = join(soak.dir, 'events.json');
  const target = join(soak.dir, 'opened');
  writeFileSync(target, 'soak\n');

  // The TCP server the connect load talks to: accept and close.
  const server = createServer((s) => s.destroy());
  soak.server = server;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const tcpPort = (server.address() as { port: number }).port;
  const metricsPort = await freePort();

  const args = [
    CLI,
    '-e',
    SELECTED.join(','),
    '-o',
    `json:${file}`,
    '--buffer-size',
    String(o.bufferMib),
    '--stats-interval',
    '10',
    '--server',
    `http-address=127.0.0.1:${metricsPort}`,
    '--server',
    'metrics',
    '--log',
    'format=json',
  ];
  say(`ktrail ${args.slice(1).join(' ')}`);
  const k = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  soak.children.push(k);
  soak.ktrail = k;
  let partial = '';
  k.stderr!.on('data', (d: Buffer) => {
    const text = partial + d.toString();
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    soak.log.push(...lines);
  });
  const kExit = once(k, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const startWait = Date.now();
  while (!soak.log.some((l) => l.includes('"msg":"tracing '))) {
    if (k.exitCode !== null || Date.now() - startWait > 30_000) {
      console.error(`soak: ktrail did not start:\n${soak.log.join('\n')}`);
      return 1;
    }
    await sleep(50);
  }
  const pid = k.pid!;
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  const ours = [...ktrailPrograms()].filter((id) => !before.has(id));
  say(`ktrail runs (pid ${pid}, ${ours.length} BPF programs); load for ${o.minutes} min`);

  // Load.
  soak.spawnLoad('storm', 1500, '0');
  soak.spawnLoad('opens', 300, target);
  soak.spawnLoad('execs', 20, '0');
  soak.spawnLoad('connects', 100, String(tcpPort));

  // RSS samples.
  const rss: RssSample[] = [];
  const sampler = setInterval(() => {
    const kib = rssKib(pid);
    if (kib !== undefined) rss.push({ t: elapsed(), kib });
  }, SAMPLE_MS);
  const firstKib = rssKib(pid);
  if (firstKib !== undefined) rss.push({ t: 0, kib: firstKib });

  // Stalls, and a progress line every minute.
  const lostOf = (m: string) =>
    [...metricByEvent(m, 'ktrail_events_lost_total').values()].reduce((a, b) => a + b, 0);
  const stalls: { at: number; lost: number }[] = [];
  const end = o.minutes * 60;
  let nextStall = o.stallEvery / 2;
  let nextReport = 60;
  while (elapsed() < end) {
    if (k.exitCode !== null) {
      failures.push(`ktrail exited during the run (status ${k.exitCode})`);
      break;
    }
    const bad = soak.loads.find((l) => l.child.exitCode !== null);
    if (bad !== undefined) {
      failures.push(`the ${bad.mode} load stopped early: ${bad.err.trim()}`);
      break;
    }
    if (elapsed() >= nextStall && elapsed() + o.stallSeconds + 5 < end) {
      const lostBefore = lostOf(await metrics(metricsPort));
      const at = elapsed();
      await stall(soak, pid, o.stallSeconds);
      await sleep(1000);
      const lost = lostOf(await metrics(metricsPort)) - lostBefore;
      stalls.push({ at, lost });
      say(`stalled the poller at ${at.toFixed(0)} s for ${o.stallSeconds} s: ${lost} records lost`);
      nextStall += o.stallEvery;
    }
    if (elapsed() >= nextReport) {
      const last = rss.at(-1);
      const m = await metrics(metricsPort);
      const heap = (metricValue(m, 'nodejs_heap_size_used_bytes') ?? 0) / 2 ** 20;
      const external = (metricValue(m, 'nodejs_external_memory_bytes') ?? 0) / 2 ** 20;
      say(
        `${(elapsed() / 60).toFixed(1)} min: RSS ${last === undefined ? '?' : (last.kib / 1024).toFixed(1)} MiB ` +
          `(JS heap ${heap.toFixed(1)} MiB, external ${external.toFixed(1)} MiB), ` +
          `output ${(statSync(file).size / 2 ** 20).toFixed(0)} MiB, lost so far ${lostOf(m)}`,
      );
      nextReport += 60;
    }
    await sleep(200);
  }
  const duration = elapsed();
  clearInterval(sampler);

  // Stop the load; after a quiet moment, a few more delete_module calls, so that every loss lies below the
  // highest seq printed; then stop ktrail.
  for (const l of soak.loads) l.child.kill('SIGTERM');
  await Promise.all(soak.loads.map((l) => l.exited));
  const counts = new Map(soak.loads.map((l) => [l.mode, Number(l.out.trim())]));
  await sleep(3000);
  const SENTINEL = 20;
  const sentinel = spawnSync('python3', ['-c', LOAD_PY, 'storm', '0', String(SENTINEL)], {
    encoding: 'utf8',
  });
  if (Number(sentinel.stdout.trim()) !== SENTINEL)
    failures.push(`the final delete_module calls failed: ${sentinel.stderr}`);
  await sleep(3000);
  const finalMetrics = await metrics(metricsPort);
  k.kill('SIGINT');
  const stopDeadline = setTimeout(() => k.kill('SIGKILL'), 60_000);
  const [code, signal] = await kExit;
  clearTimeout(stopDeadline);
  if (partial !== '') soak.log.push(partial);
  if (code !== 0) failures.push(`ktrail exited with ${code ?? signal} (want 0)`);
  writeFileSync(join(soak.dir, 'ktrail.log'), `${soak.log.join('\n')}\n`);
  writeFileSync(
    join(soak.dir, 'rss.tsv'),
    `seconds\tkib\n${rss.map((s) => `${s.t.toFixed(1)}\t${s.kib}`).join('\n')}\n`,
  );

  // Read the output.
  const seqs = new SeqTracker();
  const lostRecords: { total: bigint; lost: ReadonlyMap<string, bigint> }[] = [];
  let lines = 0;
  let other = 0;
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (line === '') continue;
    lines++;
    const r = readOutputLine(line);
    if (r.kind === 'event') seqs.add(r.seq);
    else if (r.kind === 'lost') lostRecords.push(r);
    else other++;
  }
  const outputBytes = statSync(file).size;

  // The checks.
  const summary = readSummary(soak.log);
  // The growth comparison starts once the first stall has drained (start-up and the first overflow behind).
  const warmup = o.stallEvery / 2 + o.stallSeconds + 10;
  const verdict = judgeRss(rss, RSS_CAP_MIB, RSS_GROWTH, warmup);
  if (!verdict.bounded) failures.push(`RSS not bounded: ${verdict.why}`);
  if (summary === undefined) failures.push('no summary line from ktrail');
  const lostBy = summary?.lostByEvent ?? new Map<string, bigint>();
  let lostPrinted = 0n;
  let lostInternal = 0n;
  for (const [name, n] of lostBy) {
    if (SELECTED.includes(name)) lostPrinted += n;
    else lostInternal += n;
  }
  const unprinted = metricValue(finalMetrics, 'ktrail_events_unprinted_total') ?? Number.NaN;
  const userFiltered = summary?.userFiltered ?? Number.NaN;
  const expectedGaps = Number(lostPrinted) + userFiltered + unprinted;
  if (seqs.duplicates > 0) failures.push(`${seqs.duplicates} seq numbers appear twice`);
  if (seqs.zero > 0) failures.push(`${seqs.zero} printed events have no seq`);
  if (other > 0) failures.push(`${other} output lines are neither events nor lost_events records`);
  if (summary !== undefined && seqs.count !== summary.events)
    failures.push(`${seqs.count} events in the file, the summary says ${summary.events}`);
  if (seqs.gaps() !== expectedGaps)
    failures.push(
      `${seqs.gaps()} seq gaps, but ${lostPrinted} lost + ${userFiltered} filtered in userspace + ${unprinted} unprinted = ${expectedGaps}`,
    );
  if (lostPrinted === 0n)
    failures.push('the stalls lost no record of a printed event: the loss accounting was not tested');
  failures.push(...checkLostRecords(lostRecords));
  const lastRecord = lostRecords.at(-1)?.lost ?? new Map<string, bigint>();
  if (showCounts(lastRecord) !== showCounts(lostBy))
    failures.push(
      `the last lost_events record (${showCounts(lastRecord)}) differs from the summary (${showCounts(lostBy)})`,
    );
  const metricLost = metricByEvent(finalMetrics, 'ktrail_events_lost_total');
  if (showCounts(metricLost) !== showCounts(lostBy))
    failures.push(
      `/metrics lost (${showCounts(metricLost)}) differs from the summary (${showCounts(lostBy)})`,
    );
  const submittedDm = metricByEvent(finalMetrics, 'ktrail_events_submitted_total').get('delete_module') ?? 0;
  const lostDm = metricLost.get('delete_module') ?? 0;
  const calls = (counts.get('storm') ?? 0) + SENTINEL;
  if (submittedDm + lostDm !== calls)
    failures.push(
      `delete_module: ${calls} calls made, ${submittedDm} submitted + ${lostDm} lost = ${submittedDm + lostDm}`,
    );
  if ((summary?.undecodable ?? 0) > 0) failures.push(`${summary?.undecodable} undecodable records`);
  if ((summary?.dropped ?? 0) > 0) failures.push(`the outputs dropped ${summary?.dropped} lines`);

  // Clean-up checks: ktrail's programs gone, every process of ours ended (the temporary files go in run()).
  let left = [...ktrailPrograms()].filter((id) => !before.has(id));
  for (let i = 0; i < 50 && left.length > 0; i++) {
    await sleep(100);
    left = [...ktrailPrograms()].filter((id) => !before.has(id));
  }
  if (left.length > 0) failures.push(`BPF programs left after ktrail exited: ids ${left.join(', ')}`);

  // The report.
  const mib = (b: number) => (b / 2 ** 20).toFixed(0);
  console.log(
    [
      '',
      `soak: ${(duration / 60).toFixed(1)} min of load, ${stalls.length} stalls of ${o.stallSeconds} s every ${o.stallEvery} s, ring ${o.bufferMib} MiB`,
      `  load: ${[...counts].map(([m, n]) => `${m} ${n}`).join(', ')} (+${SENTINEL} final delete_module calls)`,
      `  output: ${lines} lines (${mib(outputBytes)} MiB), ${seqs.count} events, highest seq ${seqs.max}, ${lostRecords.length} lost_events records`,
      `  RSS: max ${verdict.maxMiB} MiB (cap ${RSS_CAP_MIB}); after ${warmup} s, first third max ${verdict.firstThirdMaxMiB} MiB, last third max ${verdict.lastThirdMaxMiB} MiB; ${rss.length} samples: ${verdict.bounded ? 'bounded' : 'NOT bounded'}`,
      `  losses per stall: ${stalls.map((s) => `${s.at.toFixed(0)} s: ${s.lost}`).join(', ') || 'none'}`,
      `  lost, printed events: ${showCounts(new Map([...lostBy].filter(([n]) => SELECTED.includes(n)))) || '0'} = ${lostPrinted}`,
      `  lost, process-tree records (no seq): ${showCounts(new Map([...lostBy].filter(([n]) => !SELECTED.includes(n)))) || '0'} = ${lostInternal}`,
      `  seq gaps ${seqs.gaps()} = lost ${lostPrinted} + filtered in userspace ${userFiltered} + unprinted ${unprinted}; duplicates ${seqs.duplicates}`,
      `  delete_module: ${calls} calls = ${submittedDm} submitted + ${lostDm} lost`,
      `  ktrail exit status ${code ?? signal}; BPF programs left: ${left.length}`,
      failures.length === 0 ? 'soak: PASS' : `soak: FAIL\n${failures.map((f) => `  - ${f}`).join('\n')}`,
      o.keep ? `  kept: ${soak.dir}` : '',
    ].join('\n'),
  );
  return failures.length === 0 ? 0 : 1;
}

run(parseOptions(process.argv.slice(2))).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(`soak: failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  },
);
