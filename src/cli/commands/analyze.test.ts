import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { KtrailError } from '../../errors.js';
import { MAX_REPORTED_LINES, runAnalyze } from './analyze.js';

process.env['TZ'] = 'UTC';

const DIR = 'test/fixtures/events';

async function analyze(values: Record<string, string[]>, positionals: string[] = []) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runAnalyze(
    positionals,
    { values: new Map(Object.entries(values)) },
    {
      out: (t) => out.push(t),
      err: (t) => err.push(t),
    },
  );
  return { code, out, err };
}

const HEADER =
  'TIME             UID    COMM             PID     TID     RET              EVENT                     ARGS';

describe('ktrail analyze', () => {
  it('prints the findings of a ktrail capture as a table', async () => {
    const r = await analyze({ output: ['table'] }, [`${DIR}/attacks.jsonl`]);
    assert.equal(r.code, 0);
    assert.deepEqual(r.out, [
      HEADER,
      '10:30:00:001000  0      rmmod            4242    4242    -38              !kernel_module_unload     name: nf_tables, flags: 2560, detectedFrom: delete_module',
      '10:30:00:001000  0      rmmod            4242    4242    -38              !kernel_module_forced_... name: nf_tables, flags: 2560, detectedFrom: delete_module',
      '10:30:00:002000  0      evil             4250    4250    0                !anti_debugging           request: PTRACE_TRACEME, detectedFrom: ptrace',
      '10:30:00:005000  1000   sh               4300    4300    0                !stdio_over_socket        IP address: 203.0.113.7, Port: 4444, File descriptor: 0, detectedFrom: dup2',
      '10:30:00:006000  1000   sh               4300    4300    1                !stdio_over_socket        IP address: 203.0.113.7, Port: 4444, File descriptor: 1, detectedFrom: dup2',
      '10:30:00:007000  0      tee              4301    4301    0                !sudoers_modification     pathname: /etc/sudoers, detectedFrom: security_file_open',
    ]);
    assert.deepEqual(r.err, [`analyze: ${DIR}/attacks.jsonl: 7 events, 6 findings`]);
  });

  it("finds Tracee's own events (security_file_open, sched_process_exec) given with --source", async () => {
    const r = await analyze({ source: [`${DIR}/tracee-v024.jsonl`], output: ['table'] });
    assert.equal(r.code, 0);
    assert.deepEqual(r.out, [
      HEADER,
      '10:31:40:000000  0      sh               17      17      0                !core_pattern_modifica... pathname: /proc/sys/kernel/core_pattern, detectedFrom: security_file_open',
      '10:31:40:000000  33     sh               18      18      0                !illegitimate_shell       prev_comm: nginx, pathname: /bin/dash, detectedFrom: sched_process_exec',
    ]);
  });

  it('writes classic JSON findings by default, and --events selects signatures without moving ids', async () => {
    const r = await analyze({ events: ['anti_debugging'] }, [`${DIR}/attacks.jsonl`]);
    assert.equal(r.code, 0);
    assert.equal(r.out.length, 1);
    const f = JSON.parse(r.out[0]!) as Record<string, unknown>;
    assert.equal(f['eventId'], '6008');
    assert.equal(f['eventName'], 'anti_debugging');
    assert.deepEqual(f['matchedPolicies'], ['']);
    assert.equal(f['hostProcessId'], 4250);
    assert.deepEqual((f['metadata'] as { Properties: unknown }).Properties, {
      Category: 'defense-evasion',
      Kubernetes_Technique: '',
      Severity: 1,
      Technique: 'Debugger Evasion',
      external_id: 'T1622',
      id: 'attack-pattern--e4dc8c01-417f-458d-9ee0-bb0617c1b391',
      signatureID: 'TRC-102',
      signatureName: 'Anti-Debugging detected',
    });
  });

  it('reports malformed lines with their numbers and goes on', async () => {
    const r = await analyze({ output: ['table'] }, [`${DIR}/malformed.jsonl`]);
    assert.equal(r.code, 0);
    assert.equal(r.out.length, 4);
    assert.deepEqual(r.err, [
      `analyze: ${DIR}/malformed.jsonl:2: not JSON (Expected double-quoted property name in JSON at position 54)`,
      `analyze: ${DIR}/malformed.jsonl:4: not an event (expected a JSON object)`,
      `analyze: ${DIR}/malformed.jsonl:5: not an event (no eventName)`,
      `analyze: ${DIR}/malformed.jsonl: 2 events, 3 findings, 3 malformed lines skipped`,
    ]);
  });

  it('fails when no line is an event', async () => {
    const r = await analyze({}, [`${DIR}/all-bad.jsonl`]);
    assert.equal(r.code, 2);
    assert.deepEqual(r.out, []);
    assert.deepEqual(r.err, [
      `analyze: ${DIR}/all-bad.jsonl:1: not JSON (Unexpected token 'o', "not json" is not valid JSON)`,
      `analyze: ${DIR}/all-bad.jsonl:2: openat: args is not an array`,
      `analyze: ${DIR}/all-bad.jsonl: 0 events, 0 findings, 2 malformed lines skipped`,
      `analyze: ${DIR}/all-bad.jsonl: no line is a classic JSON event`,
    ]);
  });

  it('finds nothing in a benign compile (gcc, cc1, as, ld reading the loader and ld.so.cache)', async () => {
    const r = await analyze({}, [`${DIR}/benign-compile.jsonl`]);
    assert.equal(r.code, 0);
    assert.deepEqual(r.out, []);
    assert.deepEqual(r.err, [`analyze: ${DIR}/benign-compile.jsonl: 12 events, 0 findings`]);
  });

  it('rejects a missing file, two files and an unknown signature', async () => {
    const usage = (message: string) => (e: unknown) => e instanceof KtrailError && e.message === message;
    await assert.rejects(analyze({}), usage('analyze: no input file'));
    await assert.rejects(analyze({}, ['a', 'b']), usage('analyze: give one input file'));
    await assert.rejects(analyze({ events: ['nope'] }, ['a']), usage("analyze: no signature 'nope'"));
  });
});

describe('ktrail analyze on files that are not event files', () => {
  const root = mkdtempSync(join(tmpdir(), 'ktrail-analyze-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  const file = (content: string | Buffer) => {
    const p = join(root, `in${n++}.jsonl`);
    writeFileSync(p, content);
    return p;
  };
  const good = readFileSync(`${DIR}/attacks.jsonl`, 'utf8').split('\n')[0]!;
  const EXPECT = 'give a JSON-lines file of classic events (ktrail -o json, tracee -o json)';
  const inputError = (message: string, hint: string) => (e: unknown) => {
    assert.ok(e instanceof KtrailError, String(e));
    assert.deepEqual(
      { code: e.code, message: e.message, hint: e.hint, exit: e.exitCode },
      { code: 'INPUT_FILE', message, hint, exit: 2 },
    );
    return true;
  };

  it('a missing file, a directory and an empty file are input errors (exit 2), before any output', async () => {
    await assert.rejects(
      analyze({ output: ['table'] }, [`${DIR}/missing.jsonl`]),
      inputError(`analyze: ${DIR}/missing.jsonl: no such file or directory`, EXPECT),
    );
    await assert.rejects(
      analyze({}, [root]),
      inputError(`analyze: ${root}: is a directory, not a file`, EXPECT),
    );
    const empty = file('');
    await assert.rejects(analyze({}, [empty]), inputError(`analyze: ${empty}: the file is empty`, EXPECT));
  });

  it('a file without any event exits 2 with a message: blank, truncated, not UTF-8', async () => {
    const blank = file('\n  \n\n');
    assert.deepEqual(await analyze({}, [blank]), {
      code: 2,
      out: [],
      err: [
        `analyze: ${blank}: 0 events, 0 findings`,
        `analyze: ${blank}: no event in the file (only blank lines)`,
      ],
    });
    const truncated = file(good.slice(0, 40));
    const t = await analyze({}, [truncated]);
    assert.equal(t.code, 2);
    assert.equal(t.err.at(-1), `analyze: ${truncated}: no line is a classic JSON event`);
    const latin1 = file(Buffer.from('{"eventName": "caf\xe9"}\n', 'latin1'));
    assert.deepEqual(await analyze({}, [latin1]), {
      code: 2,
      out: [],
      err: [
        `analyze: ${latin1}:1: not UTF-8 text (byte 0xe9 at column 19)`,
        `analyze: ${latin1}: 0 events, 0 findings, 1 malformed line skipped`,
        `analyze: ${latin1}: no line is a classic JSON event`,
      ],
    });
    const utf16 = file(Buffer.from(`\ufeff${good}\n`, 'utf16le'));
    await assert.rejects(
      analyze({}, [utf16]),
      inputError(
        `analyze: ${utf16}: not UTF-8 text (UTF-16, by its byte-order mark)`,
        "save the file as UTF-8 (it may be UTF-16 or Latin-1: 'iconv -t UTF-8' converts it)",
      ),
    );
  });

  it('a bad line among good ones is reported with its number, and the rest is analyzed (exit 0)', async () => {
    const mixed = file(
      Buffer.concat([
        Buffer.from(`${good}\n`),
        Buffer.from('{"eventName": "caf\xe9"}\n', 'latin1'),
        Buffer.from(`${good}\r\n`),
      ]),
    );
    const r = await analyze({}, [mixed]);
    assert.equal(r.code, 0);
    assert.deepEqual(r.err, [
      `analyze: ${mixed}:2: not UTF-8 text (byte 0xe9 at column 19)`,
      `analyze: ${mixed}: 2 events, 4 findings, 1 malformed line skipped`,
    ]);
  });

  it('reports the first 100 malformed lines one by one and counts the rest (a binary file)', async () => {
    // 250 lines that are not JSON, then one event: exit 0, 100 lines named, one line about the rest.
    const noisy = file(`${'\u0000garbage\n'.repeat(250)}${good}\n`);
    const r = await analyze({}, [noisy]);
    assert.equal(r.code, 0);
    assert.equal(r.err.length, 102);
    assert.match(r.err[0]!, new RegExp(`^analyze: ${noisy}:1: not JSON \\(`));
    assert.match(r.err[99]!, new RegExp(`^analyze: ${noisy}:100: not JSON \\(`));
    assert.deepEqual(r.err.slice(100), [
      `analyze: ${noisy}: more than ${MAX_REPORTED_LINES} malformed lines; the rest are counted, not shown`,
      `analyze: ${noisy}: 1 event, 2 findings, 250 malformed lines skipped`,
    ]);
  });

  it('a malformed line cannot put control characters on stderr', async () => {
    const f = file(`{"eventName":"\\u001b[2J\\r","args":5}\n${good}\n`);
    const r = await analyze({}, [f]);
    assert.equal(r.code, 0);
    assert.equal(r.err[0], `analyze: ${f}:1: \\x1b[2J\\r: args is not an array`);
  });
});
