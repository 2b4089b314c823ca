import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KtrailError } from '../errors.js';
import { policyFromFlags } from './cli-policy.js';
import { compilePolicies, KERNEL_CAPS, planKernel } from './compile.js';
import { parsePolicy } from './load.js';
import type { PolicySpec } from './spec.js';
import { testCatalog } from './testing.js';

const cli = (events: string[], scope: string[] = []): PolicySpec =>
  policyFromFlags({ events, scope }, testCatalog).policy;

test('per event, a bitmap of the policies that select it', () => {
  const a = cli(['delete_module.args.name=keep*']);
  const b = parsePolicy(
    'type: policy\nname: b\nscope: [global]\ndefaultActions: [print]\nrules:\n  - event: init_module\n  - event: delete_module\n    filters: [retval<0]\n',
    'b.yaml',
    testCatalog,
  );
  const c = compilePolicies([a, b]);
  assert.deepEqual(c.policies, [
    { index: 0, name: '', description: '', origin: '--events/--scope', defaultActions: ['log'] },
    { index: 1, name: 'b', description: '', origin: 'b.yaml', defaultActions: ['print'] },
  ]);
  assert.deepEqual(
    [...c.events.values()],
    [
      { id: 175, name: 'init_module', selectedMask: 0b10n, filteredMask: 0n },
      { id: 176, name: 'delete_module', selectedMask: 0b11n, filteredMask: 0b11n },
    ],
  );
  assert.equal(c.user.scopedMask, 0n);
  assert.deepEqual([...(c.user.filters.get(176)?.keys() ?? [])], [0, 1]);
  assert.deepEqual(c.user.filters.get(176)?.get(1)?.actions, ['print']);
});

test('the kernel plan takes what the kernel can do and names the rest', () => {
  const p = cli(
    [
      'delete_module.args.name=nf_*',
      'delete_module.args.name!=nf_nat',
      'delete_module.data.flags=O_NONBLOCK|O_TRUNC',
      'delete_module.retval<0',
      'delete_module.retval!=-EPERM',
      'delete_module.scope.container',
    ],
    ['uid>=1000', 'uid<2000', 'uid!=1500', 'comm=rmmod,modprobe', 'mntns=4026531841', 'container', 'follow'],
  );
  const c = compilePolicies([p, cli(['init_module'])]);
  assert.deepEqual(c.kernel.scopes, [
    {
      policy: 0,
      uid: { min: 1000n, max: 1999n },
      pid: null,
      comm: ['rmmod', 'modprobe'],
      mntns: [4026531841n],
      pidns: null,
      newPid: false,
      follow: true,
    },
    { policy: 1, uid: null, pid: null, comm: null, mntns: null, pidns: null, newPid: false, follow: false },
  ]);
  assert.deepEqual(c.kernel.events.get(176), {
    selectedMask: 0b01n,
    filters: [
      {
        policy: 0,
        strings: [{ arg: 0, kind: 'prefix', value: 'nf_' }],
        compares: [
          { target: 1, type: 'int32', op: '=', value: 2560n },
          { target: 'retval', type: 'int64', op: '<', value: 0n },
        ],
      },
    ],
    userMask: 0b01n,
  });
  assert.deepEqual(c.kernel.events.get(175), { selectedMask: 0b10n, filters: [], userMask: 0n });
  assert.deepEqual(
    c.kernel.placements.map((x) => [x.policy, x.event ?? '', x.filter, x.where, x.reason]),
    [
      [0, '', 'uid>=1000', 'kernel', ''],
      [0, '', 'uid<2000', 'kernel', ''],
      [0, '', 'uid!=1500', 'user', "the kernel takes a uid range; sets and '!=' run in userspace"],
      [0, '', 'comm=rmmod,modprobe', 'kernel', ''],
      [0, '', 'mntns=4026531841', 'kernel', ''],
      [0, '', 'container', 'user', 'containers are resolved in userspace'],
      [0, '', 'follow', 'kernel', ''],
      [0, 'delete_module', 'args.name=nf_*', 'kernel', ''],
      [
        0,
        'delete_module',
        'args.name!=nf_nat',
        'user',
        'the kernel takes 1 string match per event and policy',
      ],
      [0, 'delete_module', 'data.flags=O_NONBLOCK|O_TRUNC', 'kernel', ''],
      [0, 'delete_module', 'retval<0', 'kernel', ''],
      [
        0,
        'delete_module',
        'retval!=-EPERM',
        'user',
        'the kernel takes 1 return-value compare per event and policy',
      ],
      [0, 'delete_module', 'scope.container', 'user', 'event context filters run in userspace'],
    ],
  );
});

test('other kernel capabilities change the plan, not the filters', () => {
  const p = cli(
    ['delete_module.args.name=*_test', 'delete_module.args.name=keep_me'],
    ['comm=a,b,c,d,e,f,g,h,i'],
  );
  const c = compilePolicies([p]);
  assert.deepEqual(
    c.kernel.placements.map((x) => [x.filter, x.where, x.reason]),
    [
      ['comm=a,b,c,d,e,f,g,h,i', 'user', "the kernel's comm set holds 8 names"],
      ['args.name=*_test', 'user', 'the kernel matches exact/prefix strings, not suffix'],
      ['args.name=keep_me', 'kernel', ''],
    ],
  );
  const wider = planKernel(c, {
    ...KERNEL_CAPS,
    scope: { ...KERNEL_CAPS.scope, commSet: { maxEntries: 16, maxBytes: 16 } },
    event: {
      ...KERNEL_CAPS.event,
      stringMatch: { count: 2, maxBytes: 64, kinds: ['exact', 'prefix', 'suffix'] },
    },
  });
  assert.deepEqual(
    wider.placements.map((x) => x.where),
    ['kernel', 'kernel', 'kernel'],
  );
  assert.deepEqual(wider.events.get(176)?.filters[0]?.strings, [
    { arg: 0, kind: 'suffix', value: '_test' },
    { arg: 0, kind: 'exact', value: 'keep_me' },
  ]);
  const none = planKernel(c, { ...KERNEL_CAPS, event: { ...KERNEL_CAPS.event, stringMatch: null } });
  assert.deepEqual(
    none.placements.map((x) => x.reason),
    [
      "the kernel's comm set holds 8 names",
      'no string filters in the kernel',
      'no string filters in the kernel',
    ],
  );
});

test('more than 64 policies do not compile', () => {
  const ps = Array.from({ length: 65 }, () => cli(['delete_module']));
  assert.throws(
    () => compilePolicies(ps),
    (e: unknown) =>
      e instanceof KtrailError &&
      e.code === 'POLICY_INVALID' &&
      e.message === 'compiling policies: policies maximum exceeded [64]',
  );
  const c = compilePolicies(ps.slice(0, 64));
  assert.equal(c.events.get(176)?.selectedMask, (1n << 64n) - 1n);
});
