/**
 * The ABI generator and its staleness check. The check runs as `npm run gen:check` does (the compiled script,
 * `--check`), on a copy of bpf/include and src/abi/abi.gen.ts: unchanged it passes, and a header edited
 * without regenerating fails with a message naming what to run. The BTF-derived part is checked against the
 * built object when it exists (npm run setup).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { event_hdr_t, maps, syscall_cfg_t } from '../src/abi/abi.gen.js';
import { packageRoot } from '../src/native/binding.js';
import { type BtfType, headerHash, readAbi, recordedHash, renderAbi, staleReason } from './gen-abi.js';

const root = packageRoot();
const script = resolve(root, 'dist', 'scripts', 'gen-abi.js');
const generated = resolve(root, 'src', 'abi', 'abi.gen.ts');
const object = resolve(root, 'build', 'bpf', 'ktrail.bpf.o');

function check(include: string, gen: string, extra: string[] = []) {
  return spawnSync(
    process.execPath,
    [script, '--check', '--include', include, '--generated', gen, ...extra],
    {
      encoding: 'utf8',
    },
  );
}

describe('gen-abi --check', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ktrail-abi-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const include = join(dir, 'include');
  const gen = join(dir, 'abi.gen.ts');
  cpSync(resolve(root, 'bpf', 'include'), include, { recursive: true });
  copyFileSync(generated, gen);

  it('passes on the committed headers and generated file', () => {
    const r = check(include, gen);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /is up to date/);
  });

  it('fails when a header changed and the file was not regenerated', () => {
    appendFileSync(join(include, 'wire.h'), '\n/* a change */\n');
    const r = check(include, gen);
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /is out of date: bpf\/include\/\*\.h changed since it was generated; run 'npm run gen'/,
    );
  });

  it('fails when the generated file was edited by hand', () => {
    copyFileSync(resolve(root, 'bpf', 'include', 'wire.h'), join(include, 'wire.h'));
    const text = readFileSync(generated, 'utf8').replace('  KT_MAX_ARGS: 6,', '  KT_MAX_ARGS: 7,');
    assert.equal(
      staleReason(text, headerHash(include), readFileSync(generated, 'utf8')),
      'it differs from the BTF of the built object',
    );
    assert.equal(staleReason(text, headerHash(include)), undefined, 'the hash alone cannot see a hand edit');
  });
});

describe('the generated ABI', () => {
  it('records the hash of the committed headers', () => {
    assert.equal(recordedHash(readFileSync(generated, 'utf8')), headerHash(resolve(root, 'bpf', 'include')));
  });

  it('describes the record header and the configuration maps', () => {
    assert.equal(event_hdr_t.ts, 0);
    assert.equal(event_hdr_t.args, 56);
    assert.ok(event_hdr_t.SIZE % 8 === 0);
    assert.equal(maps['syscall_cfg_map']?.valueSize, syscall_cfg_t.SIZE);
    assert.equal(maps['stats_map']?.keySize, 4);
  });

  it('equals a fresh generation from the built object', {
    skip: !existsSync(object) && 'build/bpf/ktrail.bpf.o is not built',
  }, () => {
    const r = check(resolve(root, 'bpf', 'include'), generated, ['--object', object]);
    assert.equal(r.status, 0, r.stderr);
  });
});

describe('readAbi', () => {
  // A hand-made BTF: struct kt_abi { enum e e; struct s s; }, one map and one settings section.
  const types: BtfType[] = [
    { id: 1, kind: 'INT', name: 'unsigned int', size: 4 },
    { id: 2, kind: 'ENUM', name: 'e', size: 4, values: [{ name: 'E_A', val: 3 }] },
    {
      id: 3,
      kind: 'STRUCT',
      name: 's',
      size: 8,
      members: [
        { name: 'a', type_id: 1, bits_offset: 0 },
        { name: 'b', type_id: 1, bits_offset: 32 },
      ],
    },
    {
      id: 4,
      kind: 'STRUCT',
      name: 'kt_abi',
      size: 12,
      members: [
        { name: 'e', type_id: 2, bits_offset: 0 },
        { name: 's', type_id: 3, bits_offset: 32 },
      ],
    },
    { id: 5, kind: 'ARRAY', name: '(anon)', type_id: 1, nr_elems: 2 },
    { id: 6, kind: 'PTR', name: '(anon)', type_id: 5 },
    { id: 7, kind: 'ARRAY', name: '(anon)', type_id: 1, nr_elems: 9 },
    { id: 8, kind: 'PTR', name: '(anon)', type_id: 7 },
    { id: 9, kind: 'PTR', name: '(anon)', type_id: 1 },
    { id: 10, kind: 'PTR', name: '(anon)', type_id: 3 },
    {
      id: 11,
      kind: 'STRUCT',
      name: '(anon)',
      size: 32,
      members: [
        { name: 'type', type_id: 6, bits_offset: 0 },
        { name: 'max_entries', type_id: 8, bits_offset: 64 },
        { name: 'key', type_id: 9, bits_offset: 128 },
        { name: 'value', type_id: 10, bits_offset: 192 },
      ],
    },
    { id: 12, kind: 'VAR', name: 'm_map', type_id: 11 },
    { id: 13, kind: 'DATASEC', name: '.maps', size: 0, vars: [{ type_id: 12, offset: 0, size: 32 }] },
    { id: 14, kind: 'VOLATILE', name: '(anon)', type_id: 3 },
    { id: 15, kind: 'VAR', name: 'cfg', type_id: 14 },
    { id: 16, kind: 'DATASEC', name: '.rodata.cfg', size: 0, vars: [{ type_id: 15, offset: 0, size: 8 }] },
  ];

  it('reads enums, structs with offsets, maps and settings sections', () => {
    const abi = readAbi(types);
    assert.deepEqual(abi, {
      enums: [{ name: 'e', values: [['E_A', 3]] }],
      structs: [
        {
          name: 's',
          size: 8,
          members: [
            { name: 'a', offset: 0 },
            { name: 'b', offset: 4 },
          ],
        },
      ],
      maps: [{ name: 'm_map', type: 2, keySize: 4, valueSize: 8, maxEntries: 9 }],
      sections: [{ name: '.rodata.cfg', size: 8, type: 's' }],
    });
    const text = renderAbi(abi, 'f'.repeat(64));
    assert.match(text, /^\/\/ Generated by scripts\/gen-abi\.ts/);
    assert.match(text, /export const s = \{\n {2}SIZE: 8,\n {2}a: 0,\n {2}b: 4,\n\} as const;/);
    assert.match(text, /m_map: \{ type: 2, keySize: 4, valueSize: 8, maxEntries: 9 \},/);
    assert.equal(recordedHash(text), 'f'.repeat(64));
  });

  it('refuses an object without the ABI anchor', () => {
    assert.throws(() => readAbi(types.filter((t) => t.name !== 'kt_abi')), /no struct kt_abi/);
  });
});
