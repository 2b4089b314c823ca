import assert from 'node:assert/strict';
import { test } from 'node:test';
import { policyFromFlags } from './cli-policy.js';
import { compilePolicies } from './compile.js';
import { parsePolicy } from './load.js';
import { matchEvent, matchScopes } from './match.js';
import type { PolicySpec } from './spec.js';
import { deleteModuleEvent as dm, testCatalog } from './testing.js';

const cli = (events: string[], scope: string[] = []): PolicySpec =>
  policyFromFlags({ events, scope }, testCatalog).policy;
const file = (name: string, scope: string, rules: string): PolicySpec =>
  parsePolicy(
    `type: policy\nname: ${name}\nscope: [${scope}]\nrules:\n${rules}`,
    `${name}.yaml`,
    testCatalog,
  );

test('two policies at once: A filters delete_module by name, B takes every failed unload', () => {
  const a = file('a', 'global', "  - event: delete_module\n    filters: ['args.name=keep*']\n");
  const b = file(
    'b',
    'global',
    "  - event: delete_module\n    filters: ['retval<0']\n  - event: init_module\n",
  );
  const c = compilePolicies([a, b]);
  assert.equal(matchEvent(c, dm('keep_me', 0x800, 0)), 0b01n);
  assert.equal(matchEvent(c, dm('drop_me', 0x800, 0)), 0n);
  assert.equal(matchEvent(c, dm('keep_me', 0x800, -38)), 0b11n);
  assert.equal(matchEvent(c, dm('drop_me', 0x800, -1)), 0b10n);
  // An event no policy selects.
  assert.equal(
    matchEvent(c, { ...dm('x', 0, 0), spec: testCatalog.byName('finit_module') ?? dm('x', 0, 0).spec }),
    0n,
  );
});

test('retval<0, retval=-ENOSYS, and no return value at entry', () => {
  const c = compilePolicies([cli(['delete_module.retval<0']), cli(['delete_module.retval=-ENOSYS'])]);
  assert.equal(matchEvent(c, dm('m', 0, -38)), 0b11n);
  assert.equal(matchEvent(c, dm('m', 0, -1)), 0b01n);
  assert.equal(matchEvent(c, dm('m', 0, 0)), 0n);
  assert.equal(matchEvent(c, dm('m', 0, -38, { atEntry: true })), 0n);
  assert.equal(matchEvent(c, dm('m', 0, -38n as unknown as number)), 0b11n);
});

test('comm=rmmod and uid!=0 in the scope; scopes AND', () => {
  const c = compilePolicies([
    cli(['delete_module'], ['comm=rmmod']),
    cli(['delete_module'], ['uid!=0', 'comm=rmmod,modprobe']),
  ]);
  assert.equal(matchEvent(c, dm('m', 0, 0)), 0b01n);
  assert.equal(matchEvent(c, dm('m', 0, 0, { userId: 1000 })), 0b11n);
  assert.equal(matchEvent(c, dm('m', 0, 0, { userId: 1000, processName: 'modprobe' })), 0b10n);
  assert.equal(matchEvent(c, dm('m', 0, 0, { userId: 1000, processName: 'bash' })), 0n);
  assert.equal(matchScopes(c, dm('m', 0, 0, { processName: 'bash' })), 0n);
});

test('symbolic flags: exact value equality', () => {
  const c = compilePolicies([
    cli(['delete_module.data.flags=O_NONBLOCK|O_TRUNC']),
    cli(['delete_module.data.flags!=O_TRUNC,2560']),
  ]);
  assert.equal(matchEvent(c, dm('m', 0xa00, 0)), 0b01n);
  assert.equal(matchEvent(c, dm('m', 0x800, 0)), 0b10n);
  assert.equal(matchEvent(c, dm('m', 0x200, 0)), 0n);
});

test('string patterns, pid ranges, namespaces, containers, exec, context filters', () => {
  const c = compilePolicies([
    cli(['delete_module.args.name=*_test,*tmp*,nf_*,exact']),
    cli(['delete_module'], ['pid>=1000', 'pid<2000']),
    cli(['delete_module'], ['container']),
    cli(['delete_module'], ['exec=host:/usr/bin/kmod', 'mntns=4026531841', 'pidns!=1']),
    cli(['delete_module.scope.container=false', 'delete_module.scope.ppid=4000']),
    cli(['delete_module'], ['container=abc*']),
  ]);
  const names = (ev: ReturnType<typeof dm>) => matchEvent(c, ev).toString(2).padStart(6, '0');
  assert.equal(names(dm('a_test', 0, 0)), '011001');
  assert.equal(names(dm('xtmpx', 0, 0, { hostProcessId: 1500 })), '011011');
  assert.equal(names(dm('exact', 0, 0, { hostProcessId: 2000 })), '011001');
  assert.equal(names(dm('exactly', 0, 0, { containerId: 'abcdef', parentProcessId: 1 })), '101100');
  assert.equal(names(dm('nf_nat', 0, 0, { executablePath: '/bin/kmod' })), '010001');
});

test('follow: a process matches when it or an ancestor matched; pid=new; tree', () => {
  const c = compilePolicies([
    cli(['delete_module'], ['comm=bash', 'follow']),
    cli(['delete_module'], ['comm=bash']),
  ]);
  const child = dm('m', 0, 0, { processName: 'rmmod', hostProcessId: 5000 });
  assert.equal(matchEvent(c, dm('m', 0, 0, { processName: 'bash' })), 0b11n);
  assert.equal(matchEvent(c, child), 0n);
  const calls: [number, number][] = [];
  const ctx = {
    isDescendantOfMatch: (pid: number, policy: number) => {
      calls.push([pid, policy]);
      return pid === 5000;
    },
  };
  assert.equal(matchEvent(c, child, ctx), 0b01n);
  assert.deepEqual(calls, [[5000, 0]]);
  assert.equal(matchEvent(c, { ...child, hostProcessId: 6000 }, ctx), 0n);

  const n = compilePolicies([cli(['delete_module'], ['pid=new']), cli(['delete_module'], ['tree=4000'])]);
  const ev = dm('m', 0, 0);
  assert.equal(matchEvent(n, ev), 0n);
  assert.equal(matchEvent(n, ev, { startedAtNs: ev.threadStartTime }), 0b01n);
  assert.equal(matchEvent(n, ev, { startedAtNs: ev.threadStartTime + 1n }), 0n);
  assert.equal(matchEvent(n, ev, { isDescendantOf: (pid, root) => pid === 4242 && root === 4000 }), 0b10n);
  assert.equal(matchEvent(n, { ...ev, hostProcessId: 4000 }), 0b10n);
});

test('container=new and container!=new use the container callbacks; a host event is neither', () => {
  const c = compilePolicies([
    cli(['delete_module'], ['container=new']),
    cli(['delete_module'], ['container!=new']),
    cli(['delete_module'], ['container']),
    cli(['delete_module'], ['not-container']),
  ]);
  const isNewContainer = (id: string) => id === 'new1';
  // 'setup1' is a container its runtime has not started yet: no container scope holds, not-container does.
  const isStartedContainer = (id: string) => id !== 'setup1';
  const ctx = { isNewContainer, isStartedContainer };
  assert.equal(matchEvent(c, dm('m', 0, 0, { containerId: 'new1' }), ctx), 0b0101n);
  assert.equal(matchEvent(c, dm('m', 0, 0, { containerId: 'old1' }), ctx), 0b0110n);
  assert.equal(matchEvent(c, dm('m', 0, 0, { containerId: 'setup1' }), ctx), 0b1000n);
  assert.equal(matchEvent(c, dm('m', 0, 0), ctx), 0b1000n);
});
