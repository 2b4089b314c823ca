/**
 * Printers: what the pipeline writes each batch to. A printer renders a batch's printed events and findings
 * once and writes the bytes to its sinks: the JSON printer serves every JSON sink with the same bytes, a
 * table printer one sink. Loss reports (`lost_events` lines) go to JSON sinks only; the table has no place
 * for them (the live command reports losses on stderr).
 *
 * Concurrency: main thread only. Lifetime: the printer does not own its sinks; whoever opened them closes them.
 */
import type { TraceEvent } from '../decode/event.js';
import type { Finding } from '../signatures/types.js';
import { type JsonOptions, JsonWriter, lostEventsJson } from './json.js';
import type { Sink } from './sink.js';
import { formatFindingRow, formatTableRow, TABLE_HEADER } from './table.js';

/** A finding with the policies whose scope its trigger's process matched. */
export interface MatchedFinding {
  readonly finding: Finding;
  readonly matched: bigint;
}

export interface Printer {
  /** Called once before the first batch (the table prints its header). */
  start(): void;
  /** One batch: its printed events in arrival order, then its findings. */
  batch(events: readonly TraceEvent[], findings: readonly MatchedFinding[]): void;
  /** Kernel losses so far, per event name; `epochNs` stamps the report. */
  lost(epochNs: bigint, lost: ReadonlyMap<string, bigint>): void;
  /** The policy names changed (a reload): printers that render them switch from the next batch. */
  policies?(names: readonly string[]): void;
}

/** Classic JSON lines to every sink of `sinks`, rendered once per batch. */
export function jsonPrinter(sinks: readonly Sink[], opts: JsonOptions): Printer {
  let w = new JsonWriter(opts);
  return {
    policies(names) {
      w = new JsonWriter({ ...opts, policyNames: names });
    },
    start() {},
    batch(events, findings) {
      w.reset();
      for (const ev of events) w.event(ev);
      for (const f of findings) w.finding(f.finding, f.matched);
      if (w.length === 0) return;
      const bytes = w.bytes();
      for (const s of sinks) s.write(bytes);
    },
    lost(epochNs, lost) {
      if (lost.size === 0) return;
      const line = `${lostEventsJson(epochNs, lost)}\n`;
      for (const s of sinks) s.write(line);
    },
  };
}

/** Tracee's table to `sink`; `parseArguments` decodes flag fields and adds errno names to RET. */
export function tablePrinter(sink: Sink, parseArguments: boolean): Printer {
  return {
    start() {
      // A rotated or reopened file starts with the header too.
      sink.header?.(`${TABLE_HEADER}\n`);
      sink.write(`${TABLE_HEADER}\n`);
    },
    batch(events, findings) {
      let text = '';
      for (const ev of events) text += `${formatTableRow(ev, parseArguments)}\n`;
      for (const f of findings) text += `${formatFindingRow(f.finding, parseArguments)}\n`;
      if (text) sink.write(text);
    },
    lost() {},
  };
}
