/**
 * The whole userspace pipeline without root or a kernel: raw batches recorded from live runs
 * (test/fixtures/records/pipeline-*.batches; scripts/record-fixture.ts) go through decode, enrichment,
 * policy matching, the rule engine and the printers, and the output must equal, byte for byte, what the CLI
 * printed for the same batches when they were recorded (the .jsonl and .table files beside them).
 *
 * The enricher reads an empty /proc, so that nothing of this machine leaks in: everything the tree knows
 * comes from the lifecycle records in the batches, as it did live for the processes the fixtures show.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseArgs } from '../cli/args.js';
import { createEnricher } from '../enrich/index.js';
import { packageRoot } from '../native/binding.js';
import { planOutput } from '../output/plan.js';
import { jsonPrinter, type Printer, tablePrinter } from '../output/printer.js';
import type { Sink } from '../output/sink.js';
import { Pipeline } from './pipeline.js';
import { planTrace } from './plan.js';

process.env['TZ'] = 'UTC';

const dir = resolve(packageRoot(), 'test', 'fixtures', 'records');
const emptyProc = mkdtempSync(join(tmpdir(), 'ktrail-proc-'));
after(() => rmSync(emptyProc, { recursive: true, force: true }));

interface Fixture {
  readonly args: readonly string[];
  readonly bootToEpochNs: bigint;
  readonly startedAtNs: bigint;
  readonly batches: readonly Buffer[];
}

function fixture(name: string): Fixture {
  const meta = JSON.parse(readFileSync(resolve(dir, `${name}.meta.json`), 'utf8')) as {
    args: string[];
    bootToEpochNs: string;
    startedAtNs: string;
  };
  const raw = readFileSync(resolve(dir, `${name}.batches`));
  const batches: Buffer[] = [];
  for (let off = 0; off < raw.length; ) {
    const len = raw.readUInt32LE(off);
    batches.push(raw.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
  return {
    args: meta.args,
    bootToEpochNs: BigInt(meta.bootToEpochNs),
    startedAtNs: BigInt(meta.startedAtNs),
    batches,
  };
}

function memorySink(): Sink & { text(): string } {
  const parts: Buffer[] = [];
  return {
    write(data) {
      parts.push(Buffer.from(typeof data === 'string' ? Buffer.from(data) : data));
    },
    close() {},
    text: () => Buffer.concat(parts).toString('utf8'),
  };
}

/**
 * Replays a fixture as the live command would with `args` (default: the recorded ones): the plan, the JSON
 * printer (every JSON output shares it) and a table printer when the arguments ask for one.
 */
async function replay(f: Fixture, args: readonly string[] = f.args) {
  const a = parseArgs(args);
  const output = planOutput(a.values.get('output') ?? []);
  const plan = await planTrace({ events: a.values.get('events'), scope: a.values.get('scope') });
  const json = memorySink();
  const table = memorySink();
  const printers: Printer[] = [
    jsonPrinter([json], {
      parseArguments: output.parseArguments,
      policyNames: plan.compiled.policies.map((p) => p.name),
    }),
  ];
  if (output.printers.some((p) => p.format === 'table'))
    printers.push(tablePrinter(table, output.parseArguments));
  const enricher = createEnricher({ bootToEpochNs: f.bootToEpochNs, procRoot: emptyProc, cgroupRoot: null });
  const pipeline = new Pipeline({
    policies: plan.compiled,
    printed: new Set(plan.printed.map((e) => e.id)),
    rules: plan.rules,
    enabled: plan.enabled,
    printers,
    bootToEpochNs: f.bootToEpochNs,
    startedAtNs: f.startedAtNs,
    enricher,
  });
  for (const p of printers) p.start();
  for (const b of f.batches) pipeline.push(b);
  return { pipeline, json, table };
}

describe('the pipeline on recorded batches', () => {
  it('prints what the CLI printed: exec, delete_module and two KTR findings as classic JSON', async () => {
    const f = fixture('pipeline-plain');
    const { pipeline, json } = await replay(f);
    assert.equal(json.text(), readFileSync(resolve(dir, 'pipeline-plain.jsonl'), 'utf8'));
    const st = pipeline.stats();
    assert.equal(st.printed, 4);
    assert.equal(st.findings, 2);
    assert.deepEqual(
      [...st.findingsByRule],
      [
        ['KTR-001', 1],
        ['KTR-002', 1],
      ],
    );
    assert.deepEqual(st.decodeErrors, { short_record: 0, bad_size: 0, unknown_event: 0, bad_blob: 0 });
    assert.equal(
      st.records,
      f.batches.reduce((n, b) => n + countRecords(b), 0),
    );
  });

  it('prints what the CLI printed with parse-arguments, as JSON and as a table', async () => {
    const f = fixture('pipeline-parsed');
    const { json, table } = await replay(f);
    assert.equal(json.text(), readFileSync(resolve(dir, 'pipeline-parsed.jsonl'), 'utf8'));
    assert.equal(table.text(), readFileSync(resolve(dir, 'pipeline-parsed.table'), 'utf8'));
  });

  it('writes a lost_events line when the kernel reports loss, and again only when it changes', async () => {
    const { pipeline, json } = await replay(fixture('pipeline-plain'));
    const before = json.text();
    const lost = new Map([
      ['delete_module', 3n],
      ['sched_process_exec', 1n],
    ]);
    assert.equal(pipeline.reportLoss(lost, 1796341815000000000n), true);
    assert.equal(pipeline.reportLoss(new Map(lost), 1796341816000000000n), false);
    assert.equal(pipeline.reportLoss(new Map(lost), 1796341817000000000n, true), true);
    assert.equal(
      json.text().slice(before.length),
      '{"timestamp":1796341815000000000,"eventName":"lost_events","lostTotal":4,"lost":{"delete_module":3,"sched_process_exec":1}}\n' +
        '{"timestamp":1796341817000000000,"eventName":"lost_events","lostTotal":4,"lost":{"delete_module":3,"sched_process_exec":1}}\n',
    );
    assert.equal(pipeline.reportLoss(new Map(), 1n, true), false);
  });

  it('filters in userspace what the kernel let through and counts it per event', async () => {
    const f = fixture('pipeline-plain');
    const { pipeline, json } = await replay(f, [
      '-e',
      'sched_process_exec,delete_module',
      '--scope',
      'comm=echo',
      '-o',
      'json',
    ]);
    const names = json
      .text()
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { eventName: string; processName: string }).processName);
    assert.deepEqual(names, ['echo']);
    const st = pipeline.stats();
    assert.equal(st.filtered, 3);
    assert.deepEqual(
      [...st.filteredByEvent],
      [
        [176, 1],
        [715, 2],
      ],
    );
  });

  it('gives rules the events of processes a follow scope reaches, with their matched policies', async () => {
    // The recorded run scoped by comm; here the shell's own comm and `follow` reach echo and rmmod.
    const { json } = await replay(fixture('pipeline-plain'), [
      '-e',
      'sched_process_exec,delete_module',
      '-e',
      'KTR-001,KTR-002',
      '--scope',
      'comm=ktfixture',
      '--scope',
      'follow',
      '-o',
      'json',
    ]);
    const lines = json
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { eventName: string; processName: string; matchedPolicies: string[] });
    assert.deepEqual(
      lines.map((l) => [l.eventName, l.processName, l.matchedPolicies]),
      [
        ['sched_process_exec', 'ktfixture', ['']],
        ['sched_process_exec', 'echo', ['']],
        ['sched_process_exec', 'rmmod', ['']],
        ['delete_module', 'rmmod', ['']],
        ['kernel_module_unload', 'rmmod', ['']],
        ['kernel_module_forced_unload', 'rmmod', ['']],
      ],
    );
  });

  it('counts records that do not decode and goes on', async () => {
    const f = fixture('pipeline-plain');
    const { pipeline, json } = await replay({
      ...f,
      batches: [Buffer.from([8, 0, 0, 0, 1, 2, 3]), ...f.batches],
    });
    assert.equal(json.text(), readFileSync(resolve(dir, 'pipeline-plain.jsonl'), 'utf8'));
    assert.equal(pipeline.stats().decodeErrors.bad_size, 1);
  });
});

function countRecords(b: Buffer): number {
  let n = 0;
  for (let off = 0; off + 4 <= b.length; off += 4 + b.readUInt32LE(off)) n++;
  return n;
}
