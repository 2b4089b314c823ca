import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KtrailError } from '../errors.js';
import { parseSize, planOutput } from './plan.js';
import { backoffMs, LineQueue, parseGoDuration } from './queue.js';

function message(values: string[]): string {
  try {
    planOutput(values);
  } catch (e) {
    assert.ok(e instanceof KtrailError);
    assert.equal(e.exitCode, 2);
    return `${e.message} | ${e.hint}`;
  }
  return 'no error';
}

describe('-o destinations', () => {
  it('several outputs at once: stdout, files, a webhook and NATS', () => {
    const p = planOutput([
      'json',
      'table:/tmp/t.txt',
      'webhook:http://127.0.0.1:8080/hook?timeout=2s&batch=50&retries=1&queue=100&token=abc',
      'nats:nats://127.0.0.1:4222?subject=ktrail.events&timeout=500ms',
    ]);
    assert.deepEqual(
      p.printers.map((x) => [x.format, x.destination.kind, x.path]),
      [
        ['json', 'stdout', undefined],
        ['table', 'file', '/tmp/t.txt'],
        ['json', 'webhook', undefined],
        ['json', 'nats', undefined],
      ],
    );
    const w = p.printers[2]!.destination;
    assert.ok(w.kind === 'webhook');
    // ktrail's parameters are read and removed; the receiver's own (token) stay in the URL posted to.
    assert.equal(w.webhook.url.href, 'http://127.0.0.1:8080/hook?token=abc');
    assert.equal(w.webhook.name, 'http://127.0.0.1:8080/hook');
    assert.deepEqual(
      [w.webhook.timeoutMs, w.webhook.batch, w.webhook.retries, w.webhook.queue, w.webhook.contentType],
      [2000, 50, 1, 100, 'application/json'],
    );
    const n = p.printers[3]!.destination;
    assert.ok(n.kind === 'nats');
    assert.deepEqual(n.nats, {
      server: 'nats://127.0.0.1:4222',
      name: 'nats://127.0.0.1:4222?subject=ktrail.events',
      subject: 'ktrail.events',
      timeoutMs: 500,
      retries: 5,
      queue: 10000,
    });
  });

  it("Tracee's spellings: webhook without a scheme, contentType; NATS credentials", () => {
    const p = planOutput([
      'webhook:localhost:9000?contentType=application/x-ndjson',
      'nats:u:p@[::1]:4222?subject=a',
    ]);
    const w = p.printers[0]!.destination;
    assert.ok(w.kind === 'webhook');
    assert.equal(w.webhook.url.href, 'http://localhost:9000/');
    assert.equal(w.webhook.contentType, 'application/x-ndjson');
    const n = p.printers[1]!.destination;
    assert.ok(n.kind === 'nats');
    assert.equal(n.nats.server, 'nats://[::1]:4222');
    assert.deepEqual([n.nats.user, n.nats.pass, n.nats.token], ['u', 'p', undefined]);
    const t = planOutput(['nats:nats://s3cret@127.0.0.1:4222?subject=a']).printers[0]!.destination;
    assert.ok(t.kind === 'nats');
    assert.equal(t.nats.token, 's3cret');
    assert.equal(t.nats.name, 'nats://127.0.0.1:4222?subject=a');
  });

  it('rotation applies to file outputs and needs one', () => {
    assert.deepEqual(planOutput(['json:/tmp/a', 'option:rotate-size=10M,rotate-backups=3']).rotate, {
      bytes: 10 << 20,
      backups: 3,
    });
    assert.deepEqual(planOutput(['json:/tmp/a', 'option:rotate-size=4096']).rotate, {
      bytes: 4096,
      backups: 5,
    });
    assert.equal(
      message(['json', 'option:rotate-size=1M']),
      "--output 'option:rotate-size=1M': rotation needs a file output | add json:PATH or table:PATH, or drop the option",
    );
    assert.match(message(['json:/x', 'option:rotate-backups=2']), /rotate-backups without rotate-size/);
    assert.match(
      message(['json:/x', 'option:rotate-size=12Q']),
      /rotate-size '12Q' is not a size from 1K to 1024G/,
    );
    assert.match(message(['json:/x', 'option:rotate-size=100']), /not a size from 1K/);
    assert.match(
      message(['json:/x', 'option:rotate-size=1M,rotate-backups=0']),
      /not a whole number from 1 to 1000/,
    );
  });

  it('refuses what it cannot do, naming the value', () => {
    assert.match(message(['webhook:']), /^--output 'webhook:': no URL/);
    assert.match(message(['webhook:ftp://x/y']), /'ftp:' URLs cannot be posted to/);
    assert.match(
      message(['webhook:http://x/?gotemplate=/t.tmpl']),
      /'gotemplate' is not supported by ktrail/,
    );
    assert.match(message(['webhook:http://x/?timeout=soon']), /timeout 'soon' is not a duration/);
    assert.match(message(['webhook:http://x/?batch=0']), /batch '0' is not a whole number from 1 to 10000/);
    assert.match(message(['nats:nats://127.0.0.1:4222']), /no subject \| add \?subject=NAME/);
    assert.match(
      message(['nats:nats://127.0.0.1:4222?subject=a.*']),
      /'a\.\*' is not a subject to publish to/,
    );
    assert.match(message(['nats:tls://127.0.0.1:4222?subject=a']), /'tls:' is not supported/);
    assert.match(message(['nats:nats://h:1?subject=a&stream=X']), /unknown parameter 'stream'/);
    assert.match(message(['forward:tcp://h:1']), /the 'forward' output is not supported by ktrail/);
    assert.match(
      message(['webhook:http://h:1/a', 'webhook:http://h:1/a']),
      /'http:\/\/h:1\/a' is written twice/,
    );
    assert.match(message(['json', 'json:stdout']), /'stdout' is written twice/);
  });

  it('keeps the old behaviour: table on stdout by default, none alone', () => {
    assert.deepEqual(planOutput([]).printers, [
      { format: 'table', path: undefined, destination: { kind: 'stdout' } },
    ]);
    assert.deepEqual(planOutput(['none']).printers, []);
    assert.match(message(['none', 'json']), /'none' cannot be combined/);
  });
});

describe('sizes, durations, queue', () => {
  it('parses sizes and Go durations', () => {
    assert.deepEqual(['4096', '64K', '100M', '1G', '2MiB', 'x'].map(parseSize), [
      4096,
      65536,
      100 << 20,
      1 << 30,
      2 << 20,
      undefined,
    ]);
    assert.deepEqual(['5s', '1m30s', '250ms', '1.5s', '0', '10', 's', ''].map(parseGoDuration), [
      5000,
      90000,
      250,
      1500,
      0,
      undefined,
      undefined,
      undefined,
    ]);
    assert.deepEqual([1, 2, 3, 7, 20].map(backoffMs), [250, 500, 1000, 10000, 10000]);
  });

  it('queues whole lines up to its bounds and counts what it drops', () => {
    const q = new LineQueue({ lines: 3, bytes: 16 });
    assert.equal(q.push('{"a":1}\n{"b":2}\n'), 2);
    assert.equal(q.push(Buffer.from('{"c":3}\n{"d":4}\n')), 0, '14 bytes queued: 7 more would pass 16');
    assert.equal(q.dropped, 2);
    assert.deepEqual(
      q.take(5).map((b) => b.toString()),
      ['{"a":1}', '{"b":2}'],
    );
    assert.equal(q.length, 0);
    q.push('x\ny\nz\nw\n');
    assert.equal(q.length, 3);
    assert.equal(q.dropped, 3);
    assert.deepEqual(
      q.take(10, 1).map((b) => b.toString()),
      ['x'],
    );
    assert.equal(q.clear(), 2);
    assert.equal(q.dropped, 5);
    assert.equal(q.bytes, 0);
  });
});
