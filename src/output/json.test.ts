import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EventSpec } from '../catalog/types.js';
import type { TraceEvent } from '../decode/event.js';
import { formatJson, type JsonOptions, JsonWriter } from './json.js';

const deleteModule: EventSpec = {
  id: 176,
  name: 'delete_module',
  version: '1.0.0',
  kind: 'syscall',
  description: '',
  sets: [],
  probes: [],
  fields: [
    { name: 'name', cType: 'const char *', type: 'string', decode: { wire: 'str', max: 64 }, tags: [] },
    { name: 'flags', cType: 'unsigned int', type: 'int32', decode: { wire: 'reg' }, tags: [] },
    { name: 'returnValue', cType: 'long', type: 'int64', decode: { wire: 'reg' }, tags: [] },
  ],
  syscall: { nr: 176, compatNrs: [129], emit: 'exit' },
};

function event(over: Partial<TraceEvent> = {}): TraceEvent {
  return {
    spec: deleteModule,
    timestamp: 1764412200123456789n,
    threadStartTime: 1764412200120004511n,
    processorId: 1,
    processId: 4242,
    cgroupId: 8412n,
    threadId: 4242,
    parentProcessId: 4100,
    hostProcessId: 4242,
    hostThreadId: 4242,
    hostParentProcessId: 4100,
    userId: 0,
    groupId: 0,
    mountNamespace: 4026531841,
    pidNamespace: 4026531836,
    processName: 'rmmod',
    executablePath: '/usr/bin/kmod',
    hostName: 'node-1',
    containerId: '',
    returnValue: -38,
    syscall: 'delete_module',
    isCompat: false,
    atEntry: false,
    args: [
      { name: 'name', type: 'string', value: 'foo' },
      { name: 'flags', type: 'int32', value: 2560 },
    ],
    seq: 1187n,
    durationNs: 2140n,
    matched: 1n,
    leaderStartTime: 1764412200120004511n,
    parentStartTime: 1764412100000000000n,
    ...over,
  };
}

const opts: JsonOptions = { parseArguments: false, policyNames: ['', 'p1'] };

// Produced by the string formatter this writer replaced (ktrail 4aacb03); the bytes must not change.
const PLAIN =
  '{"timestamp":1764412200123456789,"threadStartTime":1764412200120004511,"processorId":1,"processId":4242,' +
  '"cgroupId":8412,"threadId":4242,"parentProcessId":4100,"hostProcessId":4242,"hostThreadId":4242,' +
  '"hostParentProcessId":4100,"userId":0,"mountNamespace":4026531841,"pidNamespace":4026531836,' +
  '"processName":"rmmod","executable":{"path":"/usr/bin/kmod"},"hostName":"node-1","containerId":"",' +
  '"container":{},"kubernetes":{},"eventId":"176","eventName":"delete_module","matchedPolicies":[""],' +
  '"argsNum":2,"returnValue":-38,"syscall":"delete_module","stackAddresses":null,' +
  '"contextFlags":{"containerStarted":false,"isCompat":false},"threadEntityId":559434943,' +
  '"processEntityId":559434943,"parentEntityId":832185162,"args":[{"name":"name","type":"string","value":"foo"},' +
  '{"name":"flags","type":"int32","value":2560}],"seq":1187,"durationNs":2140}';

test('formatJson writes the classic line byte for byte', () => {
  assert.equal(formatJson(event(), opts), PLAIN);
});

test('JsonWriter: lines of one thread re-render every field that changed', () => {
  const w = new JsonWriter(opts, 256); // small: the buffer must grow
  w.event(event());
  w.event(event({ timestamp: 1764412201000000007n, processorId: 123, seq: 9007199254740993n }));
  w.event(
    event({
      executablePath: '/sbin/rmmod',
      parentProcessId: 1,
      containerId: 'abc123',
      matched: 3n,
      processName: 'rm"mod',
    }),
  );
  w.event(event());
  const lines = w.text().split('\n');
  assert.equal(lines.length, 5);
  assert.equal(lines[0], PLAIN);
  assert.equal(
    lines[1],
    PLAIN.replace('"timestamp":1764412200123456789', '"timestamp":1764412201000000007')
      .replace('"processorId":1,', '"processorId":123,')
      .replace('"seq":1187', '"seq":9007199254740993'),
  );
  assert.equal(
    lines[2],
    PLAIN.replace('"parentProcessId":4100', '"parentProcessId":1')
      .replace('"processName":"rmmod"', '"processName":"rm\\"mod"')
      .replace('"path":"/usr/bin/kmod"', '"path":"/sbin/rmmod"')
      .replace('"containerId":"","container":{}', '"containerId":"abc123","container":{"id":"abc123"}')
      .replace('"matchedPolicies":[""]', '"matchedPolicies":["","p1"]'),
  );
  assert.equal(lines[3], PLAIN);
  assert.equal(lines[4], '');
  assert.equal(w.length, Buffer.byteLength(w.text()));
  w.reset();
  assert.equal(w.length, 0);
  w.line('{"x":"é"}');
  assert.deepEqual([...w.bytes()], [...Buffer.from('{"x":"é"}\n')]);
});

test('JsonWriter: repeated arguments come from the thread cache, across batches and changes', () => {
  const w = new JsonWriter(opts, 1 << 16); // large: every batch reuses the same memory
  const shared = event().args;
  const batches: TraceEvent[][] = [
    [event(), event(), event({ args: shared }), event({ args: shared })],
    [event({ args: shared }), event({ seq: 2n }), event()],
    [
      event({ args: [{ name: 'name', type: 'string', value: 'bar' }, shared[1]!] }),
      event({ args: [{ name: 'name', type: 'string', value: 'bar' }, shared[1]!] }),
      event({ args: [{ name: 'name', type: 'string', value: '', problem: 'null' }, shared[1]!] }),
      event({ matched: 3n }),
      event({ matched: 3n }),
      event({ args: [] }),
      event({ args: [] }),
      event(),
    ],
    [
      event({ processorId: 0 }),
      event({ processorId: 0, returnValue: 0 }),
      event({ processorId: 7, returnValue: 0 }),
      event({ processorId: 7, returnValue: 0 }),
      event({ processorId: 1234, returnValue: 0 }),
      event({ processorId: 0, returnValue: -(2n ** 63n) }),
      event({ processorId: 0, returnValue: -(2n ** 63n) }),
      event({ processorId: 0, returnValue: 1 }),
      event({ timestamp: 5n, processorId: 0, returnValue: 1 }),
      event({ timestamp: 1764412299999999999n, returnValue: 1 }),
      event({ timestamp: 1764412300000000000n, returnValue: 1, durationNs: undefined }),
    ],
  ];
  for (const batch of batches) {
    w.reset();
    for (const ev of batch) w.event(ev);
    // Every line as a fresh writer renders it: the cache never changes a byte.
    assert.equal(w.text(), batch.map((ev) => `${formatJson(ev, { ...opts })}\n`).join(''));
    // Overwrite the writer's buffer the way the next batch does.
    w.reset();
    w.line('x'.repeat(2000));
  }
});

test('JsonWriter: values, escapes, non-ASCII, 64-bit and missing keys', () => {
  const ev = event({
    returnValue: 18446744073709551615n,
    durationNs: undefined,
    isCompat: true,
    matched: 2n,
    timestamp: 5000n,
    args: [
      { name: 'name', type: 'string', value: 'é\u2028\ud800"\\\n', problem: 'truncated' },
      { name: 'flags', type: 'int32', value: -0 },
      { name: 'f', type: 'float64', value: 1.5 },
      { name: 'n', type: 'float64', value: Number.NaN },
      { name: 'b', type: '[]byte', value: new Uint8Array([1, 2, 250]) },
      { name: 'a', type: '[]string', value: ['x', 'ü'] },
      { name: 's', type: 'SockAddr', value: { sa_family: 'AF_INET', sin_port: '80' } },
      { name: 'p', type: 'trace.Pointer', value: 2n ** 64n - 1n },
      { name: 'z', type: 'bool', value: true },
      { name: 'u', type: 'unknown', value: null },
    ],
  });
  const expected = PLAIN.replace('"timestamp":1764412200123456789', '"timestamp":5000')
    .replace('"matchedPolicies":[""],"argsNum":2', '"matchedPolicies":["p1"],"argsNum":10')
    .replace('"returnValue":-38', '"returnValue":18446744073709551615')
    .replace('"isCompat":false', '"isCompat":true')
    .replace(
      /"args":.*$/,
      '"args":[{"name":"name","type":"string","value":"é\u2028\\ud800\\"\\\\\\n","problem":"truncated"},' +
        '{"name":"flags","type":"int32","value":0},{"name":"f","type":"float64","value":1.5},' +
        '{"name":"n","type":"float64","value":null},{"name":"b","type":"[]byte","value":"AQL6"},' +
        '{"name":"a","type":"[]string","value":["x","ü"]},' +
        '{"name":"s","type":"SockAddr","value":{"sa_family":"AF_INET","sin_port":"80"}},' +
        '{"name":"p","type":"trace.Pointer","value":18446744073709551615},' +
        '{"name":"z","type":"bool","value":true},{"name":"u","type":"unknown","value":null}],"seq":1187}',
    );
  assert.equal(formatJson(ev, opts), expected);
  const w = new JsonWriter(opts);
  w.event(ev);
  assert.deepEqual([...w.bytes()], [...Buffer.from(`${expected}\n`)]);
});

test('JsonWriter: entity-id fallbacks, errno and ancestors', () => {
  assert.equal(
    formatJson(
      event({ leaderStartTime: undefined, parentStartTime: undefined, hostThreadId: 4243, args: [] }),
      opts,
    ),
    PLAIN.replace('"hostThreadId":4242', '"hostThreadId":4243')
      .replace('"argsNum":2', '"argsNum":0')
      .replace(
        /"threadEntityId":.*"seq"/,
        '"threadEntityId":17752671,"processEntityId":0,"parentEntityId":0,"args":[],"seq"',
      ),
  );
  assert.equal(
    formatJson(event(), { ...opts, parseArguments: true }),
    PLAIN.replace(/}$/, ',"errno":"ENOSYS"}'),
  );
  assert.equal(
    formatJson(event(), { ...opts, ancestors: () => [{ pid: 1, comm: 'sh "x"', exe: '/bin/sh' }] }),
    PLAIN.replace(/}$/, ',"ancestors":[{"pid":1,"comm":"sh \\"x\\"","exe":"/bin/sh"}]}'),
  );
});
