/**
 * ktrail's library API: what the `ktrail` command is built from, for programs that embed the tracer.
 *
 * A live trace is three objects, built in this order:
 *
 *   const plan = await planTrace({ events: ['delete_module'], scope: ['uid!=0'] });   // no kernel yet
 *   const clocks = loadNative().clocks();
 *   const pipeline = new Pipeline({
 *     policies: plan.compiled, printed: new Set(plan.printed.map((e) => e.id)),
 *     rules: plan.rules, enabled: plan.enabled,
 *     printers: [jsonPrinter([stdoutSink()], { parseArguments: false, policyNames: [''] })],
 *     bootToEpochNs: clocks.realtime - clocks.boottime, startedAtNs: clocks.realtime,
 *   });
 *   const capture = await openCapture({
 *     events: plan.traced, kernelPlan: plan.compiled.kernel, scopeOnlyEvents: [...plan.ruleEventIds],
 *     processTree: true, startBootNs: clocks.boottime, onBatch: (b) => pipeline.push(b),
 *   });
 *   ...
 *   pipeline.reportLoss(lostByName(capture.stats()), loadNative().clocks().realtime, true);
 *   await capture.close(); pipeline.close();
 *
 * Running it for long: `openOutputs` opens files, webhooks and NATS from a planOutput plan; a `Heartbeat`
 * (its `receive` as the pipeline's onHeartbeat) proves the whole path alive; `createMetrics` and `startServer`
 * serve /metrics and /healthz; `applyPlan` switches a running trace to a new plan at a heartbeat barrier.
 *
 * Contracts: `planTrace` throws KtrailError for unusable input and touches nothing; `openCapture` needs root
 * and either starts everything or leaves nothing loaded; `Pipeline.push` never throws on bad records (they
 * are counted in `stats().decodeErrors`). Everything runs on the main thread. A Printer writes rendered bytes
 * to Sinks the caller opened and closes.
 */

export { describeMissing, probeFeatures } from './capture/features.js';
export {
  Capture,
  type CaptureSpec,
  type CaptureStats,
  lostByName,
  openCapture,
  type PolicyUpdate,
} from './capture/session.js';
export { catalog, eventById, eventByName, eventsInSet, setNames } from './catalog/index.js';
export type { EventSpec, FieldSpec, ValueTable } from './catalog/types.js';
export { errnoName, renderValue, retvalErrno, valueTables } from './catalog/values/index.js';
export { type ConfigSettings, loadConfig, mergeConfig, parseConfig } from './config/config.js';
export { Decoder } from './decode/decode.js';
export type { EventArg, TraceEvent } from './decode/event.js';
export { createEnricher, type Enricher } from './enrich/index.js';
export { KtrailError, NativeError } from './errors.js';
export { Logger, type LogOptions, parseLogOptions } from './log.js';
export { loadNative } from './native/binding.js';
export { formatFindingJson, formatJson, JsonWriter } from './output/json.js';
export { openNatsSink } from './output/nats.js';
export { openOutputs } from './output/open.js';
export { type OutputPlan, planOutput } from './output/plan.js';
export { jsonPrinter, type MatchedFinding, type Printer, tablePrinter } from './output/printer.js';
export { openFileSink, type Sink, type SinkStats, stdoutSink } from './output/sink.js';
export { formatFindingRow, formatTableRow, TABLE_HEADER } from './output/table.js';
export { webhookSink } from './output/webhook.js';
export {
  Pipeline,
  type PipelineConfig,
  type PipelineOptions,
  type PipelineStats,
} from './pipeline/pipeline.js';
export { planTrace, type TracePlan, type TraceRequest } from './pipeline/plan.js';
export { applyPlan } from './pipeline/reload.js';
export { type Health, Heartbeat } from './server/heartbeat.js';
export { startServer } from './server/http.js';
export { createMetrics, type MetricSources } from './server/metrics.js';
export { planServer, type ServerPlan } from './server/options.js';
export type { Finding, Rule } from './signatures/types.js';
