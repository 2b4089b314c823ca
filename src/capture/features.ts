/**
 * Kernel feature probes, run before anything is loaded. The report is plain data; `describeMissing` turns
 * it into one sentence for the operator. Probing needs CAP_BPF and CAP_PERFMON (BPF_PROG_LOAD), not uid 0:
 * openCapture checks them first (capabilities.ts); without them the BPF probes report false.
 */
import { existsSync } from 'node:fs';
import type { NativeAddon } from '../native/binding.js';

export interface FeatureReport {
  /** Effective uid 0 (informational: the capture needs capabilities, not uid 0; see capabilities.ts). */
  readonly root: boolean;
  /** Kernel BTF at /sys/kernel/btf/vmlinux (CO-RE relocations need it). */
  readonly btf: boolean;
  /** BPF_MAP_TYPE_RINGBUF (Linux 5.8). */
  readonly ringbuf: boolean;
  /** BPF_PROG_TYPE_RAW_TRACEPOINT: the syscall hooks. */
  readonly rawTracepoint: boolean;
  /** BTF-typed tracepoints (tp_btf/sys_enter loads and attaches). */
  readonly tpBtf: boolean;
  /**
   * BPF_MAP_TYPE_TASK_STORAGE (Linux 5.11): entry and exit of a syscall are paired in task-local storage;
   * without it, in an LRU hash keyed by thread id (slower).
   */
  readonly taskStorage: boolean;
  /**
   * fentry on a kernel function loads and attaches (BPF trampolines); refused on some kernels. False as well
   * when not probed (`probeFeatures(native, { fentry: false })`): no capture uses it.
   */
  readonly fentry: boolean;
  /** kprobes are built in (CONFIG_KPROBES). */
  readonly kprobes: boolean;
  /** tracefs is mounted (/sys/kernel/tracing or the debugfs path). */
  readonly tracefs: boolean;
  /** Why a probe failed, keyed by feature name (errno text). */
  readonly reasons: Readonly<Record<string, string>>;
}

const BTF_PATH = '/sys/kernel/btf/vmlinux';
const TRACEFS = ['/sys/kernel/tracing/events', '/sys/kernel/debug/tracing/events'];
const KPROBE_PMU = '/sys/bus/event_source/devices/kprobe';
/** A kernel function present in every build's BTF, for the fentry probe. */
const FENTRY_TARGET = 'vfs_read';

/**
 * Probe every feature ktrail may use. Each attach probe loads a tiny program against the kernel's BTF, which
 * takes about 55 ms here; `fentry: false` skips the fentry one, which only a report of what is missing needs.
 */
export function probeFeatures(native: NativeAddon, opts: { readonly fentry?: boolean } = {}): FeatureReport {
  const reasons: Record<string, string> = {};
  const root = process.geteuid?.() === 0;
  const btf = existsSync(BTF_PATH);
  if (!btf) reasons['btf'] = `${BTF_PATH} is absent (kernel built without CONFIG_DEBUG_INFO_BTF)`;
  const types = native.probeTypes();
  const attach = (kind: 'fentry' | 'tp_btf', target: string, key: string): boolean => {
    if (!btf) return false;
    const r = native.probeBtfAttach(kind, target);
    if (!r.ok && r.message !== undefined) reasons[key] = r.message;
    return r.ok;
  };
  const tpBtf = attach('tp_btf', 'sys_enter', 'tpBtf');
  const taskStorage = btf && types.taskStorage;
  if (!taskStorage) reasons['taskStorage'] = 'the kernel has no task-local storage maps (Linux 5.11+)';
  const fentry = opts.fentry === false ? false : attach('fentry', FENTRY_TARGET, 'fentry');
  const kprobes = existsSync(KPROBE_PMU);
  if (!kprobes) reasons['kprobes'] = 'the kernel has no kprobe support (CONFIG_KPROBES unset)';
  const tracefs = TRACEFS.some((p) => existsSync(p));
  if (!tracefs) reasons['tracefs'] = 'tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing)';
  return {
    root,
    btf,
    ringbuf: types.ringbuf,
    rawTracepoint: types.rawTracepoint,
    tpBtf,
    taskStorage,
    fentry,
    kprobes,
    tracefs,
    reasons,
  };
}

/** The features the syscall tracer cannot run without. */
export function missingRequired(r: FeatureReport): string[] {
  const out: string[] = [];
  if (!r.btf) out.push('kernel BTF');
  if (!r.ringbuf) out.push('the BPF ring buffer (Linux 5.8+)');
  if (!r.rawTracepoint) out.push('raw tracepoints');
  return out;
}

/** One sentence naming what is missing and what that costs, or saying that nothing is. */
export function describeMissing(r: FeatureReport): string {
  const required = missingRequired(r);
  const optional: string[] = [];
  if (!r.tpBtf) optional.push('tp_btf');
  if (!r.fentry) optional.push('fentry/fexit');
  if (!r.kprobes) optional.push('kprobes');
  if (!r.tracefs) optional.push('tracefs');
  if (required.length === 0 && optional.length === 0) return 'every probed kernel feature is available.';
  const parts: string[] = [];
  if (required.length > 0) parts.push(`syscall tracing cannot start without ${required.join(', ')}`);
  if (optional.length > 0) parts.push(`events that need ${optional.join(', ')} are unavailable`);
  return `${parts.join('; ')}.`;
}
