/**
 * Opens every destination of an OutputPlan and builds the printers that feed them: one JSON printer for all
 * JSON destinations (rendered once per batch), one table printer per table destination. Network destinations
 * are checked as far as they can be before tracing starts (NATS: server, JetStream, stream). On a failure
 * everything opened so far is closed again and the KtrailError is rethrown.
 */
import type { TraceEvent } from '../decode/event.js';
import type { Ancestor } from '../enrich/process-tree.js';
import { openNatsSink } from './nats.js';
import type { OutputPlan } from './plan.js';
import { jsonPrinter, type Printer, tablePrinter } from './printer.js';
import { openFileSink, type Sink, stdoutSink } from './sink.js';
import { type SinkReporter, webhookSink } from './webhook.js';

export interface OpenedOutputs {
  readonly printers: readonly Printer[];
  readonly sinks: readonly Sink[];
}

export interface OutputContext {
  /** Names of the policies by bit (the implicit CLI policy is ''). */
  readonly policyNames: readonly string[];
  /** `option:ancestry`: the ancestors of an event's process. */
  readonly ancestors?: (ev: TraceEvent, depth: number) => readonly Ancestor[] | undefined;
  /** The reader of standard output went away. */
  readonly onStdoutClosed?: () => void;
  /** Problems and recoveries of outputs while running (rotation failures, a failing webhook). */
  readonly report: SinkReporter;
}

export async function openOutputs(plan: OutputPlan, ctx: OutputContext): Promise<OpenedOutputs> {
  const sinks: Sink[] = [];
  const printers: Printer[] = [];
  const json: Sink[] = [];
  try {
    for (const p of plan.printers) {
      const d = p.destination;
      let sink: Sink;
      switch (d.kind) {
        case 'stdout':
          sink = stdoutSink({
            ...(ctx.onStdoutClosed === undefined ? {} : { onClosed: ctx.onStdoutClosed }),
            onError: (m) => ctx.report('warn', m),
          });
          break;
        case 'file':
          sink = openFileSink(d.path, {
            ...(plan.rotate === undefined
              ? {}
              : { rotateBytes: plan.rotate.bytes, backups: plan.rotate.backups }),
            onError: (m) => ctx.report('warn', m),
          });
          break;
        case 'webhook':
          sink = webhookSink(d.webhook, ctx.report);
          break;
        case 'nats':
          sink = await openNatsSink(d.nats, ctx.report);
          break;
      }
      sinks.push(sink);
      if (p.format === 'json') json.push(sink);
      else printers.push(tablePrinter(sink, plan.parseArguments));
    }
  } catch (e) {
    const now = AbortSignal.abort();
    await Promise.all(sinks.map((s) => s.close(now)));
    throw e;
  }
  if (json.length > 0) {
    const depth = plan.ancestry;
    const ancestors = ctx.ancestors;
    printers.unshift(
      jsonPrinter(json, {
        parseArguments: plan.parseArguments,
        policyNames: ctx.policyNames,
        ...(depth > 0 && ancestors !== undefined
          ? { ancestors: (ev: TraceEvent) => ancestors(ev, depth) }
          : {}),
      }),
    );
  }
  return { printers, sinks };
}
