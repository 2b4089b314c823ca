/**
 * Pipeline.reconfigure at a heartbeat (the reload switch point) on synthetic records: events before the
 * heartbeat are judged and printed under the old policies, events after it under the new ones, and every
 * numbered record is printed, filtered or unprinted (so the seq has no unexplained gap).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { blob_hdr_t, event_hdr_t as HDR, kt_hdr_flag, kt_heartbeat } from '../abi/abi.gen.js';
import { createEnricher } from '../enrich/index.js';
import { jsonPrinter } from '../output/printer.js';
import type { Sink } from '../output/sink.js';
import type { CompiledPolicies } from '../policy/compile.js';
import { followRemap, Pipeline } from './pipeline.js';
import { planTrace } from './plan.js';

const emptyProc = mkdtempSync(join(tmpdir(), 'ktrail-proc-'));
after(() => rmSync(emptyProc, { recursive: true, force: true }));

/** One record: delete_module(name, 0) from pid 100, or a heartbeat; `seq` as the kernel numbers it. */
function record(seq: number, name?: string, flags = 0): Buffer {
  const body = name === undefined ? Buffer.alloc(0) : Buffer.from(name);
  const blob = name === undefined ? 0 : blob_hdr_t.SIZE + body.length;
  const size = HDR.SIZE + blob;
  const b = Buffer.alloc(4 + size);
  b.writeUInt32LE(size, 0);
  const r = b.subarray(4);
  r.writeBigUInt64LE(BigInt(seq) * 1000n, HDR.ts);
  r.writeBigUInt64LE(BigInt(seq), HDR.seq);
  r.writeUInt32LE(name === undefined ? kt_heartbeat.KT_HB_EVENT_ID : 176, HDR.event_id);
  r.writeUInt32LE(name === undefined ? kt_heartbeat.KT_HB_NR : 176, HDR.syscall_nr);
  for (const k of ['host_pid', 'host_tid', 'pid', 'tid'] as const) r.writeUInt32LE(100, HDR[k]);
  r.writeUInt32LE(flags | (name === undefined ? kt_hdr_flag.KT_F_AT_ENTRY : 0), HDR.flags);
  r.writeUInt32LE(size, HDR.size);
  r.write(name === undefined ? 'node' : 'rmmod', HDR.comm);
  if (name !== undefined) {
    r.writeUInt16LE(body.length, HDR.SIZE + blob_hdr_t.len);
    r.writeUInt8(2, HDR.SIZE + blob_hdr_t.kind);
    body.copy(r, HDR.SIZE + blob_hdr_t.SIZE);
  }
  return b;
}

function memorySink(): Sink & { lines(): Record<string, unknown>[] } {
  let text = '';
  return {
    write(d) {
      text += typeof d === 'string' ? d : Buffer.from(d).toString();
    },
    close() {},
    lines: () =>
      text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('Pipeline.reconfigure', () => {
  it('switches exactly at the heartbeat that called it, within a batch', async () => {
    const before = await planTrace({ events: ['delete_module.data.name=a*'] });
    const next = await planTrace({ events: ['delete_module.data.name=b*', 'heartbeat_event'] });
    const sink = memorySink();
    const pipeline = new Pipeline({
      policies: before.compiled,
      printed: new Set(before.printed.map((e) => e.id)),
      printers: [jsonPrinter([sink], { parseArguments: false, policyNames: [''] })],
      bootToEpochNs: 0n,
      startedAtNs: 0n,
      enricher: createEnricher({ bootToEpochNs: 0n, procRoot: emptyProc, cgroupRoot: null }),
      onHeartbeat: () =>
        pipeline.reconfigure({ policies: next.compiled, printed: new Set(next.printed.map((e) => e.id)) }),
    });
    const internal = kt_hdr_flag.KT_F_INTERNAL;
    pipeline.push(
      Buffer.concat([
        record(1, 'a1'),
        record(2, 'b1'),
        record(0, undefined, internal),
        record(3, 'a2'),
        record(4, 'b2'),
      ]),
    );
    pipeline.push(Buffer.concat([record(5, undefined), record(6, 'b3')]));
    const printed = sink.lines().map((e) => `${e['seq']} ${e['eventName']}`);
    assert.deepEqual(printed, ['1 delete_module', '4 delete_module', '5 heartbeat_event', '6 delete_module']);
    const st = pipeline.stats();
    assert.equal(st.reconfigured, 2, 'the second heartbeat reconfigured again (same policies)');
    assert.equal(st.heartbeats, 2);
    assert.equal(st.printed, 4);
    // seq 2 (b1 under "a*") and 3 (a2 under "b*") were filtered: 4 printed + 2 filtered = seq 1..6.
    assert.equal(st.filtered, 2);
    assert.equal(st.unprinted, 0);
  });

  it('carries follow marks over to the policy of the same name', () => {
    // followRemap reads the policy names and the follow bits only.
    const policies = (names: string[], followMask: bigint) =>
      ({
        policies: names.map((name, index) => ({ index, name })),
        user: { followMask },
      }) as unknown as CompiledPolicies;
    const old = policies(['a', 'b', 'c'], 0b011n);
    const neu = policies(['c', 'a', 'd'], 0b111n);
    const remap = followRemap(old, neu);
    assert.equal(remap(0b001n), 0b010n, 'a: bit 0 becomes bit 1');
    assert.equal(remap(0b010n), 0n, 'b is gone');
    assert.equal(remap(0b111n), 0b010n, 'c had no follow before');
  });
});
