import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { formatJson } from '../output/json.js';
import { makeEvent } from '../signatures/test-events.js';
import { ClassicJsonError, ClassicReader, parseExactJson } from './classic-json.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../../../test/fixtures/events/${name}`, import.meta.url), 'utf8').split('\n');

describe('parseExactJson', () => {
  it('keeps integers beyond 2^53 exact, including inside arrays, and leaves strings alone', () => {
    assert.deepEqual(
      parseExactJson('{"a":1764412200123456789,"b":[-9007199254740993,1.5],"c":"12345678901234567890"}'),
      {
        a: 1764412200123456789n,
        b: [-9007199254740993n, 1.5],
        c: '12345678901234567890',
      },
    );
  });
  it('reports a syntax error as "not JSON (...)"', () => {
    assert.throws(
      () => parseExactJson('{"a":'),
      (e: unknown) =>
        e instanceof ClassicJsonError && e.message === 'not JSON (Unexpected end of JSON input)',
    );
  });
  // Found by the fuzz test "parseExactJson accepts exactly the texts JSON.parse accepts": the position was
  // one in the rewritten text (a long integer grows into a marked string), 17 characters past the fault.
  it('gives the position of the fault in the line as written', () => {
    assert.throws(
      () => parseExactJson('{"timestamp":17644122000010000\\00,"seq":1}'),
      (e: unknown) =>
        e instanceof ClassicJsonError &&
        e.message === "not JSON (Expected ',' or '}' after property value in JSON at position 30)",
    );
  });
  it('refuses a long integer as a key and one with a leading zero, as JSON.parse does', () => {
    assert.throws(
      () => parseExactJson('{12345678901234567890:1,"eventName":"x"}'),
      (e: unknown) =>
        e instanceof ClassicJsonError &&
        e.message === "not JSON (Expected property name or '}' in JSON at position 1)",
    );
    assert.throws(
      () => parseExactJson('{"eventName":"delete_module","timestamp":012345678901234567890}'),
      (e: unknown) =>
        e instanceof ClassicJsonError && e.message === 'not JSON (Unexpected number in JSON at position 42)',
    );
  });
});

describe('ClassicReader', () => {
  it("reads back ktrail's own line exactly", () => {
    const ev = makeEvent(
      'connect',
      { sockfd: 3, addr: { sa_family: 'AF_INET', sin_port: '4444', sin_addr: '10.0.0.9' }, addrlen: 16 },
      { returnValue: -115, seq: 77n, durationNs: 1234n, containerId: 'abc' },
    );
    const opts = { parseArguments: false, policyNames: [''] };
    const reader = new ClassicReader();
    const back = reader.parseLine(formatJson(ev, opts));
    assert.equal(back.spec.name, 'connect');
    assert.deepEqual(back.args, ev.args);
    assert.equal(back.timestamp, 1764412200123456789n);
    assert.equal(back.returnValue, -115);
    assert.equal(back.seq, 77n);
    assert.equal(back.durationNs, 1234n);
    assert.equal(back.containerId, 'abc');
    assert.equal(formatJson(back, { ...opts, policyNames: reader.policyNames }), formatJson(ev, opts));
  });
  it("reads Tracee's events: C types, unknown events kept with a minimal spec, policy names", () => {
    const reader = new ClassicReader();
    const ev = reader.parseLine(fixture('tracee-v024.jsonl')[0]!);
    // An event ktrail knows takes the catalog's spec (Tracee's line carried an older id, 730).
    assert.equal(ev.spec.name, 'security_file_open');
    assert.equal(ev.spec.id, 732);
    assert.deepEqual(
      ev.args.map((a) => [a.name, a.type, a.value]),
      [
        ['pathname', 'string', '/proc/sys/kernel/core_pattern'],
        ['flags', 'string', 'O_WRONLY|O_CREAT|O_TRUNC'],
        ['dev', 'uint32', 4],
        ['inode', 'uint64', 30751],
        ['ctime', 'uint64', 1764412000000000000n],
        ['syscall_pathname', 'string', '/proc/sys/kernel/core_pattern'],
      ],
    );
    assert.equal(ev.containerId, '3f2a9c1b7e44');
    assert.equal(ev.hostProcessId, 9817);
    assert.equal(ev.matched, 1n);
    assert.deepEqual(reader.policyNames, ['containers']);
    assert.deepEqual([...reader.unknownEvents], []);
    // An event the catalog lacks keeps the line's id with a minimal spec.
    const other = reader.parseLine(
      fixture('tracee-v024.jsonl')[0]!.replace(
        '"eventName":"security_file_open"',
        '"eventName":"some_future_event"',
      ),
    );
    assert.equal(other.spec.name, 'some_future_event');
    assert.equal(other.spec.id, 730);
    assert.deepEqual([...reader.unknownEvents], [['some_future_event', 1]]);
  });
  it('names what is wrong with a line that is JSON but not an event', () => {
    const reader = new ClassicReader();
    const msg = (line: string) => {
      try {
        reader.parseLine(line);
        return 'parsed';
      } catch (e) {
        return (e as Error).message;
      }
    };
    assert.equal(msg('[1,2]'), 'not an event (expected a JSON object)');
    assert.equal(msg('{"eventName":5}'), 'not an event (no eventName)');
    assert.equal(msg('{"eventName":"openat","args":7}'), 'openat: args is not an array');
    assert.equal(msg('{"eventName":"openat","args":[3]}'), 'openat: args[0] is not {name, type, value}');
  });
  it('fuzz finding: a string value that starts with the big-integer marker stays a string', () => {
    // Minimal counterexample: ["\u0001big:"] read as [0n]; ["\u0001big:12"] read as [12n], and
    // ["\u0001big:%"] was 'not JSON (Cannot convert % to a BigInt)'.
    assert.deepEqual(parseExactJson('["\\u0001big:"]'), ['\u0001big:']);
    assert.deepEqual(parseExactJson('["\\u0001big:%"]'), ['\u0001big:%']);
    assert.deepEqual(parseExactJson('["\\u0001big:12", "\\u0001\\u0001x", 123456789012345678901]'), [
      '\u0001big:12',
      '\u0001\u0001x',
      123456789012345678901n,
    ]);
    assert.deepEqual(parseExactJson('{"\\u0001k": "\\u0001v"}'), { '\u0001k': '\u0001v' });
  });
});
