import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseValue, renderValue, tableAliases, valueTables } from './index.js';

const tables = Object.entries(valueTables);

const expectedNames = [
  'access_mode',
  'at_flags',
  'bpf_cmd',
  'capability',
  'clockid',
  'clone_flags',
  'delete_module_flags',
  'epoll_ctl_op',
  'errno',
  'fcntl_cmd',
  'file_mode',
  'finit_module_flags',
  'futex_op',
  'madvise_advice',
  'memfd_flags',
  'mmap_flags',
  'mmap_prot',
  'mount_flags',
  'msg_flags',
  'open_flags',
  'prctl_option',
  'ptrace_request',
  'renameat2_flags',
  'rlimit_resource',
  'seek_whence',
  'signal',
  'socket_domain',
  'socket_level',
  'socket_type',
  'umount_flags',
  'unshare_flags',
];

describe('valueTables', () => {
  test('holds exactly the agreed tables', () => {
    assert.deepEqual(Object.keys(valueTables).sort(), expectedNames);
  });

  test('every key equals its table name', () => {
    for (const [key, table] of tables) assert.equal(table.name, key);
  });

  test('no duplicate names within a table; no duplicate values within an enum or among flags', () => {
    for (const [key, table] of tables) {
      const names = table.entries.map((e) => e.name);
      assert.equal(new Set(names).size, names.length, `${key} has a duplicate name`);
      const values = table.entries
        .filter((e) => table.kind === 'enum' || e.inMask !== true)
        .map((e) => e.value);
      assert.equal(new Set(values).size, values.length, `${key} has a duplicate value`);
    }
  });

  test('values are safe non-negative integers; inMask entries only where enumMask is set and inside it', () => {
    for (const [key, table] of tables) {
      for (const e of table.entries) {
        assert.ok(Number.isSafeInteger(e.value) && e.value >= 0, `${key}.${e.name}`);
        if (e.inMask === true) {
          assert.ok(table.kind === 'flags' && table.enumMask !== undefined, `${key}.${e.name}`);
          assert.equal(
            BigInt(e.value) & ~BigInt(table.enumMask ?? 0),
            0n,
            `${key}.${e.name} outside enumMask`,
          );
        }
      }
    }
  });

  test('the module tables give every entry a one-line meaning', () => {
    for (const key of ['delete_module_flags', 'finit_module_flags']) {
      for (const e of valueTables[key]?.entries ?? []) {
        assert.ok((e.meaning ?? '').length > 20 && !(e.meaning ?? '').includes('\n'), `${key}.${e.name}`);
      }
    }
    assert.equal(
      valueTables['delete_module_flags']?.entries.map((e) => e.name).join('|'),
      'O_NONBLOCK|O_TRUNC',
    );
  });

  test('aliases point at names in their table and do not shadow entries', () => {
    for (const [key, aliases] of Object.entries(tableAliases)) {
      const table = valueTables[key];
      assert.ok(table !== undefined, `aliases for unknown table ${key}`);
      const names = new Set(table.entries.map((e) => e.name));
      for (const [alias, canonical] of Object.entries(aliases)) {
        assert.ok(names.has(canonical), `${key}: ${alias} -> ${canonical}`);
        assert.ok(!names.has(alias), `${key}: alias ${alias} is also an entry`);
      }
    }
  });

  test('every entry of every table survives parse then render', () => {
    let count = 0;
    for (const [key, table] of tables) {
      // A zero enum part (O_RDONLY, FUTEX_WAIT) is always printed, as Tracee prints O_RDONLY.
      const zeroPart = table.entries.find((e) => e.inMask === true && e.value === 0)?.name;
      for (const e of table.entries) {
        const parsed = parseValue(table, e.name);
        assert.equal(parsed, e.value, `${key}.${e.name} parse`);
        const expected = zeroPart !== undefined && e.inMask !== true ? `${zeroPart}|${e.name}` : e.name;
        assert.equal(renderValue(table, parsed), expected, `${key}.${e.name} render`);
        count++;
      }
    }
    assert.ok(count > 600, `only ${count} entries`);
  });

  test('flag tables: rendering any two flags parses back to the same value', () => {
    for (const [key, table] of tables) {
      if (table.kind !== 'flags') continue;
      const flags = table.entries.filter((e) => e.inMask !== true && e.value !== 0);
      for (const a of flags) {
        for (const b of flags) {
          const v = BigInt(a.value) | BigInt(b.value);
          const text = renderValue(table, v);
          assert.equal(BigInt(parseValue(table, text)), v, `${key}: ${a.name}|${b.name} -> ${text}`);
        }
      }
    }
  });
});
