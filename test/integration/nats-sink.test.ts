/**
 * The NATS sink against Debian's nats-server with JetStream on 127.0.0.1: start-up checks, one message per
 * event stored in the stream (counted through the monitoring endpoint), a server that goes away mid-run.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect } from 'nats';
import { KtrailError } from '../../src/errors.js';
import { openNatsSink } from '../../src/output/nats.js';
import { planOutput } from '../../src/output/plan.js';
import { type NatsServer, natsSkipReason, startNats } from '../support/nats-server.js';

const skip = natsSkipReason();

function options(url: string) {
  const d = planOutput([`nats:${url}`]).printers[0]!.destination;
  assert.ok(d.kind === 'nats');
  return d.nats;
}

describe('NATS JetStream sink', { skip }, () => {
  let srv: NatsServer;
  before(async () => {
    srv = await startNats();
    const nc = await connect({ servers: srv.url });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'KTRAIL', subjects: ['ktrail.>'] });
    await nc.close();
  });
  after(async () => {
    await srv?.stop();
  });

  it('stores every line as one message, acknowledged', async () => {
    const sink = await openNatsSink(options(`${srv.url}?subject=ktrail.events`));
    for (let b = 0; b < 20; b++)
      sink.write(Array.from({ length: 100 }, (_, i) => `{"seq":${b * 100 + i + 1}}\n`).join(''));
    await sink.close();
    assert.deepEqual(sink.stats?.(), {
      written: 2000,
      dropped: 0,
      queued: 0,
      queuedBytes: 0,
      errors: 0,
      retries: 0,
    });
    assert.equal(await srv.streamMessages('KTRAIL'), 2000);
  });

  it('refuses a subject no stream stores, and a server that is not there, before anything runs', async () => {
    await assert.rejects(
      openNatsSink(options(`${srv.url}?subject=other.events`)),
      (e: unknown) =>
        e instanceof KtrailError &&
        e.exitCode === 2 &&
        e.message === `--output nats: no JetStream stream on ${srv.url} stores subject 'other.events'` &&
        /nats stream add/.test(e.hint ?? ''),
    );
    await assert.rejects(
      openNatsSink(options('nats://127.0.0.1:1?subject=ktrail.events')),
      (e: unknown) =>
        e instanceof KtrailError && /^--output nats: connecting to nats:\/\/127\.0\.0\.1:1: /.test(e.message),
    );
  });
});
