/**
 * End to end: load the real BPF object, trace delete_module (plus getppid, to check that ktrail never
 * records itself), trigger it with `rmmod -f` and the delmod helper, and check the raw records with a small
 * local reader of event_hdr_t (the full decoder lives in src/decode). Root only; skips with a reason.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { blob_hdr_t, event_hdr_t as HDR } from '../../src/abi/abi.gen.js';
import { type Capture, openCapture } from '../../src/capture/session.js';
import type { EventSpec } from '../../src/catalog/types.js';
import { nativeAvailable, packageRoot } from '../../src/native/binding.js';

const root = packageRoot();
const objectPath = resolve(root, 'build', 'bpf', 'ktrail.bpf.o');
const delmodPath = resolve(root, 'build', 'helpers', 'delmod');

function skipReason(): string | undefined {
  if (process.geteuid?.() !== 0) return 'needs root (loads BPF programs)';
  if (!existsSync(objectPath)) return `${objectPath} is missing: run make -C bpf`;
  if (!nativeAvailable()) return 'the native addon is missing: run npm run build:native';
  if (!existsSync(delmodPath)) return `${delmodPath} is missing: run make -C test/helpers`;
  if (spawnSync('rmmod', ['--version']).error !== undefined) return 'rmmod (kmod) is not installed';
  return undefined;
}

const deleteModule: EventSpec = {
  id: 176,
  name: 'delete_module',
  version: '1.0.0',
  kind: 'syscall',
  description: 'unload a kernel module',
  sets: ['syscalls', 'system', 'system_module'],
  fields: [
    { name: 'name', cType: 'const char *', type: 'string', decode: { wire: 'str', max: 64 }, tags: ['U'] },
    { name: 'flags', cType: 'unsigned int', type: 'int32', decode: { wire: 'reg' }, tags: ['K'] },
    { name: 'returnValue', cType: 'long', type: 'int64', decode: { wire: 'reg' }, tags: ['K'] },
  ],
  probes: [],
  syscall: { nr: 176, compatNrs: [129], emit: 'exit' },
};

const getppid: EventSpec = {
  ...deleteModule,
  id: 110,
  name: 'getppid',
  sets: ['syscalls'],
  fields: [{ name: 'returnValue', cType: 'long', type: 'int64', decode: { wire: 'reg' }, tags: ['K'] }],
  syscall: { nr: 110, compatNrs: [64], emit: 'exit' },
};

/** The header fields this test checks (offsets from src/abi/abi.gen.ts). */
interface Rec {
  seq: bigint;
  duration: bigint;
  retval: bigint;
  args: bigint[];
  eventId: number;
  hostPid: number;
  hostTid: number;
  flags: number;
  size: number;
  comm: string;
  payload: Buffer;
}

function cstr(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('latin1');
}

function readBatch(batch: Buffer, out: Rec[]): void {
  for (let off = 0; off < batch.length; ) {
    const len = batch.readUInt32LE(off);
    const r = batch.subarray(off + 4, off + 4 + len);
    off += 4 + len;
    const args: bigint[] = [];
    for (let i = 0; i < 6; i++) args.push(r.readBigUInt64LE(HDR.args + i * 8));
    out.push({
      seq: r.readBigUInt64LE(HDR.seq),
      duration: r.readBigUInt64LE(HDR.duration_ns),
      retval: r.readBigInt64LE(HDR.retval),
      args,
      eventId: r.readUInt32LE(HDR.event_id),
      hostPid: r.readUInt32LE(HDR.host_pid),
      hostTid: r.readUInt32LE(HDR.host_tid),
      flags: r.readUInt32LE(HDR.flags),
      size: r.readUInt32LE(HDR.size),
      comm: cstr(r.subarray(HDR.comm, HDR.uts)),
      payload: r.subarray(HDR.SIZE),
    });
  }
}

/** The first blob of a payload: {len, status, kind, text}. */
function blob(p: Buffer): { len: number; status: number; kind: number; text: string } {
  const len = p.readUInt16LE(blob_hdr_t.len);
  return {
    len,
    status: p[blob_hdr_t.status]!,
    kind: p[blob_hdr_t.kind]!,
    text: p.subarray(blob_hdr_t.SIZE, blob_hdr_t.SIZE + len).toString('latin1'),
  };
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await sleep(5);
  }
  return true;
}

function ktrailPrograms(): string[] {
  const out = execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' });
  const progs = JSON.parse(out) as { name?: string }[];
  return progs.map((p) => p.name ?? '').filter((n) => n.startsWith('raw_tp__syscalls'));
}

const reason = skipReason();

describe('capture e2e (delete_module)', { skip: reason }, () => {
  const recs: Rec[] = [];
  let cap: Capture;
  let rmmodPid = 0;
  let rmmodStatus: number | null = null;
  let firstLatencyMs = -1;
  let helper: Map<string, number[]>;
  let pythonPid = 0;

  before(async () => {
    assert.deepEqual(ktrailPrograms(), [], 'a ktrail program is already attached');
    cap = await openCapture({
      events: [deleteModule, getppid],
      objectPath,
      onBatch: (b) => readBatch(b, recs),
    });

    const t0 = performance.now();
    const r = spawnSync('rmmod', ['-f', 'some_mod'], { encoding: 'utf8' });
    rmmodPid = r.pid ?? 0;
    rmmodStatus = r.status;
    const t1 = performance.now();
    await waitFor(() => recs.some((x) => x.hostPid === rmmodPid), 2000);
    firstLatencyMs = performance.now() - t1;
    void t0;

    for (let i = 0; i < 50; i++) void process.ppid; // getppid() from ktrail itself: must not be recorded
    const py = spawnSync('python3', ['-c', 'import os; os.getppid()']); // ...but from a child it is
    await waitFor(() => recs.some((x) => x.eventId === 110 && x.hostPid === py.pid), 2000);
    pythonPid = py.pid ?? 0;
    const out = execFileSync(delmodPath, { encoding: 'utf8' });
    helper = new Map();
    for (const line of out.trim().split('\n')) {
      const [what, tid] = line.split(' ');
      helper.set(what!, [...(helper.get(what!) ?? []), Number(tid)]);
    }
    const helperTids = new Set([...helper.values()].flat());
    await waitFor(
      () => recs.filter((x) => x.eventId === 176 && helperTids.has(x.hostTid)).length >= 12,
      2000,
    );
  });

  after(async () => {
    await cap?.close();
  });

  it('records rmmod -f some_mod exactly once, with every header field', (t) => {
    t.diagnostic(
      `openCapture to attached: ${cap.startupMs.toFixed(1)} ms; first record after ${firstLatencyMs.toFixed(1)} ms`,
    );
    assert.notEqual(rmmodStatus, 0);
    const mine = recs.filter((x) => x.hostPid === rmmodPid && x.eventId === 176);
    assert.equal(mine.length, 1);
    const r = mine[0]!;
    assert.equal(blob(r.payload).text, 'some_mod');
    assert.deepEqual(blob(r.payload), { len: 8, status: 0, kind: 2, text: 'some_mod' });
    assert.equal(r.args[1], 0xa00n);
    assert.equal(r.retval, -38n);
    assert.equal(r.comm, 'rmmod');
    assert.equal(r.hostTid, rmmodPid);
    assert.equal(r.flags, 0);
    assert.equal(r.size, HDR.SIZE + blob_hdr_t.SIZE + 8);
    t.diagnostic(`delete_module record size: ${r.size} bytes`);
    assert.ok(r.seq > 0n);
    assert.ok(r.duration > 0n);
    assert.ok(firstLatencyMs < 1000, `first record took ${firstLatencyMs} ms`);
  });

  it('reads a 55-character name exactly and marks a NULL name', () => {
    const [tid] = helper.get('long')!;
    const long = recs.filter((x) => x.eventId === 176 && x.hostTid === tid && x.args[0] !== 0n);
    const names = long.map((x) => blob(x.payload));
    const expected = `ktrail_long_${'a'.repeat(43)}`;
    assert.equal(expected.length, 55);
    assert.deepEqual(
      names.find((b) => b.text.startsWith('ktrail_long_')),
      { len: 55, status: 0, kind: 2, text: expected },
    );
    const zero = recs.filter(
      (x) => x.eventId === 176 && x.hostTid === tid && blob(x.payload).text === 'ktrail_zero',
    );
    assert.equal(zero.length, 1);
    assert.equal(zero[0]!.args[1], 0n);
    const nulls = recs.filter((x) => x.eventId === 176 && x.hostTid === tid && x.args[0] === 0n);
    assert.equal(nulls.length, 1);
    assert.deepEqual(blob(nulls[0]!.payload), { len: 0, status: 1, kind: 2, text: '' });
    assert.equal(nulls[0]!.retval, -38n);
    const bad = recs.filter((x) => x.eventId === 176 && x.hostTid === tid && x.args[0] === 1n);
    assert.equal(bad.length, 1);
    assert.deepEqual(blob(bad[0]!.payload), { len: 0, status: 2, kind: 2, text: '' });
  });

  it('records the 8 concurrent threads with their own tids', () => {
    const tids = helper.get('thread')!;
    assert.equal(tids.length, 8);
    const got = recs
      .filter((x) => x.eventId === 176 && tids.includes(x.hostTid))
      .map((x) => x.hostTid)
      .sort((a, b) => a - b);
    assert.deepEqual(
      got,
      [...tids].sort((a, b) => a - b),
    );
    for (const x of recs.filter((r) => tids.includes(r.hostTid))) {
      assert.equal(x.args[1], 0o4000n);
      assert.match(blob(x.payload).text, /^ktrail_thr_[0-7]$/);
    }
  });

  it('never records ktrail itself and counts what it submitted', () => {
    assert.equal(recs.filter((x) => x.hostPid === process.pid).length, 0);
    assert.ok(
      recs.some((x) => x.eventId === 110 && x.hostPid === pythonPid && x.retval === BigInt(process.pid)),
    );
    const seqs = new Set(recs.map((x) => x.seq));
    assert.equal(seqs.size, recs.length);
    const stats = cap.stats();
    const dm = stats.events.get(176)!;
    assert.equal(dm.lost, 0n);
    assert.equal(dm.readErrors, 1n); // the helper's "bad" case
    assert.equal(dm.submitted, BigInt(recs.filter((x) => x.eventId === 176).length));
    assert.ok(dm.submitted >= 13n);
  });

  it('leaves no program behind after close()', async () => {
    await cap.close();
    await cap.close(); // idempotent
    const gone = await waitFor(() => ktrailPrograms().length === 0, 3000);
    assert.ok(gone, `still attached: ${ktrailPrograms().join(', ')}`);
  });
});
