import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EventSpec } from '../catalog/types.js';
import { KtrailError } from '../errors.js';
import { type SelectionCatalog, selectEvents } from './select.js';

function ev(id: number, name: string, sets: string[]): EventSpec {
  return { id, name, version: '1.0.0', kind: 'syscall', description: '', sets, fields: [], probes: [] };
}
const events = [
  ev(2, 'open', ['syscalls', 'fs']),
  ev(175, 'init_module', ['default', 'syscalls', 'system', 'system_module']),
  ev(176, 'delete_module', ['syscalls', 'system', 'system_module']),
  ev(257, 'openat', ['syscalls', 'fs']),
  ev(304, 'open_by_handle_at', ['syscalls', 'fs']),
];
const cat: SelectionCatalog = {
  events,
  byName: (n) => events.find((e) => e.name === n),
  setNames: ['default', 'fs', 'syscalls', 'system', 'system_module'],
  suggest: (n) => (n.startsWith('delete') ? ['delete_module'] : []),
  defaultNames: ['init_module', 'delete_module'],
};
const names = (exprs: string[]) => selectEvents(exprs, cat).events.map((e) => e.name);

test('names, sets, tag= and wildcards', () => {
  assert.deepEqual(names(['delete_module']), ['delete_module']);
  assert.deepEqual(names(['system_module']), ['init_module', 'delete_module']);
  assert.deepEqual(names(['tag=fs,system_module']), [
    'open',
    'init_module',
    'delete_module',
    'openat',
    'open_by_handle_at',
  ]);
  assert.deepEqual(names(['open*', '-open_by_handle_at']), ['open', 'openat']);
  assert.deepEqual(names(['openat,delete_module']), ['delete_module', 'openat']);
});

test('no positive selector means the default set, minus exclusions', () => {
  assert.deepEqual(names([]), ['init_module', 'delete_module']);
  assert.deepEqual(names(['-delete_module']), ['init_module']);
  assert.equal(selectEvents([], cat).usedDefault, true);
  assert.equal(selectEvents(['openat'], cat).usedDefault, false);
});

test('unknown names fail with a suggestion and exit status 2', () => {
  assert.throws(
    () => names(['delete_modul']),
    (e: unknown) =>
      e instanceof KtrailError &&
      e.message === "--events 'delete_modul': unknown event or set 'delete_modul'" &&
      e.hint === "did you mean 'delete_module'? 'ktrail list' shows every event" &&
      e.exitCode === 2,
  );
  assert.throws(() => names(['tag=nope']), /unknown set 'nope'/);
  assert.throws(() => names(['zz*']), /no event name starts with 'zz'/);
  assert.throws(
    () => names(['delete_module.args.name=foo']),
    (e: unknown) =>
      e instanceof KtrailError &&
      e.code === 'BAD_FILTER' &&
      e.message ===
        "--events 'delete_module.args.name=foo': 'delete_module.args.name=foo' is not an event name",
  );
  assert.deepEqual(
    selectEvents(['-openat'], cat, '--events', ['openat', 'delete_module']).events.map((e) => e.name),
    ['delete_module'],
  );
});
