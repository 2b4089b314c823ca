/**
 * The classic Tracee JSON event (COMPAT.md 2): one object per line, keys in Tracee's fixed order, then ktrail's
 * additive keys (`seq`, `durationNs`, `errno`). Written by hand rather than with JSON.stringify so that the key
 * order is fixed and 64-bit values (epoch ns, cgroup ids) stay exact.
 */
import { renderMode, renderValue, retvalErrno, valueTables } from '../catalog/values/index.js';
import type { ArgValue, EventArg, TraceEvent } from '../decode/event.js';
import { entityId } from './entity-id.js';

export interface JsonOptions {
  /** `option:parse-arguments`: decode flag and enum fields to names, add `errno` to failed syscalls. */
  readonly parseArguments: boolean;
  /** Names of the loaded policies by bit; the implicit CLI policy is ''. */
  readonly policyNames: readonly string[];
  /**
   * `option:ancestry`: returns the JSON array text of the event's ancestors (src/enrich Enricher.ancestryJson),
   * printed as the additive key `ancestors` (ktrail addition); undefined prints nothing.
   */
  readonly ancestors?: (ev: TraceEvent) => string | undefined;
}

function jsonValue(v: ArgValue): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'bigint':
      return v.toString();
    case 'string':
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
  }
  if (v instanceof Uint8Array)
    return JSON.stringify(Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'));
  if (Array.isArray(v)) return `[${v.map((x) => jsonValue(x as ArgValue)).join(',')}]`;
  const parts: string[] = [];
  for (const [k, x] of Object.entries(v as Record<string, string>))
    parts.push(`${JSON.stringify(k)}:${JSON.stringify(x)}`);
  return `{${parts.join(',')}}`;
}

/** The rendered form of an argument under parse-arguments, or undefined when it has no value table. */
export function parsedArg(ev: TraceEvent, arg: EventArg, index: number): string | undefined {
  const table = ev.spec.fields[index]?.values;
  if (table === undefined) return undefined;
  if (typeof arg.value !== 'number' && typeof arg.value !== 'bigint') return undefined;
  if (table === 'file_mode') return renderMode(Number(arg.value));
  const t = valueTables[table];
  return t === undefined ? undefined : renderValue(t, arg.value);
}

function argJson(ev: TraceEvent, arg: EventArg, index: number, parse: boolean): string {
  const parsed = parse ? parsedArg(ev, arg, index) : undefined;
  const type = parsed === undefined ? arg.type : 'string';
  const value = parsed === undefined ? jsonValue(arg.value) : JSON.stringify(parsed);
  let s = `{"name":${JSON.stringify(arg.name)},"type":${JSON.stringify(type)},"value":${value}`;
  if (arg.problem !== undefined) s += `,"problem":${JSON.stringify(arg.problem)}`;
  return `${s}}`;
}

export function matchedPolicyNames(matched: bigint, names: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < names.length; i++) if ((matched >> BigInt(i)) & 1n) out.push(names[i]!);
  return out;
}

/** One classic JSON line (without the newline). */
export function formatJson(ev: TraceEvent, opts: JsonOptions): string {
  const q = JSON.stringify;
  const matched = matchedPolicyNames(ev.matched, opts.policyNames);
  const tid = entityId(ev.hostThreadId, ev.threadStartTime);
  // Process and parent ids hash the leader's and the parent leader's start times (event_hdr_t); records
  // without them (old fixtures) fall back to the thread for a leader and 0 otherwise.
  const pid =
    ev.leaderStartTime !== undefined
      ? entityId(ev.hostProcessId, ev.leaderStartTime)
      : ev.hostProcessId === ev.hostThreadId
        ? tid
        : 0;
  const ppid = ev.parentStartTime !== undefined ? entityId(ev.hostParentProcessId, ev.parentStartTime) : 0;
  const args = ev.args.map((a, i) => argJson(ev, a, i, opts.parseArguments)).join(',');
  let s =
    `{"timestamp":${ev.timestamp},"threadStartTime":${ev.threadStartTime},"processorId":${ev.processorId},` +
    `"processId":${ev.processId},"cgroupId":${ev.cgroupId},"threadId":${ev.threadId},` +
    `"parentProcessId":${ev.parentProcessId},"hostProcessId":${ev.hostProcessId},"hostThreadId":${ev.hostThreadId},` +
    `"hostParentProcessId":${ev.hostParentProcessId},"userId":${ev.userId},"mountNamespace":${ev.mountNamespace},` +
    `"pidNamespace":${ev.pidNamespace},"processName":${q(ev.processName)},"executable":{"path":${q(ev.executablePath)}},` +
    `"hostName":${q(ev.hostName)},"containerId":${q(ev.containerId)},"container":${ev.containerId ? `{"id":${q(ev.containerId)}}` : '{}'},` +
    `"kubernetes":{},"eventId":"${ev.spec.id}","eventName":${q(ev.spec.name)},`;
  if (matched.length > 0) s += `"matchedPolicies":[${matched.map((m) => q(m)).join(',')}],`;
  s +=
    `"argsNum":${ev.args.length},"returnValue":${ev.returnValue},"syscall":${q(ev.syscall)},"stackAddresses":null,` +
    `"contextFlags":{"containerStarted":false,"isCompat":${ev.isCompat}},"threadEntityId":${tid},` +
    `"processEntityId":${pid},"parentEntityId":${ppid},"args":[${args}],"seq":${ev.seq}`;
  if (ev.durationNs !== undefined) s += `,"durationNs":${ev.durationNs}`;
  if (opts.parseArguments && ev.spec.syscall && !ev.atEntry) {
    const errno = retvalErrno(ev.returnValue, ev.spec.name);
    if (errno !== undefined) s += `,"errno":${q(errno)}`;
  }
  const ancestors = opts.ancestors?.(ev);
  if (ancestors !== undefined) s += `,"ancestors":${ancestors}`;
  return `${s}}`;
}
