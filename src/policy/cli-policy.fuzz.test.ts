/**
 * Fuzzing the `-e` and `-s` grammars (policyFromFlags): whatever a user types, the result is a policy or a
 * KtrailError with exit status 2, within the time bound. Inputs mix the grammar's own pieces (event names,
 * `data.`/`retval`/`scope.` heads, fields, valid and invalid operators, typed values) with random text.
 */
import { test } from 'node:test';
import fc from 'fast-check';
import { fuzzParams, isInputError, mutatedText, within } from '../util/fuzz-testing.js';
import { policyFromFlags } from './cli-policy.js';
import { testCatalog } from './testing.js';

const NAMES = [
  'delete_module',
  'init_module',
  'finit_module',
  'openat',
  'execve',
  'ptrace',
  'system_module',
  'fs',
  'default',
  'open*',
  '*',
  '-delete_module',
  '-',
  'threat',
  'nope',
  '',
];
const HEADS = ['data.', 'args.', 'retval', 'scope.', 'data', 'retval.', ''];
const FIELDS = [
  'name',
  'flags',
  'pathname',
  'returnValue',
  'uid',
  'comm',
  'pid',
  'container',
  'host',
  'processName',
];
const MORE_FIELDS = [
  'timestamp',
  'mntns',
  'hostName',
  'podSandbox',
  'syscall',
  'tid',
  'cgroupId',
  'dirfd',
  '',
];
const OPS = ['=', '!=', '<', '>', '<=', '>=', '==', '=~', '~=', '!~', '=>', '=<', '<>', '!', '~', ' = ', ''];
const VALUES = [
  '0',
  '-1',
  '1000',
  '0x10',
  '010',
  '08',
  '-0x',
  '-ENOSYS',
  'ENOSYS',
  '-E',
  'O_NONBLOCK|O_TRUNC',
  'O_NONBLOCK',
  '|',
  'O_NONBLOCK|',
  'nf_*',
  '*x',
  '*x*',
  '*',
  '**',
  'a,b',
  'a,,b',
  ',',
  'true',
  'false',
  'new',
  'started',
  'host:/bin/x',
  '1:/x',
  '99999999999999999999:/x',
  '/usr/bin/kmod',
  '18446744073709551616',
  '-9223372036854775809',
  '4194304',
  '4194305',
  '',
];
const SCOPE_KEYS = [
  'uid',
  'u',
  'pid',
  'p',
  'mntns',
  'pidns',
  'tree',
  'comm',
  'uts',
  'exec',
  'bin',
  'container',
];
const SCOPE_FLAGS = ['c', 'not-container', 'follow', 'global', 'pid=new', 'container=new', 'container!=new'];

const pick = (xs: readonly string[]) => fc.constantFrom(...xs);
const value = fc.oneof(
  { weight: 4, arbitrary: pick(VALUES) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.bigInt().map(String) },
  { weight: 1, arbitrary: fc.array(pick(VALUES), { maxLength: 4 }).map((v) => v.join(',')) },
);
const op = pick(OPS);
const token = fc.oneof(
  pick(NAMES),
  pick(HEADS),
  pick(FIELDS),
  op,
  value,
  pick(['.', ',', '*', ' ', '\t', '|', ':', '-', '\u00e9', '\u0000']),
);
const ALPHABET = fc.constantFrom(...'=!<>~.,*-|: aZ0\u00e9\u0000\n'.split(''));

const eventExpr = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(pick(NAMES), pick(HEADS), fc.oneof(pick(FIELDS), pick(MORE_FIELDS)), op, value)
      .map(([n, h, f, o, v]) => `${n}.${h}${h.endsWith('.') ? f : ''}${o}${v}`),
  },
  { weight: 2, arbitrary: fc.array(pick(NAMES), { maxLength: 4 }).map((n) => n.join(',')) },
  { weight: 2, arbitrary: fc.array(token, { maxLength: 8 }).map((t) => t.join('')) },
  {
    weight: 1,
    arbitrary: mutatedText(
      fc.constantFrom('delete_module.data.flags=O_NONBLOCK|O_TRUNC', 'tag=fs,net'),
      ALPHABET,
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
);
const scopeExpr = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(pick(SCOPE_KEYS), op, value).map(([k, o, v]) => `${k}${o}${v}`) },
  { weight: 2, arbitrary: pick(SCOPE_FLAGS) },
  { weight: 2, arbitrary: fc.array(token, { maxLength: 6 }).map((t) => t.join('')) },
  { weight: 1, arbitrary: mutatedText(fc.constantFrom('exec=host:/usr/bin/kmod', 'uid>=1000'), ALPHABET) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
);

test('fuzz: -e and -s give a policy or a KtrailError (exit 2), in bounded time', () => {
  fc.assert(
    fc.property(
      fc.array(eventExpr, { maxLength: 4 }),
      fc.array(scopeExpr, { maxLength: 3 }),
      (events, scope) => {
        within(() => policyFromFlags({ events, scope }, testCatalog), isInputError);
      },
    ),
    fuzzParams(1500),
  );
});
