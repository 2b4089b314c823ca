import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeEvent, runRule } from '../test-events.js';
import {
  kernelModuleLoading,
  moduleForcedUnload,
  moduleLoadSyscall,
  moduleOpInContainer,
  moduleOpNonRoot,
  moduleUnload,
  moduleUnloadStall,
} from './kernel-modules.js';

const rmmod = (flags: number | string, ctx = {}) =>
  makeEvent(
    'delete_module',
    { name: 'nf_tables', flags },
    { returnValue: -38, processName: 'rmmod', ...ctx },
  );

describe('KTR-001 module unload', () => {
  it('fires on every delete_module, failed ones included', () => {
    assert.deepEqual(runRule(moduleUnload, [rmmod(2048)]), [{ name: 'nf_tables', flags: 2048 }]);
  });
  it('ignores other module syscalls', () => {
    assert.deepEqual(runRule(moduleUnload, [makeEvent('init_module', { param_values: '' })]), []);
  });
});

describe('KTR-002 forced unload', () => {
  it('fires when O_TRUNC is set (rmmod -f: 0xa00)', () => {
    assert.deepEqual(runRule(moduleForcedUnload, [rmmod(2560)]), [{ name: 'nf_tables', flags: 2560 }]);
  });
  it('reads the decoded spelling of parse-arguments', () => {
    assert.deepEqual(runRule(moduleForcedUnload, [rmmod('O_NONBLOCK|O_TRUNC')]), [
      { name: 'nf_tables', flags: 2560 },
    ]);
  });
  it('does not fire for a plain rmmod (O_NONBLOCK only)', () => {
    assert.deepEqual(runRule(moduleForcedUnload, [rmmod(2048)]), []);
  });
});

describe('KTR-003 module syscall from a container', () => {
  it('fires with the container id', () => {
    assert.deepEqual(runRule(moduleOpInContainer, [rmmod(2048, { containerId: 'abc123' })]), [
      { syscall: 'delete_module', name: 'nf_tables', containerId: 'abc123' },
    ]);
    const load = makeEvent('finit_module', { fd: 3, param_values: 'debug=1' }, { containerId: 'c1' });
    assert.deepEqual(runRule(moduleOpInContainer, [load]), [
      { syscall: 'finit_module', param_values: 'debug=1', containerId: 'c1' },
    ]);
  });
  it('does not fire on the host', () => {
    assert.deepEqual(runRule(moduleOpInContainer, [rmmod(2048)]), []);
  });
});

describe('KTR-004 module syscall by a non-root user', () => {
  it('fires with the uid', () => {
    assert.deepEqual(runRule(moduleOpNonRoot, [rmmod(2048, { userId: 1000, returnValue: -1 })]), [
      { syscall: 'delete_module', name: 'nf_tables', userId: 1000 },
    ]);
  });
  it('does not fire for root', () => {
    assert.deepEqual(runRule(moduleOpNonRoot, [rmmod(2048)]), []);
  });
});

describe('KTR-005 stalled unload', () => {
  it('fires above the default 1 s threshold', () => {
    assert.deepEqual(runRule(moduleUnloadStall, [rmmod(0, { durationNs: 1_500_000_000n })]), [
      { name: 'nf_tables', durationNs: 1_500_000_000n, thresholdNs: 1_000_000_000n },
    ]);
  });
  it('does not fire at the threshold, nor without a duration', () => {
    assert.deepEqual(runRule(moduleUnloadStall, [rmmod(0, { durationNs: 1_000_000_000n })]), []);
    assert.deepEqual(runRule(moduleUnloadStall, [rmmod(0, { durationNs: undefined })]), []);
  });
  it('takes its threshold from the configuration', () => {
    assert.deepEqual(
      runRule(moduleUnloadStall, [rmmod(0, { durationNs: 600_000_000n })], { thresholdNs: 500_000_000 }),
      [{ name: 'nf_tables', durationNs: 600_000_000n, thresholdNs: 500_000_000n }],
    );
  });
});

describe('KTR-006 module load syscall', () => {
  it('fires on init_module and finit_module', () => {
    const init = makeEvent('init_module', { module_image: 0x7f00, len: 4096, param_values: 'x=1' });
    const finit = makeEvent('finit_module', { fd: 3, param_values: '', flags: 0 }, { returnValue: -38 });
    assert.deepEqual(runRule(moduleLoadSyscall, [init, finit]), [
      { syscall: 'init_module', param_values: 'x=1' },
      { syscall: 'finit_module', param_values: '' },
    ]);
  });
  it('ignores unloads', () => {
    assert.deepEqual(runRule(moduleLoadSyscall, [rmmod(0)]), []);
  });
});

describe('TRC-1017 kernel_module_loading', () => {
  it('fires on module_load with no data', () => {
    const ev = makeEvent('module_load', { name: 'rootkit', version: '', src_version: '' });
    assert.deepEqual(runRule(kernelModuleLoading, [ev]), [{}]);
  });
  it('does not fire on the load syscalls', () => {
    assert.deepEqual(runRule(kernelModuleLoading, [makeEvent('init_module', {})]), []);
  });
});
