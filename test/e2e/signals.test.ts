/**
 * Signals and a reader that goes away. The live tracer (root; run under the shared BPF lock): a closed stdout
 * (`| head -1`) stops it as SIGINT does, SIGTERM too, SIGPIPE and SIGHUP never kill it, and a second SIGINT
 * cuts a slow drain short. The other commands (list, man, analyze) exit quietly with status 0 when their
 * reader goes away.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../support/net.js';
import {
  cli,
  deleteModuleStorm,
  liveSkipReason,
  ourProgramsAfterExit,
  root,
  startKtrail,
} from './run-ktrail.js';

const skip = liveSkipReason();
const dir = mkdtempSync(join(tmpdir(), 'ktrail-sig-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `sh -c script`, returning the status of the first command of its pipeline and its stderr file. */
function pipeline(script: string): { status: number; stderr: string } {
  const errFile = join(dir, `err-${Math.random().toString(36).slice(2)}`);
  const r = spawnSync('bash', ['-c', `${script.replace('%ERR%', errFile)}; exit \${PIPESTATUS[0]}`], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status ?? -1, stderr: readFileSync(errFile, 'utf8') };
}

describe('a reader that goes away, for commands that print and exit', () => {
  it('list --json, man and analyze exit 0 without a word when the reader closes early', () => {
    const node = `"${process.execPath}" "${cli}"`;
    for (const [what, script] of [
      ['list --json | head -1', `${node} list --json 2>%ERR% | head -1 >/dev/null`],
      ['list --json | true', `${node} list --json 2>%ERR% | true`],
      ['man | true', `${node} man delete_module 2>%ERR% | true`],
      [
        'analyze | head -1',
        `${node} analyze "${resolve(root, 'test/fixtures/events/attacks.jsonl')}" -o table 2>%ERR% | head -1 >/dev/null`,
      ],
    ] as const) {
      const r = pipeline(script);
      assert.equal(r.status, 0, `${what}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /EPIPE|Error|at /, what);
    }
  });
});

describe('signals in the live tracer', { skip }, () => {
  it('ktrail -o json | head -1 stops as on SIGINT once the reader is gone: detach, summary, exit 0', async () => {
    const errFile = join(dir, 'head.err');
    const child = spawn(
      'bash',
      [
        '-c',
        `"${process.execPath}" "${cli}" -e delete_module -o json 2>"${errFile}" | head -1; exit \${PIPESTATUS[0]}`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const err = () => {
      try {
        return readFileSync(errFile, 'utf8');
      } catch {
        return '';
      }
    };
    for (let i = 0; i < 100 && !err().includes('ktrail: tracing'); i++) await sleep(50);
    // The first event goes to head, which exits; the next write finds the pipe closed.
    for (let i = 0; i < 50 && child.exitCode === null; i++) {
      spawnSync('rmmod', ['-f', `head${i}`]);
      await sleep(100);
    }
    assert.equal(await exited, 0, err());
    assert.equal(out.split('\n').filter((l) => l !== '').length, 1);
    assert.equal((JSON.parse(out) as { eventName: string }).eventName, 'delete_module');
    assert.match(err(), /ktrail: stdout closed: \d+ events, 0 lost/);
    assert.deepEqual(await ourProgramsAfterExit(), []);
  });

  it('SIGTERM stops with the summary; SIGPIPE and SIGHUP do not stop it', async () => {
    const k = await startKtrail(['-e', 'delete_module', '-o', 'json'], 'pipe');
    process.kill(k.child.pid!, 'SIGPIPE');
    process.kill(k.child.pid!, 'SIGHUP');
    await k.waitFor(/reloaded/);
    spawnSync('rmmod', ['-f', 'still_here']);
    await sleep(300);
    assert.equal(k.child.exitCode, null, 'still running');
    assert.match(k.stdout(), /"value":"still_here"/);
    process.kill(k.child.pid!, 'SIGTERM');
    assert.equal(await k.exited, 0, k.stderr());
    assert.match(k.stderr(), /ktrail: SIGTERM: 1 events, 0 lost, 1 reloads \(0 failed\)/);
    assert.deepEqual(await ourProgramsAfterExit(), []);
  });

  it('--log format=json: every message on stderr is one JSON object; the summary carries its numbers', async () => {
    const k = await startKtrail(
      ['-e', 'delete_module', '-o', 'none', '--log', 'level=info,format=json'],
      'ignore',
    );
    spawnSync('rmmod', ['-f', 'logged']);
    await sleep(300);
    process.kill(k.child.pid!, 'SIGINT');
    assert.equal(await k.exited, 0, k.stderr());
    const lines = k
      .stderr()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines[0]?.['level'], 'info');
    assert.match(String(lines[0]?.['msg']), /^tracing 1 event /);
    assert.equal(lines[0]?.['events'], 1);
    const last = lines.at(-1)!;
    assert.deepEqual(
      [last['msg'], last['reason'], last['events'], last['lost'], last['dropped']],
      ['SIGINT: 1 events, 0 lost', 'SIGINT', 1, 0, 0],
    );
    assert.match(String(last['time']), /^\d{4}-\d\d-\d\dT/);
  });

  it('the drain is bounded; a second SIGINT drops what outputs still queue and exits 130 at once', async () => {
    // A receiver that accepts and never answers: the webhook holds its events until the stop deadline.
    const silent = createServer(() => {});
    const port = await freePort();
    await new Promise<void>((r) => silent.listen(port, '127.0.0.1', r));
    const hook = `webhook:http://127.0.0.1:${port}/?timeout=60s&batch=10`;
    try {
      // One SIGINT: ktrail waits for the webhook, at most STOP_DRAIN_MS (5 s), then exits 0 with drops counted.
      let k = await startKtrail(['-e', 'delete_module', '-o', hook], 'ignore');
      assert.equal(await deleteModuleStorm({ names: ['q'], count: 100 }).done, 0);
      await sleep(300);
      let t0 = performance.now();
      process.kill(k.child.pid!, 'SIGINT');
      assert.equal(await k.exited, 0, k.stderr());
      const bounded = performance.now() - t0;
      assert.ok(bounded >= 4500 && bounded < 8000, `the first stop took ${bounded.toFixed(0)} ms`);
      assert.match(
        k.stderr(),
        new RegExp(
          `ktrail: SIGINT: 100 events, 0 lost, dropped by outputs: http://127\\.0\\.0\\.1:${port}/ 100`,
        ),
      );
      assert.deepEqual(await ourProgramsAfterExit(), []);

      // Two SIGINTs: the second ends the drain at once.
      k = await startKtrail(['-e', 'delete_module', '-o', hook], 'ignore');
      assert.equal(await deleteModuleStorm({ names: ['q'], count: 100 }).done, 0);
      await sleep(300);
      process.kill(k.child.pid!, 'SIGINT');
      await sleep(500);
      t0 = performance.now();
      process.kill(k.child.pid!, 'SIGINT');
      assert.equal(await k.exited, 130, k.stderr());
      const forced = performance.now() - t0;
      assert.ok(forced < 1500, `the forced exit took ${forced.toFixed(0)} ms`);
      assert.match(k.stderr(), /ktrail: SIGINT again: dropping what the outputs still queue and exiting/);
      assert.match(k.stderr(), /ktrail: SIGINT: 100 events, 0 lost, dropped by outputs: \S+ 100/);
      process.stderr.write(
        `# drain: bounded stop ${bounded.toFixed(0)} ms, forced exit ${forced.toFixed(0)} ms after the second SIGINT\n`,
      );
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
    assert.deepEqual(await ourProgramsAfterExit(), []);
  });
});
