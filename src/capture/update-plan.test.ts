/**
 * Capture.updatePlan against an in-memory stand-in for the native object (no kernel): the maps are relaxed
 * while the caller switches userspace, then hold exactly the new plan; stale filter and namespace entries
 * go, follow marks are remapped, syscalls no longer traced are switched off.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { filter_key_t, lifecycle_cfg_t, scope_t, syscall_cfg_t } from '../abi/abi.gen.js';
import { eventByName } from '../catalog/index.js';
import type { NativeBpfObject } from '../native/binding.js';
import { planTrace } from '../pipeline/plan.js';
import type { FeatureReport } from './features.js';
import { Capture } from './session.js';

type Store = Map<string, Map<string, Buffer>>;

function fakeObject(store: Store): NativeBpfObject {
  const map = (name: string) => {
    const m = store.get(name) ?? new Map<string, Buffer>();
    store.set(name, m);
    return m;
  };
  return {
    mapUpdate: (name: string, key: Buffer, value: Buffer) =>
      void map(name).set(key.toString('hex'), Buffer.from(value)),
    mapLookup: (name: string, key: Buffer) => map(name).get(key.toString('hex')) ?? null,
    mapDelete: (name: string, key: Buffer) => map(name).delete(key.toString('hex')),
    mapKeys: (name: string) => [...map(name).keys()].map((k) => Buffer.from(k, 'hex')),
    mapInfo: () => ({ type: 'array', keySize: 4, valueSize: 8, maxEntries: 1, perCpu: false, valueBytes: 8 }),
    startRing: () => {},
    ringFill: () => ({ used: 0, size: 4096 }),
  } as unknown as NativeBpfObject;
}

const key = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b.toString('hex');
};

function cfg(store: Store, nr: number) {
  const v = store.get('syscall_cfg_map')?.get(key(nr));
  assert.ok(v, `syscall_cfg_map[${nr}]`);
  const o = syscall_cfg_t;
  return {
    selected: v.readBigUInt64LE(o.selected),
    filtered: v.readBigUInt64LE(o.filtered),
    scoped: v.readBigUInt64LE(o.scoped),
    follow: v.readBigUInt64LE(o.follow),
  };
}

describe('Capture.updatePlan', () => {
  it('relaxes, lets the caller switch, then writes the new maps', async () => {
    const before = await planTrace({
      events: ['delete_module.data.name=a*', 'openat.data.pathname=/etc/*'],
      scope: ['uid=0'],
    });
    const after = await planTrace({ events: ['delete_module.data.name=b*'], scope: ['comm=bash', 'follow'] });
    const store: Store = new Map();
    // Written by openCapture for `before`: the openat filter (only what this test reads back matters).
    const old = Buffer.alloc(filter_key_t.SIZE);
    old.writeUInt32LE(257, filter_key_t.event_id);
    store.set('filter_map', new Map([[old.toString('hex'), Buffer.alloc(8)]]));
    const mark = (pid: number, bits: bigint) => {
      const v = Buffer.alloc(8);
      v.writeBigUInt64LE(bits);
      return [key(pid), v] as const;
    };
    store.set('follow_map', new Map([mark(42, 1n), mark(43, 2n)]));
    const lifecycle = [
      'tp_btf__sched__sched_process_fork',
      'tp_btf__sched__sched_process_exec',
      'tp_btf__sched__sched_process_exit',
    ];
    const cap = new Capture(
      fakeObject(store),
      {
        events: before.traced,
        kernelPlan: before.compiled.kernel,
        processTree: true,
        onBatch: () => {},
      },
      {} as FeatureReport,
      0,
      ['raw_tp__syscalls__sys_enter', 'raw_tp__syscalls__sys_exit', ...lifecycle],
    );
    let during: ReturnType<typeof cfg>[] = [];
    await cap.updatePlan(
      {
        events: after.traced,
        kernelPlan: after.compiled.kernel,
        followRemap: (bits) => (bits === 1n ? 1n : 0n),
      },
      async () => {
        during = [cfg(store, 176), cfg(store, 257)];
      },
    );
    const all = (1n << 64n) - 1n;
    assert.deepEqual(during, [
      { selected: all, filtered: 0n, scoped: 0n, follow: 0n },
      { selected: all, filtered: 0n, scoped: 0n, follow: 0n },
    ]);
    // delete_module: policy 0, scoped by comm, followed, its name filter in the kernel; openat switched off.
    assert.deepEqual(cfg(store, 176), { selected: 1n, filtered: 1n, scoped: 1n, follow: 1n });
    assert.equal(cfg(store, 257).selected, 0n);
    const filters = [...(store.get('filter_map')?.keys() ?? [])].map((k) => Buffer.from(k, 'hex'));
    assert.deepEqual(
      filters.map((k) => [k.readUInt32LE(filter_key_t.event_id), k.readUInt32LE(filter_key_t.policy)]),
      [[176, 0]],
      'the stale openat entry is gone',
    );
    const scope = store.get('scope_map')?.get(key(0));
    assert.ok(scope);
    assert.equal(scope.subarray(scope_t.comm, scope_t.comm + 4).toString(), 'bash');
    assert.deepEqual(
      [...(store.get('follow_map')?.keys() ?? [])],
      [key(42)],
      'marks mapping to nothing are dropped',
    );
    const exec = store.get('lifecycle_cfg_map')?.get(key(1));
    assert.ok(exec);
    assert.equal(exec.readBigUInt64LE(lifecycle_cfg_t.follow), 1n);
    assert.equal(exec.readUInt32LE(lifecycle_cfg_t.internal), 1);
  });

  it('refuses an event a running capture cannot add, before touching a map', async () => {
    const store: Store = new Map();
    const spec = eventByName('delete_module')!;
    const cap = new Capture(
      fakeObject(store),
      { events: [spec], onBatch: () => {} },
      {} as FeatureReport,
      0,
      ['raw_tp__syscalls__sys_enter', 'raw_tp__syscalls__sys_exit'],
    );
    await assert.rejects(
      cap.updatePlan({ events: [spec, eventByName('sched_process_exec')!] }, async () => {}),
      /updating the plan: sched_process_exec cannot be added to a running capture/,
    );
    assert.equal(store.size, 0);
  });
});
