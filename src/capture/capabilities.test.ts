import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KtrailError } from '../errors.js';
import {
  CAP,
  type CapabilityName,
  capabilityError,
  kernelChargesBpfToCgroup,
  missingCapabilities,
  parseCapEff,
  parseMemlock,
  readCapabilityState,
  requireCapabilities,
} from './capabilities.js';

const mask = (...names: CapabilityName[]) => names.reduce((m, n) => m | (1n << BigInt(CAP[n])), 0n);
const state = (
  effective: bigint,
  kernelRelease = '6.18.44-fc',
  memlock: bigint | 'unlimited' = 8388608n,
) => ({
  effective,
  kernelRelease,
  memlock,
});
const names = (s: ReturnType<typeof state>) => missingCapabilities(s).map((m) => m.name);

describe('capabilities', () => {
  it('parses CapEff and the memlock limit from /proc texts', () => {
    const status =
      'Name:\tnode\nCapInh:\t0000000000000000\nCapEff:\t000001fffeffffff\nCapBnd:\t000001fffeffffff\n';
    assert.equal(parseCapEff(status), 0x1fffeffffffn);
    assert.equal(parseCapEff('Name: x\n'), 0n);
    const limits =
      'Limit                     Soft Limit           Hard Limit           Units     \n' +
      'Max locked memory         8388608              8388608              bytes     \n';
    assert.equal(parseMemlock(limits), 8388608n);
    assert.equal(
      parseMemlock('Max locked memory         unlimited            unlimited            bytes\n'),
      'unlimited',
    );
  });

  it('tells kernels that charge BPF memory to the cgroup (5.11+)', () => {
    assert.equal(kernelChargesBpfToCgroup('6.18.44-fc-v1252'), true);
    assert.equal(kernelChargesBpfToCgroup('5.11.0'), true);
    assert.equal(kernelChargesBpfToCgroup('5.10.209-1'), false);
    assert.equal(kernelChargesBpfToCgroup('4.19.0'), false);
  });

  it('root (the full set less CAP_SYS_RESOURCE, as on this machine) lacks nothing', () => {
    assert.deepEqual(names(state(0x1fffeffffffn)), []);
  });

  it('CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE suffice on 5.11 and later', () => {
    assert.deepEqual(names(state(mask('CAP_BPF', 'CAP_PERFMON', 'CAP_SYS_PTRACE'))), []);
  });

  it('names each missing capability, in a fixed order', () => {
    assert.deepEqual(names(state(0n)), ['CAP_BPF', 'CAP_PERFMON', 'CAP_SYS_PTRACE']);
    assert.deepEqual(names(state(mask('CAP_BPF', 'CAP_SYS_PTRACE'))), ['CAP_PERFMON']);
    assert.deepEqual(names(state(mask('CAP_BPF', 'CAP_PERFMON'))), ['CAP_SYS_PTRACE']);
  });

  it('CAP_SYS_ADMIN stands in for CAP_BPF and CAP_PERFMON, not for CAP_SYS_PTRACE', () => {
    assert.deepEqual(names(state(mask('CAP_SYS_ADMIN'))), ['CAP_SYS_PTRACE']);
  });

  it('CAP_SYS_RESOURCE only before 5.11, and only under a finite memlock limit', () => {
    const three = mask('CAP_BPF', 'CAP_PERFMON', 'CAP_SYS_PTRACE');
    assert.deepEqual(names(state(three, '5.10.0', 65536n)), ['CAP_SYS_RESOURCE']);
    assert.deepEqual(names(state(three, '5.10.0', 'unlimited')), []);
    assert.deepEqual(names(state(three | mask('CAP_SYS_RESOURCE'), '5.10.0', 65536n)), []);
  });

  it('the error names the missing capability, what it is for and how to grant it', () => {
    const e = capabilityError(missingCapabilities(state(mask('CAP_BPF', 'CAP_SYS_PTRACE'))));
    assert.ok(e instanceof KtrailError);
    assert.equal(e.code, 'CAPABILITY_MISSING');
    assert.equal(e.exitCode, 1);
    assert.equal(
      e.message,
      'starting the capture: this capability is missing: CAP_PERFMON (to load tracing programs: raw tracepoints, tp_btf)',
    );
    assert.match(e.hint ?? '', /--ambient-caps=\+bpf,\+perfmon,\+sys_ptrace /);
    assert.throws(() => requireCapabilities(state(0n)), /these capabilities are missing: CAP_BPF/);
  });

  it('reads this process', () => {
    const s = readCapabilityState();
    assert.equal(typeof s.effective, 'bigint');
    if (process.geteuid?.() === 0) assert.doesNotThrow(() => requireCapabilities(s));
  });
});
