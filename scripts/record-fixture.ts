/**
 * Records real ring-buffer data for the golden tests (root; run after `npm run setup`):
 *
 *   node dist/scripts/record-fixture.js            test/fixtures/records/delete_module-rmmod.bin: the record of
 *                                                  one `rmmod -f fixture_mod`; the golden JSON beside it is
 *                                                  written by src/decode/fixture.test.ts with KTRAIL_UPDATE_GOLDEN=1
 *   node dist/scripts/record-fixture.js pipeline   test/fixtures/records/pipeline-{plain,parsed}.*: the raw batches
 *                                                  of a traced shell script named ktfixture (/bin/echo, then
 *                                                  rmmod -f fixture_mod), the run's clocks and arguments, and what
 *                                                  the live pipeline printed for them (.jsonl, and .table for
 *                                                  parsed), which src/pipeline/pipeline.test.ts replays
 *
 * A re-recorded fixture changes every timestamp and pid: review the diff as a format change, not noise.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { event_hdr_t } from '../src/abi/abi.gen.js';
import { openCapture } from '../src/capture/session.js';
import { eventByName } from '../src/catalog/index.js';
import { parseArgs } from '../src/cli/args.js';
import { loadNative, packageRoot } from '../src/native/binding.js';
import { planOutput } from '../src/output/plan.js';
import { jsonPrinter, type Printer, tablePrinter } from '../src/output/printer.js';
import type { Sink } from '../src/output/sink.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { planTrace } from '../src/pipeline/plan.js';

// The table's TIME column is local time: fixtures are recorded, and replayed, in UTC.
process.env['TZ'] = 'UTC';
const dir = resolve(packageRoot(), 'test', 'fixtures', 'records');

async function recordRmmod(): Promise<void> {
  const records: Buffer[] = [];
  const cap = await openCapture({
    events: [eventByName('delete_module')!],
    onBatch: (batch) => {
      let off = 0;
      while (off + 4 <= batch.length) {
        const len = batch.readUInt32LE(off);
        records.push(Buffer.from(batch.subarray(off + 4, off + 4 + len)));
        off += 4 + len;
      }
    },
  });
  const child = spawnSync('rmmod', ['-f', 'fixture_mod']);
  await sleep(300);
  await cap.close();
  const mine = records.filter((r) => r.readUInt32LE(event_hdr_t.host_pid) === child.pid);
  if (mine.length !== 1)
    throw new Error(`expected one record from rmmod (pid ${child.pid}), got ${mine.length}`);
  const out = resolve(dir, 'delete_module-rmmod.bin');
  writeFileSync(out, mine[0]!);
  console.log(`wrote ${out} (${mine[0]!.length} bytes)`);
}

const SCOPE = ['--scope', 'comm=ktfixture,echo,rmmod'];
const PIPELINE_FIXTURES: Record<string, string[]> = {
  'pipeline-plain': [
    '-e',
    'sched_process_exec,delete_module',
    '-e',
    'KTR-001,KTR-002',
    ...SCOPE,
    '-o',
    'json',
  ],
  'pipeline-parsed': [
    '-e',
    'sched_process_exec,delete_module',
    '-e',
    'KTR-001,KTR-002',
    ...SCOPE,
    '-o',
    'json',
    '-o',
    'table:FILE',
    '-o',
    'option:parse-arguments',
  ],
};

function bufferSink(parts: Buffer[]): Sink {
  return {
    write: (d) => {
      parts.push(Buffer.from(typeof d === 'string' ? Buffer.from(d) : d));
    },
    close() {},
  };
}

/** Traces the ktfixture script as `ktrail ARGS` would and writes the fixture files of `name`. */
async function recordPipeline(name: string, args: string[], script: string): Promise<void> {
  const a = parseArgs(args);
  const output = planOutput(a.values.get('output') ?? []);
  const plan = await planTrace({ events: a.values.get('events'), scope: a.values.get('scope') });
  const clocks = loadNative().clocks();
  const bootToEpochNs = clocks.realtime - clocks.boottime;
  const batches: Buffer[] = [];
  const json: Buffer[] = [];
  const table: Buffer[] = [];
  const printers: Printer[] = [
    jsonPrinter([bufferSink(json)], {
      parseArguments: output.parseArguments,
      policyNames: plan.compiled.policies.map((p) => p.name),
    }),
  ];
  if (output.printers.some((p) => p.format === 'table'))
    printers.push(tablePrinter(bufferSink(table), output.parseArguments));
  const pipeline = new Pipeline({
    policies: plan.compiled,
    printed: new Set(plan.printed.map((e) => e.id)),
    rules: plan.rules,
    enabled: plan.enabled,
    printers,
    bootToEpochNs,
    startedAtNs: clocks.realtime,
  });
  const cap = await openCapture({
    events: plan.traced,
    kernelPlan: plan.compiled.kernel,
    scopeOnlyEvents: [...plan.ruleEventIds],
    startBootNs: clocks.boottime,
    processTree: true,
    onBatch: (b) => {
      const len = Buffer.alloc(4);
      len.writeUInt32LE(b.length);
      batches.push(len, Buffer.from(b));
      pipeline.push(b);
    },
  });
  for (const p of printers) p.start();
  spawnSync(script, { stdio: 'ignore' });
  await sleep(500);
  await cap.close();
  pipeline.close();
  const meta = {
    args,
    bootToEpochNs: String(bootToEpochNs),
    startedAtNs: String(clocks.realtime),
    trigger: "/bin/sh script named ktfixture: /bin/echo one 'two words'; rmmod -f fixture_mod",
    recordedWith: 'scripts/record-fixture.ts pipeline: expected output is what the live pipeline printed',
  };
  writeFileSync(resolve(dir, `${name}.batches`), Buffer.concat(batches));
  writeFileSync(resolve(dir, `${name}.meta.json`), `${JSON.stringify(meta, null, 2)}\n`);
  writeFileSync(resolve(dir, `${name}.jsonl`), Buffer.concat(json));
  if (table.length > 0) writeFileSync(resolve(dir, `${name}.table`), Buffer.concat(table));
  console.log(`wrote ${name}.* (${pipeline.stats().printed} events, ${pipeline.stats().findings} findings)`);
}

if (process.argv[2] === 'pipeline') {
  const tmp = mkdtempSync(join(tmpdir(), 'ktfixture-'));
  try {
    // The comm of a script is its file name: the scope above selects the script and what it runs.
    const script = join(tmp, 'ktfixture');
    writeFileSync(script, "#!/bin/sh\n/bin/echo one 'two words'\nrmmod -f fixture_mod\nexit 0\n");
    chmodSync(script, 0o755);
    for (const [name, args] of Object.entries(PIPELINE_FIXTURES)) await recordPipeline(name, args, script);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
} else {
  await recordRmmod();
}
