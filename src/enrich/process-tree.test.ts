import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { EventSpec, FieldSpec } from '../catalog/types.js';
import type { ArgValue, TraceEvent } from '../decode/event.js';
import { ProcessTree, parseProcStat } from './process-tree.js';

function spec(id: number, name: string): EventSpec {
  return { id, name, version: '1.0.0', kind: 'lifecycle', description: '', sets: [], fields: [], probes: [] };
}

function ev(
  id: number,
  pid: number,
  ppid: number,
  comm: string,
  args: Record<string, ArgValue> = {},
): TraceEvent {
  const names = { 714: 'sched_process_fork', 715: 'sched_process_exec', 716: 'sched_process_exit' } as Record<
    number,
    string
  >;
  return {
    spec: spec(id, names[id] ?? 'delete_module'),
    timestamp: 0n,
    threadStartTime: 0n,
    processorId: 0,
    processId: pid,
    cgroupId: 1n,
    threadId: pid,
    parentProcessId: ppid,
    hostProcessId: pid,
    hostThreadId: pid,
    hostParentProcessId: ppid,
    userId: 0,
    groupId: 0,
    mountNamespace: 0,
    pidNamespace: 0,
    processName: comm,
    executablePath: '',
    hostName: '',
    containerId: '',
    returnValue: 0,
    syscall: '',
    isCompat: false,
    atEntry: false,
    args: Object.entries(args).map(([name, value]) => ({ name, type: 'int32' as FieldSpec['type'], value })),
    seq: 0n,
    durationNs: undefined,
    matched: 1n,
    leaderStartTime: 5n,
    parentStartTime: 1n,
  };
}

const fork = (parent: number, grand: number, child: number, comm: string) =>
  ev(714, parent, grand, comm, {
    child_tid: child,
    child_pid: child,
    parent_process_pid: parent,
    start_time: 9n,
  });

test('fork, exec and exit keep the tree current; ancestry names the shell', () => {
  const t = new ProcessTree({ lookupMisses: false, now: () => 0 });
  t.upsert({ pid: 1, ppid: 0, comm: 'init', exe: '/sbin/init', startTime: 0n });
  t.upsert({ pid: 100, ppid: 1, comm: 'bash', exe: '/usr/bin/bash', startTime: 1n });
  t.observe(fork(100, 1, 200, 'bash'));
  assert.deepEqual(t.get(200), {
    pid: 200,
    ppid: 100,
    comm: 'bash',
    exe: '/usr/bin/bash',
    startTime: 9n,
    exitedAt: undefined,
  });
  t.observe(ev(715, 200, 100, 'rmmod', { pathname: '/usr/bin/kmod' }));
  assert.equal(t.get(200)?.exe, '/usr/bin/kmod');
  assert.equal(t.get(200)?.comm, 'rmmod');
  assert.equal(t.get(200)?.startTime, 5n);
  const del = ev(176, 200, 100, 'rmmod');
  t.enrich(del);
  assert.equal(del.executablePath, '/usr/bin/kmod');
  assert.deepEqual(t.ancestry(200, 5), [
    { pid: 100, comm: 'bash', exe: '/usr/bin/bash' },
    { pid: 1, comm: 'init', exe: '/sbin/init' },
  ]);
  assert.deepEqual(t.ancestry(200, 1), [{ pid: 100, comm: 'bash', exe: '/usr/bin/bash' }]);
  assert.equal(
    t.isDescendantOf(200, (p) => p.comm === 'bash'),
    true,
  );
  assert.equal(
    t.isDescendantOf(200, (p) => p.pid === 200),
    true,
    'a process follows itself',
  );
  assert.equal(
    t.isDescendantOf(100, (p) => p.comm === 'rmmod'),
    false,
  );
});

test('a new thread does not add a process; a non-group exit keeps it', () => {
  const t = new ProcessTree({ lookupMisses: false, now: () => 0 });
  t.upsert({ pid: 100, ppid: 1, comm: 'app', exe: '/app', startTime: 1n });
  t.observe(
    ev(714, 100, 1, 'app', { child_tid: 101, child_pid: 100, parent_process_pid: 1, start_time: 9n }),
  );
  assert.equal(t.get(101), undefined);
  t.observe(ev(716, 100, 1, 'app', { process_group_exit: false }));
  assert.equal(t.get(100)?.exitedAt, undefined);
});

test('exited processes stay for the grace period, then go', () => {
  let now = 1000;
  const t = new ProcessTree({ lookupMisses: false, graceMs: 5000, now: () => now });
  t.upsert({ pid: 100, ppid: 1, comm: 'sh', exe: '/bin/sh', startTime: 1n });
  t.upsert({ pid: 200, ppid: 100, comm: 'x', exe: '/x', startTime: 2n });
  t.observe(ev(716, 100, 1, 'sh', { process_group_exit: true }));
  now = 6000; // exactly 5 s later: still there
  assert.equal(t.get(100)?.exe, '/bin/sh');
  assert.deepEqual(t.ancestry(200, 3), [{ pid: 100, comm: 'sh', exe: '/bin/sh' }]);
  now = 6001;
  assert.equal(t.get(100), undefined);
  assert.deepEqual(t.ancestry(200, 3), []);
  // sweep removes expired entries that are never looked up again
  t.upsert({ pid: 300, ppid: 1, comm: 'y', exe: '/y', startTime: 3n });
  t.observe(ev(716, 300, 1, 'y', { process_group_exit: true }));
  now = 20000;
  t.sweep();
  assert.equal(t.size, 1);
});

test('the tree is bounded: the least recently used process is evicted', () => {
  const t = new ProcessTree({ lookupMisses: false, maxEntries: 3, now: () => 0 });
  for (const pid of [1, 2, 3]) t.upsert({ pid, ppid: 0, comm: `p${pid}`, exe: '', startTime: 0n });
  assert.ok(t.get(1)); // 1 becomes the most recent; 2 is now the least recent
  t.upsert({ pid: 4, ppid: 0, comm: 'p4', exe: '', startTime: 0n });
  assert.equal(t.size, 3);
  assert.equal(t.get(2), undefined);
  assert.deepEqual([t.get(1)?.pid, t.get(3)?.pid, t.get(4)?.pid], [1, 3, 4]);
  assert.throws(() => new ProcessTree({ maxEntries: 0 }), RangeError);
});

test('enrich learns unknown processes from the record and keeps the kernel parent', () => {
  const t = new ProcessTree({ lookupMisses: false, now: () => 0 });
  const e = ev(176, 500, 400, 'rmmod');
  e.parentProcessId = 0;
  t.enrich(e);
  assert.equal(t.get(500)?.ppid, 400);
  assert.equal(e.parentProcessId, 400, 'filled from the tree in the initial pid namespace');
  // a reparenting (the parent died) is followed
  t.enrich(ev(176, 500, 1, 'rmmod'));
  assert.equal(t.get(500)?.ppid, 1);
});

test('/proc seeding: stat parsing with odd comms, exe via readlink, start in epoch ns', () => {
  assert.deepEqual(parseProcStat('42 (a b) c)) S 7 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 1234 0 0'), {
    comm: 'a b) c)',
    ppid: 7,
    startTicks: 1234n,
  });
  assert.equal(parseProcStat('garbage'), undefined);
  const dir = mkdtempSync(join(tmpdir(), 'ktrail-proc-'));
  try {
    mkdirSync(join(dir, '42'));
    writeFileSync(
      join(dir, '42', 'stat'),
      '42 (sh) S 7 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 250 0 0\n',
    );
    symlinkSync('/usr/bin/dash', join(dir, '42', 'exe'));
    mkdirSync(join(dir, '2'));
    writeFileSync(
      join(dir, '2', 'stat'),
      '2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0\n',
    );
    mkdirSync(join(dir, 'self'));
    const t = new ProcessTree({ procRoot: dir, bootToEpochNs: 1_000_000_000_000n, now: () => 0 });
    assert.equal(t.seedFromProc(), 2);
    assert.deepEqual(t.get(42), {
      pid: 42,
      ppid: 7,
      comm: 'sh',
      exe: '/usr/bin/dash',
      startTime: 1_002_500_000_000n,
      exitedAt: undefined,
    });
    assert.equal(t.get(2)?.exe, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
