import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { maps, sections } from '../abi/abi.gen.js';
import { eventByName } from '../catalog/index.js';
import { KtrailError } from '../errors.js';
import type { NativeMapInfo } from '../native/binding.js';
import { checkObjectAbi, syscallPlan } from './session.js';

/** mapInfo of an object built from the committed headers, with `change` applied to one map. */
function objectWith(change?: { map: string; valueSize: number }) {
  return {
    mapInfo(name: string): NativeMapInfo {
      const m = maps[name];
      const s = (sections as Record<string, { size: number }>)[name];
      if (m === undefined && s === undefined) throw new Error(`finding map ${name}: no such map`);
      const valueSize = change?.map === name ? change.valueSize : (m?.valueSize ?? s!.size);
      return {
        type: 'array',
        keySize: m?.keySize ?? 4,
        valueSize,
        maxEntries: 1,
        perCpu: false,
        valueBytes: valueSize,
      };
    },
  };
}

describe('checkObjectAbi', () => {
  it('accepts an object whose maps match the generated ABI', () => {
    checkObjectAbi(objectWith(), 'ktrail.bpf.o');
  });

  it('names the map, both sizes and what to do when they differ', () => {
    assert.throws(
      () => checkObjectAbi(objectWith({ map: 'scope_map', valueSize: 176 }), '/x/ktrail.bpf.o'),
      (e: unknown) =>
        e instanceof KtrailError &&
        e.code === 'ABI_MISMATCH' &&
        e.message ===
          `opening /x/ktrail.bpf.o: map scope_map has 4-byte keys and 176-byte values, this build of ktrail expects 4 and ${maps['scope_map']!.valueSize}` &&
        e.hint === 'the BPF object and the TypeScript come from different builds: run npm run setup',
    );
  });

  it('checks the settings section too', () => {
    assert.throws(
      () => checkObjectAbi(objectWith({ map: '.rodata.settings', valueSize: 8 }), 'o'),
      /map \.rodata\.settings has 4-byte keys and 8-byte values/,
    );
  });
});

describe('syscallPlan', () => {
  it('configures the syscalls of the selected events and the syscalls kernel events are built around', () => {
    const events = ['openat', 'security_file_open', 'mem_prot_alert'].map((n) => eventByName(n)!);
    const plan = syscallPlan(
      events,
      (id) => (id === 257 ? 1n : 2n),
      () => 0n,
    );
    const openat = plan.get(257)!;
    assert.equal(openat.selected, 1n);
    assert.deepEqual(
      openat.kernel.map((k) => [k.event.name, k.selected]),
      [['security_file_open', 2n]],
    );
    // open is configured only for the kernel event: its own event stays unselected.
    assert.equal(plan.get(2)?.selected, 0n);
    assert.deepEqual(
      [...plan.keys()].sort((a, b) => a - b),
      [2, 9, 10, 85, 257, 304, 329, 437],
    );
    assert.deepEqual(
      plan.get(10)!.kernel.map((k) => [k.event.name, k.source.atEntry]),
      [['mem_prot_alert', true]],
    );
  });
});
