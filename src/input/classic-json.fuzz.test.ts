/**
 * Fuzzing the classic-JSON reader (what `ktrail analyze` reads): any line gives a TraceEvent or a
 * ClassicJsonError, within the time bound; and every event it gives goes through the detection rules and the
 * finding formatters without an exception, so no line of an analyze input ends in an internal error.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { packageRoot } from '../native/binding.js';
import { formatFindingJson } from '../output/json.js';
import { formatFindingRow } from '../output/table.js';
import { Engine } from '../signatures/engine.js';
import { allRules } from '../signatures/registry.js';
import { fuzzParams, mutatedText, within } from '../util/fuzz-testing.js';
import { ClassicJsonError, ClassicReader, parseExactJson } from './classic-json.js';

const fixtures = resolve(packageRoot(), 'test', 'fixtures', 'events');
const REAL_LINES = ['attacks.jsonl', 'tracee-v024.jsonl', 'benign-compile.jsonl']
  .flatMap((f) => readFileSync(resolve(fixtures, f), 'utf8').split('\n'))
  .filter((l) => l.trim() !== '');

const NAMES = [
  'delete_module',
  'init_module',
  'finit_module',
  'openat',
  'execve',
  'ptrace',
  'dup2',
  'connect',
  'security_file_open',
  'sched_process_exec',
  'magic_write',
  'security_socket_connect',
  'x',
];
const TYPES = [
  'int',
  'int32',
  'unsigned long',
  'uint64',
  'const char*',
  'string',
  'const char**',
  '[]string',
  'bytes',
  '[]byte',
  'struct sockaddr*',
  'SockAddr',
  'bool',
  'trace.Pointer',
  'unknown',
  'x',
];
const ARG_NAMES = [
  'pathname',
  'flags',
  'name',
  'request',
  'oldfd',
  'newfd',
  'fd',
  'addr',
  'remote_addr',
  'argv',
  'prev_comm',
  'cmdpath',
  'bytes',
  'sockfd',
  'dirfd',
];

const scalar = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 53, -(2 ** 63), '', 'x', '/etc/sudoers', '/bin/sh'),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 12 }),
);
const anyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom('sa_family', 'sin_addr', 'sin_port', 'sun_path', 'x'), tie('v'), {
      maxKeys: 4,
    }),
  ),
})).v;

const arg = fc.oneof(
  fc.record({ name: fc.constantFrom(...ARG_NAMES), type: fc.constantFrom(...TYPES), value: anyValue }),
  anyValue,
);
const event = fc.record(
  {
    eventName: fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(...NAMES) },
      { weight: 1, arbitrary: anyValue },
    ),
    eventId: fc.oneof(fc.integer(), fc.string({ maxLength: 4 })),
    args: fc.oneof(
      { weight: 5, arbitrary: fc.array(arg, { maxLength: 4 }) },
      { weight: 1, arbitrary: anyValue },
    ),
    returnValue: anyValue,
    timestamp: anyValue,
    processId: anyValue,
    hostProcessId: anyValue,
    userId: anyValue,
    processName: anyValue,
    matchedPolicies: fc.oneof(fc.array(fc.string({ maxLength: 3 }), { maxLength: 70 }), anyValue),
    contextFlags: anyValue,
    container: anyValue,
    executable: anyValue,
    durationNs: anyValue,
    seq: anyValue,
  },
  { requiredKeys: [] },
);
/** JSON text, sometimes with integer literals beyond 2^53 (which JSON.stringify cannot write). */
const line = fc.tuple(event, fc.bigInt({ min: -(1n << 70n), max: 1n << 70n })).map(([e, big]) => {
  const text = JSON.stringify(e) ?? 'null';
  return text.replace(/:(-?\d+)([,}])/, `:${big}$2`);
});
const ALPHABET = fc.constantFrom(...'{}[]",:0123456789-.eE\\ u\u0001tfn'.split(''));
const input = fc.oneof(
  { weight: 4, arbitrary: line },
  { weight: 3, arbitrary: mutatedText(fc.constantFrom(...REAL_LINES), ALPHABET) },
  { weight: 2, arbitrary: mutatedText(line, ALPHABET) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 100 }) },
);

test('fuzz: any line gives an event or a ClassicJsonError, and the event goes through the rules', () => {
  const rules = allRules();
  fc.assert(
    fc.property(input, (text) => {
      const reader = new ClassicReader();
      const engine = new Engine(rules);
      within(
        () => {
          const ev = reader.parseLine(text);
          for (const f of engine.dispatch(ev)) {
            formatFindingJson(f, { parseArguments: true, policyNames: reader.policyNames });
            formatFindingRow(f, true);
          }
        },
        (e) => e instanceof ClassicJsonError && e.message !== '',
      );
    }),
    fuzzParams(1500),
  );
});

test('fuzz: parseExactJson reads any JSON text as JSON.parse does, big integers aside', () => {
  const str = fc.oneof(
    fc.string({ maxLength: 8 }),
    fc.string({ maxLength: 8 }).map((s) => `\u0001big:${s}`),
  );
  const value = fc.jsonValue({ maxDepth: 3 }).chain((v) => fc.tuple(fc.constant(v), str));
  fc.assert(
    fc.property(value, ([v, s]) => {
      const text = JSON.stringify([v, s, { [s]: s }]);
      const got = within(
        () => parseExactJson(text),
        () => false,
      );
      // Integers beyond 2^53 come back as bigint on purpose; compare them as numbers.
      const asNumbers = JSON.parse(JSON.stringify(got, (_k, x) => (typeof x === 'bigint' ? Number(x) : x)));
      assert.deepEqual(asNumbers, JSON.parse(text));
    }),
    fuzzParams(1500),
  );
});

/** `v` with every bigint made a number (what JSON.parse gives for the same literal). */
function bigAsNumber(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(bigAsNumber);
  if (typeof v === 'object' && v !== null)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, bigAsNumber(x)]));
  return v;
}

test('fuzz: parseExactJson accepts exactly the texts JSON.parse accepts, and says where the fault is', () => {
  // Valid lines with long integers in every position a number can take, then edited.
  const bigs = fc.bigInt({ min: -(1n << 70n), max: 1n << 70n });
  const valid = fc.tuple(fc.jsonValue({ maxDepth: 2 }), bigs, bigs).map(([v, a, b]) =>
    JSON.stringify({ k: v, n: 0, l: [1, 2] })
      .replace(':0', `:${a}`)
      .replace('[1', `[${b}`),
  );
  const NUM_ALPHABET = fc.constantFrom(...'0123456789-+.eE":,{}[] \\u'.split(''));
  const text = fc.oneof(
    mutatedText(valid, NUM_ALPHABET),
    mutatedText(fc.constantFrom(...REAL_LINES), NUM_ALPHABET),
  );
  fc.assert(
    fc.property(text, (t) => {
      let plain: unknown;
      let plainError: string | undefined;
      try {
        plain = JSON.parse(t);
      } catch (e) {
        plainError = (e as Error).message;
      }
      let exact: unknown;
      let exactError: string | undefined;
      within(
        () => {
          try {
            exact = parseExactJson(t);
          } catch (e) {
            if (!(e instanceof ClassicJsonError)) throw e;
            exactError = e.message;
          }
        },
        () => false,
      );
      if (plainError !== undefined) {
        assert.equal(exactError, `not JSON (${plainError})`);
        return;
      }
      assert.equal(exactError, undefined);
      assert.deepEqual(bigAsNumber(exact), plain);
    }),
    fuzzParams(3000),
  );
});
