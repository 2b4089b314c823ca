/**
 * The main job: trace the selected events live. Steps: read the config file and every flag, plan the trace
 * (nothing touches the kernel before all of it is valid), open the outputs, start the HTTP server, start the
 * capture with the pipeline (src/pipeline) as its batch consumer and the heartbeat, then run until a signal.
 *
 * Signals (README: Signals and exit status):
 *   SIGINT, SIGTERM, SIGPIPE, or standard output's reader gone: stop. Detach, drain the ring, let the
 *     queued outputs deliver for up to STOP_DRAIN_MS, print the summary, exit 0.
 *   a second stop signal: the outputs' queues are dropped (counted) at once; summary, exit 130.
 *   SIGHUP: reopen the output files and reload the policy files and signature directories; an invalid new
 *     set is reported and the old one keeps running.
 * The command wires; the library modules do the work.
 */

import { readFileSync } from 'node:fs';
import { requireCapabilities } from '../../capture/capabilities.js';
import type { NetStats } from '../../capture/config.js';
import { type Capture, lostByName, openCapture } from '../../capture/session.js';
import { eventById } from '../../catalog/index.js';
import { NET_L7_SNAP } from '../../catalog/net-events.js';
import { loadConfig, mergeConfig } from '../../config/config.js';
import { checkFactFilters, parseContainerOptions } from '../../containers/options.js';
import { openRuntimes, type RuntimeClient, RuntimeError } from '../../containers/runtimes/index.js';
import { ContainerStore, chooseHierarchy } from '../../containers/store.js';
import { createEnricher } from '../../enrich/index.js';
import { KtrailError } from '../../errors.js';
import { Logger, parseLogOptions } from '../../log.js';
import { loadNative } from '../../native/binding.js';
import { openOutputs } from '../../output/open.js';
import { planOutput } from '../../output/plan.js';
import type { Sink } from '../../output/sink.js';
import { Pipeline } from '../../pipeline/pipeline.js';
import { planTrace, type TracePlan, traceRequestFrom } from '../../pipeline/plan.js';
import { applyPlan } from '../../pipeline/reload.js';
import { Heartbeat } from '../../server/heartbeat.js';
import { type RunningServer, startServer } from '../../server/http.js';
import { planServer } from '../../server/options.js';
import type { ParsedArgs } from '../args.js';
import type { Io } from '../main.js';

/** How long queued outputs (a pipe, a webhook, NATS) may take to deliver at stop. */
export const STOP_DRAIN_MS = 5000;
/** Exit status after a second stop signal cut the drain short (128 + SIGINT, as shells report it). */
export const FORCED_EXIT = 130;

function parseSeconds(v: string | undefined, flag: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    throw new KtrailError('USAGE', `--${flag} '${v}': not a number of seconds`, {
      hint: `e.g. --${flag} 10`,
    });
  }
  return n;
}

function parseRingMiB(v: string | undefined): number {
  if (v === undefined) return 8 << 20;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1024 || (n & (n - 1)) !== 0) {
    throw new KtrailError('USAGE', `--buffer-size '${v}': not a power of two between 1 and 1024 (MiB)`, {
      hint: 'e.g. --buffer-size 16',
    });
  }
  return n << 20;
}

const listLost = (lost: ReadonlyMap<string, bigint>) => [...lost].map(([n, v]) => `${n} ${v}`).join(', ');

/** Outputs that dropped lines so far, as `name N, name N`; '' when none did. */
function listDropped(sinks: readonly Sink[]): string {
  return sinks
    .flatMap((s) => {
      const n = s.stats?.().dropped ?? 0;
      return n > 0 ? [`${s.name ?? 'output'} ${n}`] : [];
    })
    .join(', ');
}

/** The cgroup hierarchy containers are keyed on (--containers cgroupfs.path, cgroupfs.force). */
function keyedHierarchy(path: string | undefined, force: boolean): ReturnType<typeof chooseHierarchy> {
  let mountinfo = '';
  let cgroups = '';
  try {
    mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
    cgroups = readFileSync('/proc/cgroups', 'utf8');
  } catch {
    // No /proc: containers are not keyed (ids still come from /proc/PID/cgroup where it exists).
  }
  const auto = chooseHierarchy(mountinfo, cgroups);
  if (path === undefined) return auto;
  const chosen = chooseHierarchy(mountinfo, cgroups, path);
  if (chosen.mount === undefined || chosen.hierarchy < 0) {
    throw new KtrailError(
      'USAGE',
      `--containers cgroupfs.path=${path}: no cgroup file system is mounted there`,
      {
        hint: 'give the mount point of cgroup2 or of a cgroup v1 hierarchy (see /proc/self/mountinfo)',
      },
    );
  }
  if (chosen.hierarchy !== 0 && auto.hierarchy === 0 && !force) {
    throw new KtrailError(
      'USAGE',
      `--containers cgroupfs.path=${path}: a cgroup v1 hierarchy, while cgroup v2 is mounted at ${auto.mount}`,
      { hint: 'add cgroupfs.force=true to key containers on it anyway' },
    );
  }
  return chosen;
}

/** The runtime clients for `--containers sockets.*` (or the default sockets that exist); a bad one is exit 2. */
function openRuntimesOrSay(sockets: Parameters<typeof openRuntimes>[0]): RuntimeClient[] {
  try {
    return openRuntimes(sockets);
  } catch (e) {
    if (!(e instanceof RuntimeError)) throw e;
    throw new KtrailError('USAGE', `--containers: ${e.message}`, {
      hint: 'give the path of the runtime socket, e.g. --containers sockets.docker=/var/run/docker.sock',
    });
  }
}

const printedCount = (p: TracePlan) => p.available.length;

const listCounts = (m: ReadonlyMap<string, number>) => [...m].map(([n, v]) => `${n} ${v}`).join(', ');

/** The summary's network part: packets not reported or not kept whole, events cut or not derived. */
export function netSummary(
  net: NetStats | undefined,
  truncated: ReadonlyMap<string, number>,
  malformed: ReadonlyMap<string, number>,
): string {
  let out = '';
  if (net !== undefined) {
    const un = net.unattributedIngress + net.unattributedEgress;
    if (un > 0n)
      out += `, ${un} packets of sockets no task was seen using (${net.unattributedIngress} in, ${net.unattributedEgress} out)`;
    if (net.truncated > 0n)
      out += `, ${net.truncated} DNS/HTTP packets longer than the ${NET_L7_SNAP} bytes kept`;
    if (net.busy > 0n) out += `, ${net.busy} packets not reported (record areas busy)`;
  }
  if (truncated.size > 0) out += `, network events cut short: ${listCounts(truncated)}`;
  if (malformed.size > 0) out += `, packets that did not parse: ${listCounts(malformed)}`;
  return out;
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The arguments with `--config FILE` merged under them (flags win). */
export function withConfig(args: ParsedArgs): ParsedArgs {
  const file = args.values.get('config')?.[0];
  return file === undefined ? args : mergeConfig(args, loadConfig(file));
}

export async function runTrace(given: ParsedArgs, io: Io): Promise<number> {
  const args = withConfig(given);
  const log = new Logger(
    parseLogOptions([...(args.values.get('log') ?? []), ...(args.values.get('logging') ?? [])]),
    io.err,
  );
  try {
    return await trace(args, log);
  } catch (e) {
    if (!(e instanceof KtrailError)) throw e;
    log.failure(e);
    return e.exitCode;
  }
}

async function trace(args: ParsedArgs, log: Logger): Promise<number> {
  // 1. Validate and plan: nothing touches the kernel before every flag and file is known good.
  const output = planOutput(args.values.get('output') ?? []);
  const server = planServer({
    server: args.values.get('server'),
    metrics: args.flags.has('metrics'),
    healthz: args.flags.has('healthz'),
    httpListenAddr: args.values.get('http-listen-addr')?.[0],
  });
  const ringBytes = parseRingMiB(args.values.get('buffer-size')?.[0]);
  const statsEvery = parseSeconds(args.values.get('stats-interval')?.[0], 'stats-interval', 10);
  const request = traceRequestFrom(args.values);
  let plan: TracePlan = await planTrace(request);
  for (const n of plan.notices) log.warn(n);
  if (plan.traced.length + plan.derived.length === 0) {
    throw new KtrailError(
      'KERNEL_FEATURE_MISSING',
      'starting the capture: none of the selected events can be traced here',
      { hint: 'pick syscall events, e.g. -e delete_module' },
    );
  }
  // Root, or the capabilities alone (CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE): named here when one is missing.
  requireCapabilities();
  // Containers: the hierarchy they are keyed on and the runtimes to ask (a socket given must exist).
  const containerOpts = parseContainerOptions(args.values.get('containers') ?? []);
  const keyed = keyedHierarchy(containerOpts.cgroupfsPath, containerOpts.cgroupfsForce);
  const runtimes = containerOpts.enrich ? openRuntimesOrSay(containerOpts.sockets) : [];
  checkFactFilters(plan.compiled, runtimes.length, containerOpts);

  // Signals are ours from here on (before anything is opened): a stop requested while starting ends the run
  // as soon as it has started; SIGHUP before the run is ignored rather than fatal.
  let stopReason: string | undefined;
  let resolveStop: (reason: string) => void = () => {};
  const stopped = new Promise<string>((r) => (resolveStop = r));
  const force = new AbortController();
  const requestStop = (reason: string) => {
    if (stopReason === undefined) {
      stopReason = reason;
      resolveStop(reason);
    } else if (!force.signal.aborted) {
      log.warn(`${reason} again: dropping what the outputs still queue and exiting`);
      force.abort();
    }
  };
  let onReload: (() => void) | undefined;
  const onSigint = () => requestStop('SIGINT');
  const onSigterm = () => requestStop('SIGTERM');
  // Node ignores SIGPIPE; with a handler a write to a closed pipe or socket raises it. A closed standard
  // output stops ktrail through its own EPIPE (onStdoutClosed); a network peer that went away is its
  // output's business (it retries), so SIGPIPE itself never stops the tracer.
  const onSigpipe = () => log.debug('SIGPIPE: a pipe or socket output lost its reader');
  const onSighup = () => {
    if (onReload !== undefined) onReload();
    else log.info('SIGHUP before tracing started: ignored');
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  process.on('SIGPIPE', onSigpipe);
  process.on('SIGHUP', onSighup);
  try {
    return await run();
  } finally {
    process.removeListener('SIGINT', onSigint);
    process.removeListener('SIGTERM', onSigterm);
    process.removeListener('SIGPIPE', onSigpipe);
    process.removeListener('SIGHUP', onSighup);
  }

  async function run(): Promise<number> {
    // 2. The process tree, the pipeline, the outputs, the server: all before the capture, so that a failure
    // attaches nothing.
    const native = loadNative();
    const clocks = native.clocks();
    const bootToEpochNs = clocks.realtime - clocks.boottime;
    const enricher = createEnricher({ bootToEpochNs });
    const heartbeat = new Heartbeat({ now: () => native.clocks().boottime, bootToEpochNs });
    heartbeat.numbered = plan.heartbeatPrinted;
    let cap: Capture | undefined;
    let errors = 0;
    const reloads = { ok: 0, failed: 0 };
    let outputs: Awaited<ReturnType<typeof openOutputs>>;
    try {
      outputs = await openOutputs(output, {
        policyNames: plan.compiled.policies.map((p) => p.name),
        ancestors: (ev, depth) => enricher.tree.ancestry(ev.hostProcessId, depth),
        onStdoutClosed: () => requestStop('stdout closed'),
        report: (level, m) => log.log(level, m),
      });
    } catch (e) {
      enricher.close();
      throw e;
    }
    const { printers, sinks } = outputs;
    const closeSinks = (signal: AbortSignal) => Promise.all(sinks.map((s) => s.close(signal)));
    let settled: (id: string) => void = () => {};
    const store = new ContainerStore({
      runtimes,
      hierarchy: keyed.hierarchy,
      mount: keyed.mount,
      onSettled: (id) => settled(id),
      onError: (runtime, id, e) => log.debug(`${runtime}: container ${id.slice(0, 12)}: ${errorText(e)}`),
    });
    const closeContainers = () => {
      store.close();
      for (const r of runtimes) r.close();
    };
    const pipe = new Pipeline({
      policies: plan.compiled,
      printed: new Set(plan.printed.map((e) => e.id)),
      rules: plan.rules,
      enabled: plan.enabled,
      printers,
      bootToEpochNs,
      startedAtNs: clocks.realtime,
      enricher,
      onHeartbeat: (ev) => heartbeat.receive(ev),
      containers: store,
      onRuleError: (rule, _ev, e) => {
        errors++;
        log.warn(`rule ${rule.id} failed on an event: ${errorText(e)}`);
      },
    });
    settled = (id) => pipe.containersSettled(id);
    let http: RunningServer | undefined;
    try {
      if (server !== undefined) {
        // prom-client is loaded only when /metrics is served (about 55 ms of start-up).
        const { createMetrics } = server.metrics
          ? await import('../../server/metrics.js')
          : { createMetrics: undefined };
        http = await startServer(server, {
          ...(createMetrics !== undefined
            ? {
                metrics: createMetrics({
                  pipeline: () => pipe.stats(),
                  capture: () => cap?.stats() ?? { events: new Map(), batches: 0, bytes: 0 },
                  ring: () => cap?.ringFill() ?? { used: 0, size: ringBytes },
                  outputs: () =>
                    sinks.flatMap((s) => (s.stats ? [{ name: s.name ?? 'output', stats: s.stats() }] : [])),
                  heartbeat: () => heartbeat.stats(),
                  health: () => heartbeat.health(),
                  now: () => native.clocks().boottime,
                  eventName: (id) => eventById(id)?.name ?? String(id),
                  rules: () => pipe.rules.length,
                  errors: () => errors,
                  reloads: () => reloads,
                  containers: () => store.stats(),
                  net: () => cap?.netStats(),
                }),
              }
            : {}),
          ...(server.healthz ? { health: () => heartbeat.health() } : {}),
        });
      }
      // 3. The capture that feeds the pipeline.
      cap = await openCapture({
        events: plan.traced,
        // The kernel drops what no policy can match; rules read their events whenever a scope matches.
        kernelPlan: plan.compiled.kernel,
        scopeOnlyEvents: [...plan.ruleEventIds],
        startBootNs: clocks.boottime,
        // The process tree lives on lifecycle records (and reloads may select lifecycle events), the
        // container state on cgroup records.
        processTree: true,
        containers: true,
        ringBytes,
        onBatch: (batch) => pipe.push(batch),
        onError: (e) => {
          errors++;
          log.error(e.message);
        },
      });
    } catch (e) {
      await http?.close();
      closeContainers();
      enricher.close();
      await closeSinks(AbortSignal.abort());
      throw e;
    }
    const capture = cap;

    // 4. Run: the heartbeat, loss and drop reports, reloads, until a stop.
    let generation = 0;
    let reloading: Promise<void> | undefined;
    let again = false;
    const reloadOnce = async () => {
      const started = performance.now();
      let next: TracePlan;
      try {
        next = await planTrace({ ...request, generation: ++generation });
        if (next.traced.length + next.derived.length === 0)
          throw new KtrailError('USAGE', 'none of the newly selected events can be traced here');
      } catch (e) {
        reloads.failed++;
        log.error(`reload failed: ${errorText(e)}; the previous policies keep running`);
        return;
      }
      for (const n of next.notices) log.warn(n);
      try {
        await applyPlan({ capture, pipeline: pipe, heartbeat }, plan, next);
      } catch (e) {
        reloads.failed++;
        if (stopReason === undefined)
          log.error(
            `reload failed while switching: ${errorText(e)}; the kernel passes every event of both sets`,
          );
        return;
      }
      plan = next;
      reloads.ok++;
      const n = printedCount(next);
      const np = next.compiled.policies.length;
      log.info(
        `reloaded: ${np} polic${np === 1 ? 'y' : 'ies'}, ${n} event${n === 1 ? '' : 's'}, ` +
          `${pipe.rules.length} rule${pipe.rules.length === 1 ? '' : 's'} ` +
          `(switched in ${(performance.now() - started).toFixed(0)} ms)`,
        { policies: np, events: n, rules: pipe.rules.length },
      );
    };
    onReload = () => {
      if (stopReason !== undefined) return;
      log.info('SIGHUP: reopening output files, reloading policies and signatures');
      for (const s of sinks) {
        try {
          s.reopen?.();
        } catch (e) {
          log.error(`${errorText(e)}; writing on to the file already open`);
        }
      }
      if (reloading !== undefined) {
        again = true;
        return;
      }
      reloading = (async () => {
        do {
          again = false;
          await reloadOnce();
        } while (again && stopReason === undefined);
      })().finally(() => {
        reloading = undefined;
      });
    };

    for (const p of printers) p.start();
    heartbeat.start();
    const nRules = pipe.rules.length;
    const nEvents = printedCount(plan);
    const host = http?.address.host ?? '';
    const where =
      http === undefined
        ? ''
        : `; serving ${server!.metrics ? '/metrics ' : ''}${server!.healthz ? '/healthz ' : ''}on ` +
          `${host.includes(':') ? `[${host}]` : host}:${http.address.port}`;
    log.info(
      `tracing ${nEvents} event${nEvents === 1 ? '' : 's'}` +
        `${nRules > 0 ? ` and ${nRules} detection rule${nRules === 1 ? '' : 's'}` : ''} (started in ${capture.startupMs.toFixed(0)} ms)${where}; Ctrl-C stops`,
      { events: nEvents, rules: nRules, startupMs: Math.round(capture.startupMs) },
    );

    let lastDropped = '';
    const timer =
      statsEvery > 0
        ? setInterval(() => {
            const lost = lostByName(capture.stats());
            if (pipe.reportLoss(lost, native.clocks().realtime))
              log.warn(`lost events so far: ${listLost(lost)}`);
            const dropped = listDropped(sinks);
            if (dropped !== lastDropped) log.warn(`outputs dropped so far: ${dropped}`);
            lastDropped = dropped;
          }, statsEvery * 1000)
        : undefined;

    const reason = await stopped;
    if (timer) clearInterval(timer);
    heartbeat.stop();
    if (reloading !== undefined) await reloading;

    // 5. Stop: take the counters while the maps exist, drain the ring, let the outputs deliver, summarise.
    const lost = lostByName(capture.stats());
    pipe.reportLoss(lost, native.clocks().realtime, true);
    let kernelFiltered = 0n;
    for (const s of capture.stats().events.values()) kernelFiltered += s.filtered;
    const net = capture.netStats();
    await capture.close();
    // Events still waiting for a container runtime's answer go on (a bounded wait) before the outputs close.
    await pipe.drain();
    closeContainers();
    enricher.close();
    const deadline = AbortSignal.any([force.signal, AbortSignal.timeout(STOP_DRAIN_MS)]);
    await closeSinks(deadline);
    await http?.close();
    const st = pipe.stats();
    let lostTotal = 0n;
    for (const v of lost.values()) lostTotal += v;
    const decodeErrors = Object.values(st.decodeErrors).reduce((a, b) => a + b, 0);
    const dropped = listDropped(sinks);
    let droppedTotal = 0;
    for (const s of sinks) droppedTotal += s.stats?.().dropped ?? 0;
    log.info(
      `${reason}: ${st.printed} events, ${lostTotal} lost` +
        (lost.size > 0 ? ` (${listLost(lost)})` : '') +
        (kernelFiltered > 0n ? `, ${kernelFiltered} filtered in the kernel` : '') +
        (st.filtered > 0 ? `, ${st.filtered} filtered out in userspace` : '') +
        (st.findings > 0 ? `, ${st.findings} findings` : '') +
        (decodeErrors > 0 ? `, ${decodeErrors} undecodable records` : '') +
        (dropped !== '' ? `, dropped by outputs: ${dropped}` : '') +
        (reloads.ok + reloads.failed > 0 ? `, ${reloads.ok} reloads (${reloads.failed} failed)` : '') +
        (st.containerFactsMissing > 0
          ? `, ${st.containerFactsMissing} container events without runtime facts`
          : '') +
        netSummary(net, st.netTruncated, st.netMalformed),
      {
        reason,
        events: st.printed,
        lost: lostTotal,
        kernelFiltered,
        userFiltered: st.filtered,
        findings: st.findings,
        undecodable: decodeErrors,
        dropped: droppedTotal,
      },
    );
    return force.signal.aborted ? FORCED_EXIT : 0;
  }
}
