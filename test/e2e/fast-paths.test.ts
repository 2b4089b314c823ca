/**
 * End to end: the kernel fast paths (CaptureSpec.fastPaths) change what a record costs, never what it says.
 * The same calls are traced with every fast path on and with each one turned off: openat and
 * security_file_open selected together (both carry the caller's path, which KT_SET_STR_ONCE reads once),
 * and delete_module from the delmod helper (small records reserved in the ring, a NULL and a faulting name).
 * The decoded values must be the expected ones, and the same in every configuration. Root only.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type FastPaths, openCapture } from '../../src/capture/session.js';
import { eventById, eventByName } from '../../src/catalog/index.js';
import type { EventSpec } from '../../src/catalog/types.js';
import { Decoder } from '../../src/decode/decode.js';
import type { TraceEvent } from '../../src/decode/event.js';
import { loadNative } from '../../src/native/binding.js';
import { helpers, liveSkipReason } from './run-ktrail.js';

const delmodPath = resolve(helpers, 'delmod');

function skipReason(): string | undefined {
  return (
    liveSkipReason() ??
    (existsSync(delmodPath) ? undefined : `${delmodPath} is missing: run make -C test/helpers`)
  );
}

const CONFIGS: readonly [string, FastPaths][] = [
  ['every fast path', {}],
  ['without task storage', { taskStorage: false }],
  ['without direct task reads', { directTask: false }],
  ['without wakeups at the crossing only', { wakeOnCrossing: false }],
  ['without ring reserve', { ringReserve: false }],
  ['without reading the path once', { strOnce: false }],
  ['raw_tp programs', { btfPrograms: false }],
];

/** What the test compares: per traced call, its event, syscall, return value and arguments. */
type Row = [event: string, syscall: string, ret: string, args: Record<string, unknown>];

function row(e: TraceEvent): Row {
  const args: Record<string, unknown> = {};
  for (const a of e.args) {
    // ctime changes when the file does; the other values do not between the runs.
    if (a.name === 'ctime') continue;
    args[a.name] = a.problem === undefined ? a.value : { value: a.value, problem: a.problem };
  }
  return [e.spec.name, e.syscall, String(e.returnValue), args];
}

const reason = skipReason();

describe('kernel fast paths, live: the same values with each one off', { skip: reason }, () => {
  let dir = '';
  const longName = 'l'.repeat(200);
  const rows = new Map<string, Row[]>();

  /** The files `cat` opens, as it names them (relative to `dir`, its cwd, but one). */
  const names = (): string[] => ['a', './sub/../b', join(dir, 'sub', 'c'), `${longName}/${longName}/d`];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ktrail-fastpaths-'));
    mkdirSync(join(dir, 'sub'));
    mkdirSync(join(dir, longName, longName), { recursive: true });
    for (const f of ['a', 'b', join('sub', 'c'), join(longName, longName, 'd')])
      writeFileSync(join(dir, f), 'x');
    const specs = ['openat', 'security_file_open', 'delete_module'].map((n) => {
      const s = eventByName(n);
      assert.ok(s, `the catalog has ${n}`);
      return s as EventSpec;
    });
    const clocks = loadNative().clocks();
    for (const [name, fastPaths] of CONFIGS) {
      const batches: Buffer[] = [];
      const cap = await openCapture({
        events: specs,
        fastPaths,
        onBatch: (b) => batches.push(Buffer.from(b)),
      });
      let catPid = 0;
      let delmodPid = 0;
      try {
        const cat = spawnSync('cat', names(), { cwd: dir, encoding: 'utf8' });
        assert.equal(cat.status, 0, `cat: ${cat.stderr}`);
        assert.equal(cat.stdout, 'xxxx');
        catPid = cat.pid ?? 0;
        const dm = spawnSync(delmodPath, { encoding: 'utf8' });
        assert.equal(dm.status, 0, `delmod: ${dm.stderr}`);
        delmodPid = dm.pid ?? 0;
        const seen = (): number => batches.reduce((n, b) => n + b.length, 0);
        // Both helpers have exited: their records are in the ring; give the poller time to hand them over.
        let last = -1;
        for (let i = 0; i < 100 && seen() !== last; i++) {
          last = seen();
          await sleep(50);
        }
      } finally {
        await cap.close();
      }
      const decoder = new Decoder({ eventById, bootToEpochNs: clocks.realtime - clocks.boottime });
      const events: TraceEvent[] = [];
      for (const b of batches) decoder.decodeBatch(b, events);
      assert.deepEqual(decoder.errors, { short_record: 0, bad_size: 0, unknown_event: 0, bad_blob: 0 }, name);
      const mine = events.filter(
        (e) =>
          (e.hostProcessId === catPid &&
            (e.spec.name === 'security_file_open'
              ? String(e.args.find((a) => a.name === 'pathname')?.value).startsWith(dir)
              : names().includes(String(e.args.find((a) => a.name === 'pathname')?.value)))) ||
          (e.hostProcessId === delmodPid && e.spec.name === 'delete_module'),
      );
      rows.set(
        name,
        mine.map(row).sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1)),
      );
    }
  });

  after(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('with every fast path: the opens of cat and their security_file_open, exactly', () => {
    const got = rows.get('every fast path') ?? [];
    const opens = got.filter((r) => r[0] !== 'delete_module');
    const paths = names();
    const full = ['a', 'b', join('sub', 'c'), join(longName, longName, 'd')].map((f) => join(dir, f));
    const inode = (p: string) => Number(statSync(p).ino);
    const want = paths.flatMap((p, i) => {
      const open = opens.find((r) => r[0] === 'openat' && r[3]['pathname'] === p);
      assert.ok(open, `the openat of ${p}: ${JSON.stringify(opens)}`);
      const fo = opens.find((r) => r[0] === 'security_file_open' && r[3]['syscall_pathname'] === p);
      assert.ok(fo, `the security_file_open of ${p}: ${JSON.stringify(opens)}`);
      assert.equal(fo[1], 'openat');
      assert.equal(fo[3]['pathname'], full[i]);
      assert.equal(fo[3]['inode'], inode(full[i]!));
      assert.ok(Number(open[2]) >= 0, `openat ${p} returned ${open[2]}`);
      return [open, fo];
    });
    assert.equal(opens.length, want.length, JSON.stringify(opens));
  });

  it('with every fast path: the delete_module calls of delmod, exactly', () => {
    const got = (rows.get('every fast path') ?? []).filter((r) => r[0] === 'delete_module');
    const names = got.map((r) => JSON.stringify(r[3]['name']));
    // delmod's names (test/helpers/delmod.c); the NULL and the unmapped pointers give a problem, no value.
    const want = [
      '"ktrail_zero"',
      JSON.stringify(`ktrail_long_${'a'.repeat(43)}`),
      JSON.stringify({ value: '', problem: 'null' }),
      JSON.stringify({ value: '', problem: 'fault' }),
      ...Array.from({ length: 8 }, (_, i) => `"ktrail_thr_${i}"`),
    ];
    assert.deepEqual(names.sort(), want.sort());
  });

  for (const [name] of CONFIGS.slice(1)) {
    it(`${name}: the same records as with every fast path`, () => {
      assert.deepEqual(rows.get(name), rows.get('every fast path'));
    });
  }
});
