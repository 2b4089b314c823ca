import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProcessTree } from './process-tree.js';

const proc = (pid: number) => ({ pid, ppid: 1, comm: `p${pid}`, exe: '', startTime: 0n });

test('LRU order holds when the most recent process is looked up again and again', () => {
  const t = new ProcessTree({ maxEntries: 2, lookupMisses: false, now: () => 0 });
  t.upsert(proc(1));
  t.upsert(proc(2));
  assert.equal(t.get(2)?.pid, 2);
  assert.equal(t.get(2)?.pid, 2);
  assert.equal(t.get(1)?.pid, 1); // now 1 is the most recent
  assert.equal(t.get(1)?.pid, 1);
  t.upsert(proc(3)); // evicts 2
  assert.equal(t.get(2), undefined);
  assert.deepEqual([t.get(1)?.pid, t.get(3)?.pid], [1, 3]);
  t.upsert(proc(4)); // 3 was touched last: 1 goes
  assert.equal(t.get(1), undefined);
  assert.equal(t.size, 2);
});

test('a most recent process that expires is not reused', () => {
  let now = 0;
  const t = new ProcessTree({ maxEntries: 4, graceMs: 10, lookupMisses: false, now: () => now });
  t.upsert({ ...proc(5), exitedAt: 0 });
  assert.equal(t.get(5)?.pid, 5);
  now = 11;
  assert.equal(t.get(5), undefined);
  t.upsert(proc(6));
  t.upsert(proc(5));
  t.upsert(proc(7));
  t.upsert(proc(8));
  t.upsert(proc(9)); // evicts 6, the least recent
  assert.equal(t.get(6), undefined);
  assert.equal(t.get(5)?.pid, 5);
});
