/**
 * End to end: the lifecycle programs and the process tree against the real kernel. A shell started here
 * forks and execs `rmmod -f`; the delete_module event's ancestry names the shell; an exec'd binary's path and
 * argv are exact; a process in its own pid namespace shows both pid numbers; unselected lifecycle records
 * arrive flagged internal. Root only; skips with a reason. Leaves no program attached and no process behind.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Capture, openCapture } from '../../src/capture/session.js';
import { eventById, eventByName } from '../../src/catalog/index.js';
import { Decoder } from '../../src/decode/decode.js';
import type { ArgValue, TraceEvent } from '../../src/decode/event.js';
import { createEnricher, type Enricher } from '../../src/enrich/index.js';
import { loadNative, nativeAvailable, packageRoot } from '../../src/native/binding.js';
import { entityId } from '../../src/output/entity-id.js';
import { ancestorsJson } from '../../src/output/json.js';

const objectPath = resolve(packageRoot(), 'build', 'bpf', 'ktrail.bpf.o');

function skipReason(): string | undefined {
  if (process.geteuid?.() !== 0) return 'needs root (loads BPF programs)';
  if (!existsSync(objectPath)) return `${objectPath} is missing: run make -C bpf`;
  if (!nativeAvailable()) return 'the native addon is missing: run npm run build:native';
  for (const tool of ['rmmod', 'unshare']) {
    if (spawnSync(tool, ['--version']).error !== undefined) return `${tool} is not installed`;
  }
  return undefined;
}

function ktrailPrograms(): string[] {
  const progs = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' })) as {
    name?: string;
  }[];
  return progs
    .map((p) => p.name ?? '')
    .filter((n) => n.startsWith('raw_tp__syscall') || n.startsWith('tp_btf__sched'));
}

function arg(ev: TraceEvent, name: string): ArgValue | undefined {
  return ev.args.find((a) => a.name === name)?.value;
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await sleep(5);
  }
  return true;
}

describe('lifecycle e2e (sched_process_*, process tree)', { skip: skipReason() }, () => {
  const events: TraceEvent[] = [];
  const ancestry = new Map<TraceEvent, string>();
  let cap: Capture;
  let enricher: Enricher;

  before(async () => {
    assert.deepEqual(ktrailPrograms(), [], 'a ktrail program is already attached');
    const clocks = loadNative().clocks();
    const bootToEpochNs = clocks.realtime - clocks.boottime;
    const decoder = new Decoder({ eventById, bootToEpochNs });
    enricher = createEnricher({ bootToEpochNs });
    const batch: TraceEvent[] = [];
    cap = await openCapture({
      events: [eventByName('sched_process_exec')!, eventByName('delete_module')!],
      processTree: true,
      objectPath,
      onBatch: (b) => {
        batch.length = 0;
        decoder.decodeBatch(b, batch);
        for (const ev of batch) {
          enricher.observe(ev);
          if (!ev.internal) {
            enricher.enrich(ev);
            ancestry.set(ev, ancestorsJson(enricher.tree.ancestry(ev.hostProcessId, 3)));
          }
          events.push(ev);
        }
      },
    });
  });

  after(async () => {
    await cap?.close();
    enricher?.close();
    // The kernel frees closed programs after a grace period.
    const gone = await waitFor(() => ktrailPrograms().length === 0, 3000);
    assert.ok(gone, `still loaded: ${ktrailPrograms().join(', ')}`);
  });

  it('names the shell in the ancestry of the delete_module its child made', async () => {
    const sh = spawnSync('sh', ['-c', 'rmmod -f ktrail_e2e_lc; exit 0']);
    assert.equal(sh.status, 0);
    const shPid = sh.pid ?? 0;
    assert.ok(
      await waitFor(
        () => events.some((e) => e.spec.name === 'delete_module' && e.hostParentProcessId === shPid),
        2000,
      ),
    );
    const del = events.find((e) => e.spec.name === 'delete_module' && e.hostParentProcessId === shPid)!;
    const shExe = realpathSync('/bin/sh');
    const node = realpathSync(process.execPath);
    assert.equal(del.executablePath, realpathSync('/usr/sbin/rmmod'));
    assert.equal(del.processName, 'rmmod');
    assert.equal(
      ancestry.get(del),
      `[{"pid":${shPid},"comm":"sh","exe":${JSON.stringify(shExe)}},` +
        `{"pid":${process.pid},"comm":${JSON.stringify(readComm(process.pid))},"exe":${JSON.stringify(node)}},` +
        `{"pid":${process.ppid},"comm":${JSON.stringify(readComm(process.ppid))},"exe":${JSON.stringify(exeOf(process.ppid))}}]`,
    );
    // the shell forked rmmod: an internal fork record names both, and its child start is rmmod's leader start
    const fork = events.find(
      (e) => e.spec.name === 'sched_process_fork' && arg(e, 'child_pid') === del.hostProcessId,
    );
    assert.ok(fork, 'fork record');
    assert.equal(fork.internal, true);
    assert.equal(fork.hostProcessId, shPid);
    assert.equal(arg(fork, 'parent_pid'), shPid);
    assert.equal(arg(fork, 'child_tid'), del.hostProcessId);
    assert.equal(arg(fork, 'start_time'), del.leaderStartTime);
    assert.equal(arg(fork, 'parent_start_time'), del.parentStartTime);
    // entity ids hash (pid, leader start) and (ppid, parent start)
    assert.equal(del.threadStartTime, del.leaderStartTime);
    assert.equal(
      entityId(del.hostProcessId, del.leaderStartTime!),
      entityId(del.hostThreadId, del.threadStartTime),
    );
    // the group exit of rmmod (exit status 1) arrives as an internal record with its code
    assert.ok(
      await waitFor(
        () => events.some((e) => e.spec.name === 'sched_process_exit' && e.hostProcessId === shPid),
        2000,
      ),
    );
    const exit = events.find(
      (e) => e.spec.name === 'sched_process_exit' && e.hostProcessId === del.hostProcessId,
    )!;
    assert.equal(exit.internal, true);
    assert.deepEqual(
      exit.args.map((a) => a.value),
      [1, 0, true],
    );
  });

  it('reports an exec with its exact path, argv and file identity', async () => {
    const r = spawnSync('/usr/bin/env', ['true', 'a b', '', 'c']);
    assert.equal(r.status, 0);
    assert.ok(
      await waitFor(
        () =>
          events.filter((e) => e.spec.name === 'sched_process_exec' && e.hostProcessId === r.pid).length ===
          2,
        2000,
      ),
    );
    const [env, tru] = events.filter(
      (e) => e.spec.name === 'sched_process_exec' && e.hostProcessId === r.pid,
    );
    assert.ok(env && tru);
    assert.equal(env.internal, undefined, 'selected: not internal');
    const envPath = realpathSync('/usr/bin/env');
    const st = statSync(envPath, { bigint: true });
    assert.equal(arg(env, 'cmdpath'), '/usr/bin/env');
    assert.equal(arg(env, 'pathname'), envPath);
    assert.deepEqual(arg(env, 'argv'), ['/usr/bin/env', 'true', 'a b', '', 'c']);
    assert.equal(BigInt(arg(env, 'inode') as number), st.ino);
    assert.equal(BigInt(arg(env, 'ctime') as number), st.ctimeNs);
    assert.equal(arg(env, 'inode_mode'), Number(st.mode));
    // dev_t in the kernel's encoding: major << 20 | minor
    const dev = st.dev; // glibc encoding
    const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
    const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
    assert.equal(BigInt(arg(env, 'dev') as number), (major << 20n) | minor);
    assert.equal(arg(env, 'interp'), '/usr/bin/env');
    assert.equal(arg(env, 'pwd'), process.cwd());
    assert.equal(env.syscall, 'execve');
    assert.equal(env.executablePath, envPath);
    // env found true on PATH: argv[0] is what env passed
    assert.deepEqual(arg(tru, 'argv'), ['true', 'a b', '', 'c']);
    assert.equal(arg(tru, 'pathname'), realpathSync(arg(tru, 'cmdpath') as string));
    assert.equal(tru.processName, 'true');
  });

  it('shows host and namespace pids for a process in its own pid namespace', async () => {
    const r = spawnSync('unshare', [
      '--pid',
      '--fork',
      '--mount-proc',
      'sh',
      '-c',
      'rmmod -f ktrail_e2e_ns; exit 0',
    ]);
    assert.equal(r.status, 0, r.stderr?.toString());
    const isNsRmmod = (e: TraceEvent) =>
      e.spec.name === 'delete_module' && e.processId === 2 && e.hostProcessId !== 2;
    assert.ok(await waitFor(() => events.some(isNsRmmod), 2000));
    const del = events.find(isNsRmmod)!;
    const ownNs = statSync('/proc/self/ns/pid').ino;
    assert.equal(del.threadId, 2);
    assert.equal(del.parentProcessId, 1);
    assert.notEqual(del.hostParentProcessId, 1);
    assert.notEqual(del.pidNamespace, ownNs);
    const fork = events.find(
      (e) => e.spec.name === 'sched_process_fork' && arg(e, 'child_pid') === del.hostProcessId,
    )!;
    assert.ok(fork);
    assert.deepEqual(
      ['child_ns_pid', 'child_ns_tid', 'parent_ns_pid', 'parent_pid'].map((n) => arg(fork, n)),
      [2, 2, 1, del.hostParentProcessId],
    );
    // the tree links the namespaced rmmod to its host-side shell (pid 1 inside)
    assert.match(ancestry.get(del) ?? '', new RegExp(`^\\[\\{"pid":${del.hostParentProcessId},"comm":"sh"`));
  });
});

function readComm(pid: number): string {
  return execFileSync('cat', [`/proc/${pid}/comm`], { encoding: 'utf8' }).trim();
}

function exeOf(pid: number): string {
  try {
    return realpathSync(`/proc/${pid}/exe`);
  } catch {
    return '';
  }
}
