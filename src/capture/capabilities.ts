/**
 * The Linux capabilities a live capture needs, checked before anything touches the kernel, so that ktrail can
 * run as an unprivileged user granted just these (systemd AmbientCapabilities=, `setpriv --ambient-caps`, a
 * container's capability list) and, when one is missing, say which one and what it is for.
 *
 * What each one is for (measured on Linux 6.18 with kernel.unprivileged_bpf_disabled=2):
 * - CAP_BPF: creating maps and BTF, loading programs (bpf(2)); without it bpf(2) fails with EPERM.
 * - CAP_PERFMON: loading tracing programs (raw tracepoints, tp_btf) and reading kernel memory from them.
 * - CAP_SYS_PTRACE: reading /proc/<pid>/exe of processes of other users, for executable paths and the
 *   process tree; without it those are empty for every process not of ktrail's own user.
 * - CAP_SYS_RESOURCE: raising RLIMIT_MEMLOCK, which libbpf does only on kernels before 5.11 (BPF memory is
 *   charged to the cgroup since then); needed only there, and only when the limit is not already unlimited.
 * - CAP_NET_ADMIN (optional): loading and attaching the cgroup programs of the network events; without it
 *   those events are left out with a notice (src/capture/net-support.ts), the rest runs.
 * CAP_SYS_ADMIN stands in for CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN, as the kernel allows. Root holds all of them. Nothing
 * else is needed: /proc/<pid>/stat and /proc/<pid>/cgroup are world-readable, so CAP_DAC_READ_SEARCH is not
 * (checked: with CAP_SYS_PTRACE alone, user nobody reads the exe link of every process of other users).
 * Pure except `readCapabilityState`, so the decision is unit-tested.
 */
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { KtrailError } from '../errors.js';

/** Capability numbers from linux/capability.h. */
export const CAP = {
  CAP_NET_ADMIN: 12,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_RESOURCE: 24,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
} as const;

export type CapabilityName = keyof typeof CAP;

/** What the check reads about the process and the kernel. */
export interface CapabilityState {
  /** CapEff from /proc/self/status. */
  readonly effective: bigint;
  /** The kernel release (`6.18.44-...`). */
  readonly kernelRelease: string;
  /** RLIMIT_MEMLOCK soft limit in bytes, or 'unlimited'. */
  readonly memlock: bigint | 'unlimited';
}

/** One capability the capture needs and the process lacks. */
export interface MissingCapability {
  readonly name: CapabilityName;
  /** What ktrail needs it for, as a phrase ("to load BPF programs and create maps"). */
  readonly purpose: string;
}

/** The capability names the capture can need, for messages and systemd/container examples. */
export const CAPTURE_CAPABILITIES: readonly CapabilityName[] = [
  'CAP_BPF',
  'CAP_PERFMON',
  'CAP_SYS_PTRACE',
  'CAP_SYS_RESOURCE',
];

/** The `CapEff:` mask of a /proc/<pid>/status text; 0 when the line is absent. */
export function parseCapEff(status: string): bigint {
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(status);
  return m?.[1] === undefined ? 0n : BigInt(`0x${m[1]}`);
}

/** The soft "Max locked memory" of a /proc/<pid>/limits text, in bytes; 'unlimited' when absent. */
export function parseMemlock(limits: string): bigint | 'unlimited' {
  const m = /^Max locked memory\s+(\S+)/m.exec(limits);
  if (m?.[1] === undefined || m[1] === 'unlimited') return 'unlimited';
  return /^\d+$/.test(m[1]) ? BigInt(m[1]) : 'unlimited';
}

/** True when the kernel charges BPF memory to the cgroup (5.11 and later), so RLIMIT_MEMLOCK does not apply. */
export function kernelChargesBpfToCgroup(kernelRelease: string): boolean {
  const m = /^(\d+)\.(\d+)/.exec(kernelRelease);
  if (m === null) return true;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 5 || (major === 5 && minor >= 11);
}

export function hasCapability(effective: bigint, name: CapabilityName): boolean {
  return (effective & (1n << BigInt(CAP[name]))) !== 0n;
}

/** The capabilities a capture needs that `state` lacks, in CAPTURE_CAPABILITIES order. */
export function missingCapabilities(state: CapabilityState): MissingCapability[] {
  const has = (n: CapabilityName) => hasCapability(state.effective, n);
  const admin = has('CAP_SYS_ADMIN');
  const out: MissingCapability[] = [];
  if (!has('CAP_BPF') && !admin)
    out.push({ name: 'CAP_BPF', purpose: 'to create BPF maps and load BPF programs' });
  if (!has('CAP_PERFMON') && !admin)
    out.push({ name: 'CAP_PERFMON', purpose: 'to load tracing programs: raw tracepoints, tp_btf' });
  if (!has('CAP_SYS_PTRACE'))
    out.push({
      name: 'CAP_SYS_PTRACE',
      purpose: "to read other users' /proc/<pid>/exe: executable paths, the process tree",
    });
  if (
    !has('CAP_SYS_RESOURCE') &&
    !kernelChargesBpfToCgroup(state.kernelRelease) &&
    state.memlock !== 'unlimited'
  )
    out.push({
      name: 'CAP_SYS_RESOURCE',
      purpose: `to raise the locked-memory limit of ${state.memlock} bytes for BPF maps on Linux ${state.kernelRelease}`,
    });
  return out;
}

/** Reads CapEff, the kernel release and RLIMIT_MEMLOCK of this process. */
export function readCapabilityState(): CapabilityState {
  const read = (p: string) => {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      return '';
    }
  };
  return {
    effective: parseCapEff(read('/proc/self/status')),
    kernelRelease: release(),
    memlock: parseMemlock(read('/proc/self/limits')),
  };
}

/** The error for missing capabilities: names each one and why, and how to grant them. */
export function capabilityError(missing: readonly MissingCapability[]): KtrailError {
  const names = missing.map((m) => m.name);
  const what = missing.map((m) => `${m.name} (${m.purpose})`).join(', ');
  const grant = [...new Set(['CAP_BPF', 'CAP_PERFMON', 'CAP_SYS_PTRACE', ...names])];
  const setpriv = grant.map((n) => `+${n.slice(4).toLowerCase()}`).join(',');
  const list = `${grant.slice(0, -1).join(', ')} and ${grant.at(-1)}`;
  return new KtrailError(
    'CAPABILITY_MISSING',
    `starting the capture: ${missing.length === 1 ? 'this capability is' : 'these capabilities are'} missing: ${what}`,
    {
      hint:
        `run as root, or grant ${list} (systemd: AmbientCapabilities=; a shell: ` +
        `setpriv --inh-caps=${setpriv} --ambient-caps=${setpriv} ktrail ...)`,
    },
  );
}

/** Throws CAPABILITY_MISSING when the process lacks a capability the capture needs. */
export function requireCapabilities(state: CapabilityState = readCapabilityState()): void {
  const missing = missingCapabilities(state);
  if (missing.length > 0) throw capabilityError(missing);
}
