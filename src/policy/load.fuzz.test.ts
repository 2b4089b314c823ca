/**
 * Fuzzing the policy loader: any text (structured policies, their mutations, the example policies shipped in
 * examples/policies with characters edited, YAML token soup, random text) and any bytes in a file give a
 * PolicySpec or a KtrailError with exit status 2, within the time bound.
 */

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { packageRoot } from '../native/binding.js';
import { fuzzParams, isInputError, mutatedText, within } from '../util/fuzz-testing.js';
import { loadPolicies, parsePolicy } from './load.js';
import { testCatalog } from './testing.js';

const EVENTS = ['delete_module', 'init_module', 'system_module', 'openat', 'open*', 'nope', '', 'threat'];
const FILTERS = [
  'data.name=nf_*',
  'args.flags=O_NONBLOCK|O_TRUNC',
  'retval<0',
  'retval<=-1',
  'retval=-ENOSYS',
  'uid=0',
  'comm=rmmod',
  'scope.container',
  'container',
  'data.nope=1',
  'data.name=~x',
  'retval==0',
  'retval',
  '',
];
const SCOPES = [
  'global',
  'not-container',
  'uid>=1000',
  'comm=bash',
  'follow',
  'exec=/usr/bin/kmod',
  'pid=new',
  'x',
];
const pick = (xs: readonly string[]) => fc.constantFrom(...xs);

/** Any YAML value, small. */
const junk: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(null, true, 0, -1, 1.5, '', 'x', 'log', 'print', 'policy'),
    fc.string({ maxLength: 10 }),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('event', 'filters', 'actions', 'name', 'x'), tie('v'), { maxKeys: 3 }),
  ),
})).v;

const maybe = <T>(a: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 3, arbitrary: a }, { weight: 1, arbitrary: junk });

const rule = fc.record(
  {
    event: maybe(pick(EVENTS)),
    filters: maybe(fc.array(pick(FILTERS), { maxLength: 3 })),
    actions: maybe(fc.array(pick(['log', 'print', 'kill']), { maxLength: 2 })),
  },
  { requiredKeys: [] },
);
const body = {
  scope: maybe(fc.array(pick(SCOPES), { maxLength: 3 })),
  rules: maybe(fc.array(rule, { maxLength: 3 })),
  defaultActions: maybe(fc.array(pick(['log', 'print', 'kill']), { maxLength: 2 })),
};
const plainForm = fc.record(
  {
    type: maybe(fc.constant('policy')),
    name: maybe(pick(['a', 'kernel-modules', 'Bad_Name', '-x', 'a.b', ''])),
    description: maybe(fc.string({ maxLength: 10 })),
    ...body,
  },
  { requiredKeys: ['type'] },
);
const v1Form = fc.record(
  {
    apiVersion: maybe(fc.constant('tracee.aquasec.com/v1beta1')),
    kind: maybe(fc.constant('Policy')),
    metadata: maybe(
      fc.record({ name: maybe(pick(['a', 'b-c'])), annotations: maybe(fc.record({ description: junk })) }),
    ),
    spec: maybe(fc.record(body, { requiredKeys: [] })),
  },
  { requiredKeys: ['apiVersion'] },
);
const structured = fc.oneof(plainForm, v1Form).map((doc) => stringify(doc));

const YAML_TOKENS = [
  '&a ',
  '*a',
  '&b ',
  '*b',
  '- ',
  '[',
  ']',
  '{',
  '}',
  ': ',
  ':',
  '\n',
  '\n  ',
  '  ',
  '\t',
  '"',
  "'",
  '\\',
  '|',
  '>',
  '!!str ',
  '!!set ',
  '!!binary ',
  '!!omap ',
  '!x ',
  '%YAML 1.1\n',
  '%TAG ! tag:x,2000:\n',
  '---\n',
  '...\n',
  '? ',
  '<<: ',
  '# c',
  ',',
  'type: policy\n',
  'name: a\n',
  'scope: [global]\n',
  'rules: [{event: delete_module}]\n',
  'apiVersion: tracee.aquasec.com/v1beta1\n',
  'filters: ',
  '\ufeff',
  '\u0000',
  '\u2028',
  'x',
  '1',
];
const soup = fc.array(pick(YAML_TOKENS), { maxLength: 40 }).map((t) => t.join(''));
const ALPHABET = fc.constantFrom(...'&*-[]{}:\n "\'|>!%?#,<=~\\\t\u0000'.split(''));

const EXAMPLES_DIR = resolve(packageRoot(), 'examples', 'policies');
const EXAMPLES = readdirSync(EXAMPLES_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => readFileSync(join(EXAMPLES_DIR, f), 'utf8'));

const text = fc.oneof(
  { weight: 3, arbitrary: structured },
  { weight: 3, arbitrary: mutatedText(structured, ALPHABET) },
  { weight: 3, arbitrary: mutatedText(fc.constantFrom(...EXAMPLES), ALPHABET) },
  { weight: 3, arbitrary: soup },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
);

test('the example policies load as they are (the base of the mutations)', () => {
  assert.equal(EXAMPLES.length, 3);
  for (const e of EXAMPLES) assert.ok(parsePolicy(e, 'example.yaml', testCatalog).rules.length > 0);
});

test('fuzz: any policy text gives a policy or a KtrailError (exit 2), in bounded time', () => {
  fc.assert(
    fc.property(text, (t) => {
      within(() => parsePolicy(t, 'f.yaml', testCatalog), isInputError);
    }),
    fuzzParams(2500),
  );
});

const root = mkdtempSync(join(tmpdir(), 'ktrail-policy-fuzz-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('fuzz: any bytes in a policy file give a policy or a KtrailError (exit 2)', () => {
  const file = join(root, 'p.yaml');
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    structured.map((s) => new Uint8Array(Buffer.from(s, 'utf8'))),
    structured.map((s) => new Uint8Array(Buffer.from(s, 'latin1'))),
    structured.map((s) => new Uint8Array(Buffer.from(`\ufeff${s}`, 'utf16le'))),
  );
  fc.assert(
    fc.property(bytes, (b) => {
      writeFileSync(file, b);
      within(() => loadPolicies([file], testCatalog), isInputError);
    }),
    fuzzParams(300),
  );
});
