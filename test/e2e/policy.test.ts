/**
 * End to end: policies evaluated in the kernel (bpf/include/common/filters.h) and re-checked in userspace.
 * Runs the real CLI (two policy files at once, scopes, follow, return-value filters) and, through the library
 * API, checks that a non-matching scope drops records in the kernel (stats filtered) before the ring buffer.
 * Other tests may run rmmod at the same time: assertions select records by this file's module names.
 * Root only; skips with a reason otherwise.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openCapture } from '../../src/capture/session.js';
import { eventByName } from '../../src/catalog/index.js';
import { policyFromFlags } from '../../src/policy/cli-policy.js';
import { compilePolicies } from '../../src/policy/compile.js';
import { testCatalog } from '../../src/policy/testing.js';
import { jsonEvents, liveSkipReason, type Run, traceWhile } from './run-ktrail.js';

const skip = liveSkipReason();

/** delete_module records of a run whose name argument is `name`. */
function unloads(r: Run, name: string): Record<string, unknown>[] {
  return jsonEvents(r).filter(
    (e) =>
      e['eventName'] === 'delete_module' &&
      (e['args'] as { name: string; value: unknown }[]).some((a) => a.name === 'name' && a.value === name),
  );
}

function rmmod(name: string): void {
  spawnSync('rmmod', ['-f', name], { stdio: 'ignore' });
}

/** `count` delete_module(name, 0) calls from one python3 process (comm python3). */
function pythonUnloads(name: string, count: number): void {
  const code = `import ctypes\nlibc = ctypes.CDLL(None)\nfor _ in range(${count}): libc.syscall(176, b"${name}", 0)`;
  const r = spawnSync('python3', ['-c', code], { stdio: 'ignore' });
  assert.equal(r.status, 0);
}

/** The "N filtered in the kernel" figure of the exit summary (0 when absent). */
function kernelFiltered(r: Run): number {
  const m = /, (\d+) filtered in the kernel/.exec(r.stderr);
  return m ? Number(m[1]) : 0;
}

function ourPrograms(): string[] {
  const r = spawnSync('bpftool', ['prog', 'show'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => /raw_tp__|tp_btf__|kt_/.test(l));
}

async function ourProgramsAfterExit(): Promise<string[]> {
  for (let i = 0; i < 30 && ourPrograms().length > 0; i++) await sleep(100);
  return ourPrograms();
}

const pythonSkip =
  skip ?? (spawnSync('python3', ['--version']).error ? 'python3 is not installed' : undefined);

describe('policies in the kernel, live', { skip: pythonSkip }, () => {
  it('two policy files: a name prefix matches policy a, a never-true retval policy b drops', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ktrail-policies-'));
    try {
      const policy = (name: string, filter: string) =>
        `apiVersion: tracee.aquasec.com/v1beta1\nkind: Policy\nmetadata:\n  name: ${name}\nspec:\n  scope: [global]\n  rules:\n    - event: delete_module\n      filters: ["${filter}"]\n`;
      writeFileSync(join(dir, 'a.yaml'), policy('a', 'data.name=keep*'));
      writeFileSync(join(dir, 'b.yaml'), policy('b', 'retval=0'));
      const r = await traceWhile(['-p', dir, '-o', 'json'], () => {
        rmmod('keep_me');
        rmmod('drop_me');
      });
      assert.equal(r.code, 0, r.stderr);
      const kept = unloads(r, 'keep_me');
      assert.equal(kept.length, 1, r.stdout);
      assert.deepEqual(kept[0]?.['matchedPolicies'], ['a']);
      assert.equal(kept[0]?.['returnValue'], -38);
      assert.deepEqual(unloads(r, 'drop_me'), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(await ourProgramsAfterExit(), []);
  });

  it('--scope comm=rmmod drops python3 in the kernel and keeps rmmod', async () => {
    const r = await traceWhile(['--scope', 'comm=rmmod', '-e', 'delete_module', '-o', 'json'], () => {
      pythonUnloads('py_scoped_out', 3);
      rmmod('rmmod_scoped_in');
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(unloads(r, 'py_scoped_out'), []);
    assert.equal(unloads(r, 'rmmod_scoped_in').length, 1, r.stdout);
    assert.ok(kernelFiltered(r) >= 3, r.stderr);
    assert.deepEqual(await ourProgramsAfterExit(), []);
  });

  it('--scope comm=bash --scope follow catches the rmmod bash starts', async () => {
    const r = await traceWhile(
      ['--scope', 'comm=bash', '--scope', 'follow', '-e', 'delete_module', '-o', 'json'],
      () => {
        // `; true` keeps bash from exec'ing rmmod in place: rmmod is a child of bash.
        spawnSync('bash', ['-c', 'rmmod -f child_mod 2>/dev/null; true'], { stdio: 'ignore' });
      },
    );
    assert.equal(r.code, 0, r.stderr);
    const evs = unloads(r, 'child_mod');
    assert.equal(evs.length, 1, r.stdout);
    assert.equal(evs[0]?.['processName'], 'rmmod');
    assert.deepEqual(await ourProgramsAfterExit(), []);
  });

  it('return-value filters: retval<0 keeps the ENOSYS unload, retval>=0 drops it in the kernel', async () => {
    const failed = await traceWhile(['-e', 'delete_module.retval<0', '-o', 'json'], () => rmmod('ret_neg'));
    assert.equal(failed.code, 0, failed.stderr);
    const evs = unloads(failed, 'ret_neg');
    assert.equal(evs.length, 1, failed.stdout);
    assert.equal(evs[0]?.['returnValue'], -38);

    const ok = await traceWhile(['-e', 'delete_module.retval>=0', '-o', 'json'], () => rmmod('ret_pos'));
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(unloads(ok, 'ret_pos'), []);
    assert.ok(kernelFiltered(ok) >= 1, ok.stderr);
    assert.deepEqual(await ourProgramsAfterExit(), []);
  });

  it('a scope no process matches: 1000 calls, no record delivered, all counted as filtered', async () => {
    const dm = eventByName('delete_module');
    assert.ok(dm !== undefined);
    const p = policyFromFlags({ events: ['delete_module'], scope: ['comm=kt-nobody'] }, testCatalog);
    const compiled = compilePolicies([p.policy]);
    let records = 0;
    const cap = await openCapture({
      events: [dm],
      kernelPlan: compiled.kernel,
      onBatch: (b) => {
        for (let off = 0; off < b.length; off += 4 + b.readUInt32LE(off)) records++;
      },
    });
    try {
      pythonUnloads('kt_storm', 1000);
      await sleep(200);
      const s = cap.stats().events.get(176);
      assert.equal(s?.submitted, 0n);
      assert.equal(s?.lost, 0n);
      // Other processes' unloads (concurrent tests) are dropped and counted too.
      assert.ok(s !== undefined && s.filtered >= 1000n, `filtered ${s?.filtered}`);
    } finally {
      await cap.close();
    }
    assert.equal(records, 0);
    assert.deepEqual(await ourProgramsAfterExit(), []);
  });
});
