/**
 * The main job: trace the selected events live. Steps: validate every input and plan the trace (nothing
 * touches the kernel before all of it is valid), open the outputs, start the capture with the pipeline
 * (src/pipeline) as its batch consumer, report losses as they happen, and on SIGINT/SIGTERM detach, drain,
 * print a summary and exit 0.
 */

import { requireCapabilities } from '../../capture/capabilities.js';
import { type Capture, lostByName, openCapture } from '../../capture/session.js';
import { createEnricher } from '../../enrich/index.js';
import { KtrailError } from '../../errors.js';
import { loadNative } from '../../native/binding.js';
import { planOutput } from '../../output/plan.js';
import { jsonPrinter, type Printer, tablePrinter } from '../../output/printer.js';
import { openFileSink, type Sink, stdoutSink } from '../../output/sink.js';
import { Pipeline } from '../../pipeline/pipeline.js';
import { planTrace } from '../../pipeline/plan.js';
import type { ParsedArgs } from '../args.js';
import type { Io } from '../main.js';

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

export async function runTrace(args: ParsedArgs, io: Io): Promise<number> {
  // 1. Validate and plan: nothing touches the kernel before every flag and file is known good.
  const output = planOutput(args.values.get('output') ?? []);
  const ringBytes = parseRingMiB(args.values.get('buffer-size')?.[0]);
  const statsEvery = parseSeconds(args.values.get('stats-interval')?.[0], 'stats-interval', 10);
  const plan = await planTrace({
    events: args.values.get('events'),
    scope: args.values.get('scope'),
    policies: args.values.get('policy'),
    signatureDirs: args.values.get('signatures-dir'),
  });
  for (const n of plan.notices) io.err(`ktrail: ${n}`);
  if (plan.traced.length === 0) {
    throw new KtrailError(
      'KERNEL_FEATURE_MISSING',
      'starting the capture: none of the selected events can be traced here',
      { hint: 'pick syscall events, e.g. -e delete_module' },
    );
  }
  // Root, or the capabilities alone (CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE): named here when one is missing.
  requireCapabilities();

  // 2. The process tree (executable paths, ancestry, follow, prev_comm), then the outputs: every JSON
  // destination shares one rendering; each table has its own.
  const native = loadNative();
  const clocks = native.clocks();
  const bootToEpochNs = clocks.realtime - clocks.boottime;
  const enricher = createEnricher({ bootToEpochNs });
  const sinks: Sink[] = [];
  const closeSinks = () => {
    for (const s of sinks) s.close();
  };
  const printers: Printer[] = [];
  try {
    const json: Sink[] = [];
    for (const p of output.printers) {
      const sink = p.path === undefined ? stdoutSink() : openFileSink(p.path);
      sinks.push(sink);
      if (p.format === 'json') json.push(sink);
      else printers.push(tablePrinter(sink, output.parseArguments));
    }
    if (json.length > 0) {
      const ancestry = output.ancestry;
      printers.unshift(
        jsonPrinter(json, {
          parseArguments: output.parseArguments,
          policyNames: plan.compiled.policies.map((p) => p.name),
          ...(ancestry > 0 ? { ancestors: (ev) => enricher.tree.ancestry(ev.hostProcessId, ancestry) } : {}),
        }),
      );
    }
  } catch (e) {
    closeSinks();
    enricher.close();
    throw e;
  }

  // 3. The pipeline, then the capture that feeds it.
  const pipeline = new Pipeline({
    policies: plan.compiled,
    printed: new Set(plan.printed.map((e) => e.id)),
    rules: plan.rules,
    enabled: plan.enabled,
    printers,
    bootToEpochNs,
    startedAtNs: clocks.realtime,
    enricher,
  });
  let cap: Capture;
  try {
    cap = await openCapture({
      events: plan.traced,
      // The kernel drops what no policy can match; rules read their events whenever a scope matches.
      kernelPlan: plan.compiled.kernel,
      scopeOnlyEvents: [...plan.ruleEventIds],
      startBootNs: clocks.boottime,
      // The process tree lives on lifecycle records.
      processTree: true,
      ringBytes,
      onBatch: (batch) => pipeline.push(batch),
      onError: (e) => io.err(`ktrail: ${e.message}`),
    });
  } catch (e) {
    enricher.close();
    closeSinks();
    throw e;
  }
  for (const p of printers) p.start();
  const nRules = pipeline.rules.length;
  const nEvents = plan.traced.length - plan.internal.length;
  io.err(
    `ktrail: tracing ${nEvents} event${nEvents === 1 ? '' : 's'}` +
      `${nRules > 0 ? ` and ${nRules} detection rule${nRules === 1 ? '' : 's'}` : ''} (started in ${cap.startupMs.toFixed(0)} ms); Ctrl-C stops`,
  );

  // 4. Run until a signal; report loss as it happens.
  const timer =
    statsEvery > 0
      ? setInterval(() => {
          const lost = lostByName(cap.stats());
          if (pipeline.reportLoss(lost, native.clocks().realtime))
            io.err(`ktrail: lost events so far: ${listLost(lost)}`);
        }, statsEvery * 1000)
      : undefined;
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  if (timer) clearInterval(timer);

  // 5. Stop: take the counters while the maps exist, drain, summarise.
  const lost = lostByName(cap.stats());
  pipeline.reportLoss(lost, native.clocks().realtime, true);
  let kernelFiltered = 0n;
  for (const s of cap.stats().events.values()) kernelFiltered += s.filtered;
  await cap.close();
  enricher.close();
  closeSinks();
  const st = pipeline.stats();
  let lostTotal = 0n;
  for (const v of lost.values()) lostTotal += v;
  const decodeErrors = Object.values(st.decodeErrors).reduce((a, b) => a + b, 0);
  io.err(
    `ktrail: ${signal}: ${st.printed} events, ${lostTotal} lost` +
      (lost.size > 0 ? ` (${listLost(lost)})` : '') +
      (kernelFiltered > 0n ? `, ${kernelFiltered} filtered in the kernel` : '') +
      (st.filtered > 0 ? `, ${st.filtered} filtered out in userspace` : '') +
      (st.findings > 0 ? `, ${st.findings} findings` : '') +
      (decodeErrors > 0 ? `, ${decodeErrors} undecodable records` : ''),
  );
  return 0;
}
