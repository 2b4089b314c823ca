/**
 * The webhook sink against real HTTP receivers on 127.0.0.1: batched JSON arrays, retries with back-off,
 * final statuses, a receiver that is gone, a full queue, and a stop deadline.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { describe, it } from 'node:test';
import { planOutput } from './plan.js';
import { webhookSink } from './webhook.js';

interface Receiver {
  readonly server: Server;
  readonly port: number;
  readonly bodies: unknown[][];
  readonly requests: { url: string; type: string }[];
}

/** A receiver answering each request with the next status of `statuses` (then 200). */
async function receiver(statuses: number[] = []): Promise<Receiver> {
  const bodies: unknown[][] = [];
  const requests: { url: string; type: string }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ url: req.url ?? '', type: req.headers['content-type'] ?? '' });
      const status = statuses.shift() ?? 200;
      if (status === 200) bodies.push(JSON.parse(Buffer.concat(chunks).toString()) as unknown[]);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port, bodies, requests };
}

function sinkFor(url: string) {
  const d = planOutput([`webhook:${url}`]).printers[0]!.destination;
  assert.ok(d.kind === 'webhook');
  const reports: string[] = [];
  return { sink: webhookSink(d.webhook, (level, m) => reports.push(`${level}: ${m}`)), reports };
}

const lines = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => `{"seq":${from + i}}\n`).join('');

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('webhook sink', () => {
  it('posts JSON arrays of at most `batch` events, in order, to the URL without ktrail parameters', async () => {
    const rx = await receiver();
    const { sink } = sinkFor(`http://127.0.0.1:${rx.port}/in?key=k&batch=100`);
    sink.write(lines(1, 150));
    sink.write(lines(151, 100));
    await sink.close();
    rx.server.close();
    const seqs = rx.bodies.flat().map((e) => (e as { seq: number }).seq);
    assert.deepEqual(
      seqs,
      Array.from({ length: 250 }, (_, i) => i + 1),
    );
    assert.ok(rx.bodies.every((b) => Array.isArray(b) && b.length <= 100));
    assert.deepEqual(rx.requests[0], { url: '/in?key=k', type: 'application/json' });
    assert.deepEqual(sink.stats?.(), {
      written: 250,
      dropped: 0,
      queued: 0,
      queuedBytes: 0,
      errors: 0,
      retries: 0,
    });
  });

  it('retries 5xx with back-off and counts the retries; 4xx is final and dropped', async () => {
    const rx = await receiver([503, 500, 200, 400]);
    const { sink, reports } = sinkFor(`http://127.0.0.1:${rx.port}/?retries=3`);
    sink.write(lines(1, 3));
    await until(() => rx.bodies.length === 1);
    sink.write(lines(4, 2));
    await sink.close();
    rx.server.close();
    assert.deepEqual(rx.bodies, [[{ seq: 1 }, { seq: 2 }, { seq: 3 }]]);
    assert.deepEqual(sink.stats?.(), {
      written: 3,
      dropped: 2,
      queued: 0,
      queuedBytes: 0,
      errors: 3,
      retries: 2,
    });
    assert.deepEqual(reports, [
      `warn: webhook http://127.0.0.1:${rx.port}/: POST failed (HTTP 503); retrying each batch up to 3 times, events queue up to 10000 and are dropped beyond`,
      `info: webhook http://127.0.0.1:${rx.port}/: delivering again`,
      `warn: webhook http://127.0.0.1:${rx.port}/: POST failed (HTTP 400); events queue up to 10000 and are dropped beyond`,
    ]);
  });

  it('a receiver that is gone: writes never block, the queue bound drops and counts, stop gives up', async () => {
    const rx = await receiver();
    const port = rx.port;
    await new Promise<void>((r) => rx.server.close(() => r()));
    const { sink, reports } = sinkFor(`http://127.0.0.1:${port}/?retries=1&queue=50&timeout=200ms`);
    const t0 = performance.now();
    for (let i = 0; i < 10; i++) sink.write(lines(i * 20, 20));
    const took = performance.now() - t0;
    assert.ok(took < 50, `writes took ${took} ms`);
    await until(() => (sink.stats?.().errors ?? 0) >= 2);
    const st = sink.stats!();
    assert.equal(st.written, 0);
    assert.ok(st.dropped >= 150, `dropped ${st.dropped}`);
    assert.match(reports.join('\n'), /POST failed \(ECONNREFUSED\)/);
    assert.match(reports.join('\n'), /queue full \(50 events\), dropping events until it drains/);
    await sink.close(AbortSignal.timeout(100));
    const end = sink.stats!();
    assert.equal(end.dropped + end.written, 200, 'every line is delivered or counted as dropped');
    assert.equal(end.queued, 0);
  });

  it('a stop deadline cuts a slow receiver short and counts what was left', async () => {
    const server = createServer(() => {
      /* never answers */
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const { sink } = sinkFor(`http://127.0.0.1:${port}/?timeout=30s&batch=10`);
    sink.write(lines(1, 35));
    const t0 = performance.now();
    await sink.close(AbortSignal.timeout(300));
    assert.ok(performance.now() - t0 < 2000);
    assert.deepEqual(sink.stats?.(), {
      written: 0,
      dropped: 35,
      queued: 0,
      queuedBytes: 0,
      errors: 1,
      retries: 0,
    });
    server.closeAllConnections();
    server.close();
  });
});
