/**
 * The main job: trace the selected events live. Steps: validate every input (nothing touches the kernel before
 * all of it is valid), decide which events this kernel and this build can capture (naming the rest once), open
 * the outputs, start the capture, print batches as they come, and on SIGINT/SIGTERM detach, drain, print a
 * summary and exit 0.
 */

import { type Capture, openCapture } from '../../capture/session.js';
import {
  catalog,
  DEFAULT_SET,
  eventById,
  eventByName,
  eventsInSet,
  setNames,
  suggestEventName,
} from '../../catalog/index.js';
import type { EventSpec } from '../../catalog/types.js';
import { Decoder } from '../../decode/decode.js';
import type { TraceEvent } from '../../decode/event.js';
import { KtrailError } from '../../errors.js';
import { loadNative } from '../../native/binding.js';
import { formatJson } from '../../output/json.js';
import { planOutput } from '../../output/plan.js';
import { openFileSink, type Sink, stdoutSink } from '../../output/sink.js';
import { formatTableRow, TABLE_HEADER } from '../../output/table.js';
import { selectEvents } from '../../policy/select.js';
import type { ParsedArgs } from '../args.js';
import type { Io } from '../main.js';

/**
 * ktrail's default set: Tracee's default events plus the module syscalls (delete_module included), a deliberate
 * difference from Tracee documented in README.md.
 */
export function ktrailDefaultNames(): string[] {
  const names = new Set(DEFAULT_SET.filter((n) => eventByName(n) !== undefined));
  for (const e of eventsInSet('system_module')) names.add(e.name);
  return [...names];
}

/** Why this build cannot capture an event, or undefined when it can. */
export function unavailableReason(e: EventSpec): string | undefined {
  if (e.syscall) return undefined;
  const needs = e.probes.map((p) => p.needs).filter((n): n is string => n !== undefined);
  if (needs.length > 0) return `needs ${[...new Set(needs)].join(', ')}`;
  return 'not captured by this build yet';
}

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

interface Totals {
  events: number;
  lost: Map<string, bigint>;
}

function lostByName(cap: Capture): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const [id, s] of cap.stats().events)
    if (s.lost > 0n) out.set(eventById(id)?.name ?? String(id), s.lost);
  return out;
}

function lostJson(epochNs: bigint, lost: Map<string, bigint>): string {
  let total = 0n;
  const parts: string[] = [];
  for (const [name, n] of lost) {
    parts.push(`${JSON.stringify(name)}:${n}`);
    total += n;
  }
  return `{"timestamp":${epochNs},"eventName":"lost_events","lostTotal":${total},"lost":{${parts.join(',')}}}`;
}

export async function runTrace(args: ParsedArgs, io: Io): Promise<number> {
  // 1. Validate all input first.
  if (args.values.has('scope') || args.values.has('policy')) {
    throw new KtrailError('USAGE', '--scope and --policy are not supported by this build yet', {
      hint: 'select events with -e for now',
    });
  }
  const plan = planOutput(args.values.get('output') ?? []);
  const ringBytes = parseRingMiB(args.values.get('buffer-size')?.[0]);
  const statsEvery = parseSeconds(args.values.get('stats-interval')?.[0], 'stats-interval', 10);
  const defaultNames = ktrailDefaultNames();
  const selection = selectEvents(args.values.get('events') ?? [], {
    events: catalog,
    byName: eventByName,
    setNames: [...setNames(), 'default'],
    suggest: suggestEventName,
    defaultNames,
  });

  // 2. Split what this build can capture from what it cannot, and say so once.
  const traced = selection.events.filter((e) => unavailableReason(e) === undefined);
  const skipped = selection.events.filter((e) => unavailableReason(e) !== undefined);
  const absentDefaults = selection.usedDefault ? DEFAULT_SET.filter((n) => eventByName(n) === undefined) : [];
  if (skipped.length > 0 || absentDefaults.length > 0) {
    const parts = skipped.map((e) => `${e.name} (${unavailableReason(e)})`);
    if (absentDefaults.length > 0) parts.push(`${absentDefaults.join(', ')} (not in ktrail's catalog yet)`);
    io.err(`ktrail: not traced here: ${parts.join('; ')}`);
  }
  if (traced.length === 0) {
    throw new KtrailError(
      'KERNEL_FEATURE_MISSING',
      'starting the capture: none of the selected events can be traced here',
      {
        hint: 'pick syscall events, e.g. -e delete_module',
      },
    );
  }
  if (process.geteuid?.() !== 0) {
    throw new KtrailError('NOT_ROOT', 'starting the capture: loading BPF programs needs root', {
      hint: 'run ktrail as root (sudo npx ktrail ...)',
    });
  }

  // 3. Outputs.
  const sinks: { sink: Sink; format: 'table' | 'json' }[] = [];
  try {
    for (const p of plan.printers)
      sinks.push({ sink: p.path === undefined ? stdoutSink() : openFileSink(p.path), format: p.format });
  } catch (e) {
    for (const s of sinks) s.sink.close();
    throw e;
  }
  const closeSinks = () => {
    for (const s of sinks) s.sink.close();
  };

  // 4. Capture.
  const native = loadNative();
  const clocks = native.clocks();
  const decoder = new Decoder({ eventById, bootToEpochNs: clocks.realtime - clocks.boottime });
  const policyNames = [''];
  const totals: Totals = { events: 0, lost: new Map() };
  const events: TraceEvent[] = [];
  const write = (batch: Buffer) => {
    events.length = 0;
    decoder.decodeBatch(batch, events);
    totals.events += events.length;
    for (const s of sinks) {
      let text = '';
      if (s.format === 'json')
        for (const ev of events)
          text += `${formatJson(ev, { parseArguments: plan.parseArguments, policyNames })}\n`;
      else for (const ev of events) text += `${formatTableRow(ev, plan.parseArguments)}\n`;
      if (text) s.sink.write(text);
    }
  };
  let cap: Capture;
  try {
    cap = await openCapture({
      events: traced,
      ringBytes,
      onBatch: write,
      onError: (e) => io.err(`ktrail: ${e.message}`),
    });
  } catch (e) {
    closeSinks();
    throw e;
  }
  for (const s of sinks) if (s.format === 'table') s.sink.write(`${TABLE_HEADER}\n`);
  io.err(
    `ktrail: tracing ${traced.length} event${traced.length === 1 ? '' : 's'} (started in ${cap.startupMs.toFixed(0)} ms); Ctrl-C stops`,
  );

  // 5. Run until a signal; report loss as it happens.
  const reportLoss = (final: boolean) => {
    const lost = lostByName(cap);
    let changed = false;
    for (const [n, v] of lost) if (totals.lost.get(n) !== v) changed = true;
    if (!changed && !final) return;
    totals.lost = lost;
    if (lost.size === 0) return;
    const c = native.clocks();
    const line = lostJson(c.realtime, lost);
    for (const s of sinks) if (s.format === 'json') s.sink.write(`${line}\n`);
    if (!final) io.err(`ktrail: lost events so far: ${[...lost].map(([n, v]) => `${n} ${v}`).join(', ')}`);
  };
  const timer = statsEvery > 0 ? setInterval(() => reportLoss(false), statsEvery * 1000) : undefined;
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  if (timer) clearInterval(timer);

  // 6. Stop: take the counters while the maps exist, drain, summarise.
  reportLoss(true);
  await cap.close();
  closeSinks();
  let lostTotal = 0n;
  for (const v of totals.lost.values()) lostTotal += v;
  const decodeErrors = Object.values(decoder.errors).reduce((a, b) => a + b, 0);
  io.err(
    `ktrail: ${signal}: ${totals.events} events, ${lostTotal} lost` +
      (totals.lost.size > 0 ? ` (${[...totals.lost].map(([n, v]) => `${n} ${v}`).join(', ')})` : '') +
      (decodeErrors > 0 ? `, ${decodeErrors} undecodable records` : ''),
  );
  return 0;
}
