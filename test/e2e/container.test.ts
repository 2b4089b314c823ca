/**
 * End to end: a process moved into a cgroup named like a docker container (`docker-<64 hex>.scope` on the
 * cgroup2 hierarchy) gets that container id, resolved from the record's cgroup id. Mounts cgroup2 on a
 * temporary directory when the host has none, and undoes it; the cgroup is removed afterwards. Root only.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Capture, openCapture } from '../../src/capture/session.js';
import { eventById, eventByName } from '../../src/catalog/index.js';
import { Decoder } from '../../src/decode/decode.js';
import type { TraceEvent } from '../../src/decode/event.js';
import { findCgroup2Mount } from '../../src/enrich/container.js';
import { createEnricher, type Enricher } from '../../src/enrich/index.js';
import { loadNative, nativeAvailable, packageRoot } from '../../src/native/binding.js';

const objectPath = resolve(packageRoot(), 'build', 'bpf', 'ktrail.bpf.o');
const ID = 'c0ffee00d15ea5e5ca75babe0123456789abcdef0123456789abcdef0e2e2e2e';

function skipReason(): string | undefined {
  if (process.geteuid?.() !== 0) return 'needs root (loads BPF programs, creates cgroups)';
  if (!existsSync(objectPath)) return `${objectPath} is missing: run make -C bpf`;
  if (!nativeAvailable()) return 'the native addon is missing: run npm run build:native';
  if (spawnSync('rmmod', ['--version']).error !== undefined) return 'rmmod (kmod) is not installed';
  return undefined;
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
  const progs = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' })) as {
    name?: string;
  }[];
  return progs
    .map((p) => p.name ?? '')
    .filter((n) => n.startsWith('raw_tp__syscall') || n.startsWith('tp_btf__sched'));
}

describe('container e2e (cgroup id -> docker container id)', { skip: skipReason() }, () => {
  const events: TraceEvent[] = [];
  let cap: Capture | undefined;
  let enricher: Enricher;
  let mounted: string | undefined;
  let cgroupRoot = '';
  let cgroupDir = '';

  before(async () => {
    assert.deepEqual(ktrailPrograms(), [], 'a ktrail program is already attached');
    const found = findCgroup2Mount(readFileSync('/proc/self/mountinfo', 'utf8'));
    if (found === undefined) {
      mounted = mkdtempSync(join(tmpdir(), 'ktrail-cgroup2-'));
      execFileSync('mount', ['-t', 'cgroup2', 'none', mounted]);
    }
    cgroupRoot = found ?? mounted!;
    cgroupDir = join(cgroupRoot, `docker-${ID}.scope`);
    mkdirSync(cgroupDir);
    const clocks = loadNative().clocks();
    const bootToEpochNs = clocks.realtime - clocks.boottime;
    const decoder = new Decoder({ eventById, bootToEpochNs });
    enricher = createEnricher({ bootToEpochNs, cgroupRoot });
    const batch: TraceEvent[] = [];
    cap = await openCapture({
      events: [eventByName('delete_module')!],
      processTree: true,
      objectPath,
      onBatch: (b) => {
        batch.length = 0;
        decoder.decodeBatch(b, batch);
        for (const ev of batch) {
          enricher.observe(ev);
          if (ev.internal) continue;
          enricher.enrich(ev);
          events.push(ev);
        }
      },
    });
  });

  after(async () => {
    await cap?.close();
    enricher?.close();
    // The moved process has exited; its cgroup can go once the kernel has released it.
    for (let i = 0; i < 100 && cgroupDir !== '' && existsSync(cgroupDir); i++) {
      try {
        rmdirSync(cgroupDir);
      } catch {
        await sleep(20);
      }
    }
    assert.equal(existsSync(cgroupDir), false, `${cgroupDir} left behind`);
    if (mounted !== undefined) {
      execFileSync('umount', [mounted]);
      rmdirSync(mounted);
    }
    const gone = await waitFor(() => ktrailPrograms().length === 0, 3000);
    assert.ok(gone, `still loaded: ${ktrailPrograms().join(', ')}`);
  });

  it('gives a process in docker-<id>.scope that container id, and the host none', async () => {
    const procs = join(cgroupDir, 'cgroup.procs');
    const inside = spawnSync('sh', ['-c', `echo $$ > ${procs} && exec rmmod -f ktrail_e2e_cg`]);
    const host = spawnSync('rmmod', ['-f', 'ktrail_e2e_host']);
    assert.ok(await waitFor(() => events.filter((e) => e.spec.name === 'delete_module').length >= 2, 2000));
    const inEv = events.find((e) => e.hostProcessId === inside.pid && e.spec.name === 'delete_module');
    const hostEv = events.find((e) => e.hostProcessId === host.pid && e.spec.name === 'delete_module');
    assert.ok(inEv && hostEv);
    assert.equal(inEv.cgroupId, statSync(cgroupDir, { bigint: true }).ino);
    assert.equal(inEv.containerId, ID);
    assert.deepEqual(enricher.container(inEv), { id: ID, runtime: 'docker' });
    assert.equal(hostEv.containerId, '');
  });
});
