/**
 * ktrail without uid 0: the CLI runs as user nobody with only CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE (ambient
 * capabilities set by setpriv, as systemd's AmbientCapabilities= does), traces a root `rmmod -f foo` with its
 * executable path, and, with one capability taken away, names it and loads nothing. The packet events need
 * CAP_NET_ADMIN as well: without it the default set runs without them (named once), with it they run. Root
 * only (it drops to nobody); needs setpriv (util-linux) and a tree that nobody can read.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { cli, jsonEvents, liveSkipReason, netlab, traceWhile } from './run-ktrail.js';

const NEEDED = ['bpf', 'perfmon', 'sys_ptrace'];

function skipReason(): string | undefined {
  const live = liveSkipReason();
  if (live !== undefined) return live;
  if (spawnSync('setpriv', ['--version']).error !== undefined) return 'setpriv (util-linux) is not installed';
  if (spawnSync('id', ['nobody']).status !== 0) return 'there is no user nobody';
  if (spawnSync('runuser', ['-u', 'nobody', '--', 'test', '-r', cli]).status !== 0)
    return `user nobody cannot read ${cli}`;
  return undefined;
}

/** setpriv arguments: become nobody:nogroup holding exactly `caps` (names without CAP_, lower case). */
function asNobodyWith(caps: readonly string[]): string[] {
  const list = caps.length === 0 ? '-all' : caps.map((c) => `+${c}`).join(',');
  return [
    'setpriv',
    '--reuid=nobody',
    '--regid=nogroup',
    '--init-groups',
    `--inh-caps=${list}`,
    `--ambient-caps=${list}`,
    `--bounding-set=${list}`,
    '--',
  ];
}

function ourPrograms(): string[] {
  const r = spawnSync('bpftool', ['prog', 'show'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => /raw_tp__|tp_btf__|kt_|cgroup_skb__|cgroup_sock__/.test(l));
}

async function ourProgramsAfterExit(): Promise<string[]> {
  for (let i = 0; i < 30 && ourPrograms().length > 0; i++) await sleep(100);
  return ourPrograms();
}

/** Uid and CapEff lines of the running ktrail CLI processes (found by their command line). */
function runningKtrail(): { uid: string; capEff: string }[] {
  const out: { uid: string; capEff: string }[] = [];
  for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (!readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes(cli)) continue;
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      out.push({
        uid: /^Uid:\s+(.*)$/m.exec(status)?.[1] ?? '',
        capEff: /^CapEff:\s+(\S+)$/m.exec(status)?.[1] ?? '',
      });
    } catch {}
  }
  return out;
}

describe('ktrail without uid 0', { skip: skipReason() }, () => {
  it('as nobody with CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE it traces a root rmmod -f foo', async () => {
    let pid = 0;
    let seen: { uid: string; capEff: string }[] = [];
    const r = await traceWhile(
      ['-e', 'delete_module', '-o', 'json'],
      () => {
        seen = runningKtrail();
        pid = spawnSync('rmmod', ['-f', 'foo']).pid ?? 0;
      },
      400,
      asNobodyWith(NEEDED),
    );
    assert.equal(r.code, 0, r.stderr);
    // Real, effective, saved and fs uid 65534; CapEff exactly bits 19 (SYS_PTRACE), 38 (PERFMON), 39 (BPF).
    assert.deepEqual(seen, [{ uid: '65534\t65534\t65534\t65534', capEff: '000000c000080000' }]);
    const evs = jsonEvents(r).filter((e) => e['hostProcessId'] === pid);
    assert.equal(evs.length, 1, r.stdout);
    const e = evs[0]!;
    assert.equal(e['eventName'], 'delete_module');
    assert.equal(e['processName'], 'rmmod');
    assert.equal(e['userId'], 0);
    assert.equal(e['returnValue'], -38);
    // CAP_SYS_PTRACE at work: a root process's executable, read from /proc/<pid>/exe by user nobody.
    assert.deepEqual(e['executable'], { path: '/usr/bin/kmod' });
    assert.deepEqual(e['args'], [
      { name: 'name', type: 'string', value: 'foo' },
      { name: 'flags', type: 'int32', value: 2560 },
    ]);
    assert.match(r.stderr, /ktrail: SIGINT: \d+ events, 0 lost/);
    assert.deepEqual(await ourProgramsAfterExit(), []);
  });

  it('without CAP_NET_ADMIN the default set runs without the packet events, and names them once', async () => {
    const r = await traceWhile(['-o', 'json'], () => undefined, 200, asNobodyWith(NEEDED));
    assert.equal(r.code, 0, r.stderr);
    const why = 'needs CAP_NET_ADMIN for its cgroup_skb programs';
    const notices = r.stderr.split('\n').filter((l) => l.startsWith('ktrail: not traced here: '));
    assert.deepEqual(notices, [
      `ktrail: not traced here: ${[
        'net_packet_icmp',
        'net_packet_icmpv6',
        'net_packet_dns_request',
        'net_packet_dns_response',
        'net_packet_http_request',
        'net_packet_http_response',
      ]
        .map((n) => `${n} (${why})`)
        .join('; ')}`,
    ]);
    assert.deepEqual(await ourProgramsAfterExit(), []);
  });

  it('with CAP_NET_ADMIN too, nobody traces packets', async () => {
    let pid = 0;
    const r = await traceWhile(
      ['-e', 'net_packet_icmp', '-o', 'json'],
      async () => {
        pid = (await netlab('ping')).pid;
      },
      400,
      asNobodyWith([...NEEDED, 'net_admin']),
    );
    assert.equal(r.code, 0, r.stderr);
    const icmp = jsonEvents(r).filter((e) => e['hostProcessId'] === pid);
    assert.deepEqual(
      icmp.map((e) => [
        e['processName'],
        e['userId'],
        (e['args'] as { value: { typeCode?: string } }[])[3]?.value.typeCode,
      ]),
      [
        ['kt-ping', 0, 'EchoRequest'],
        ['kt-ping', 0, 'EchoReply'],
      ],
    );
    assert.deepEqual(await ourProgramsAfterExit(), []);
  });

  for (const dropped of NEEDED) {
    const name = `CAP_${dropped.toUpperCase()}`;
    it(`without ${name} it names ${name}, exits 1 and loads nothing`, () => {
      const caps = NEEDED.filter((c) => c !== dropped);
      const argv = [...asNobodyWith(caps), process.execPath, cli, '-e', 'delete_module'];
      const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 1, r.stderr);
      const [first, hint] = r.stderr.split('\n');
      assert.match(
        first ?? '',
        new RegExp(`^ktrail: starting the capture: this capability is missing: ${name} \\(`),
      );
      assert.match(hint ?? '', /^ {2}hint: run as root, or grant CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE /);
      assert.equal(r.stdout, '');
      assert.deepEqual(ourPrograms(), []);
    });
  }
});
