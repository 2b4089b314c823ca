import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KtrailError } from '../errors.js';
import { checkPolicyFlags, loadPolicies, MAX_YAML_ALIASES, parsePolicy } from './load.js';
import { testCatalog } from './testing.js';

const root = mkdtempSync(join(tmpdir(), 'ktrail-policy-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function dir(files: Record<string, string>): string {
  const d = join(root, `d${n++}`);
  mkdirSync(d);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
  return d;
}
const plain = (name: string, extra = '') =>
  `type: policy\nname: ${name}\nscope: [global]\nrules: [{event: delete_module}]\n${extra}`;

function fails(fn: () => unknown, code: string, message: string, hint: string | undefined): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof KtrailError);
    assert.deepEqual(
      { code: e.code, message: e.message, hint: e.hint, exit: e.exitCode },
      { code, message, hint, exit: 2 },
    );
    return true;
  });
}

test('both forms load into the same PolicySpec shape', () => {
  const v1 = [
    'apiVersion: tracee.aquasec.com/v1beta1',
    'kind: Policy',
    'metadata:',
    '  name: kernel-modules',
    '  annotations: {description: "module work on the host"}',
    'spec:',
    '  scope: [not-container, "uid>=1000"]',
    '  defaultActions: [log]',
    '  rules:',
    '    - event: init_module',
    '    - event: delete_module',
    '      filters: ["data.name=nf_*,xt_*", "retval<0", "comm=rmmod"]',
    '      actions: [print]',
  ].join('\n');
  const p = parsePolicy(v1, 'k.yaml', testCatalog);
  assert.equal(p.name, 'kernel-modules');
  assert.equal(p.description, 'module work on the host');
  assert.equal(p.origin, 'k.yaml');
  assert.deepEqual(p.defaultActions, ['log']);
  assert.deepEqual(
    p.rules.map((r) => [r.event.name, r.filters.map((f) => `${f.kind}:${f.filter.source}`), r.actions]),
    [
      ['init_module', [], []],
      ['delete_module', ['arg:data.name=nf_*,xt_*', 'retval:retval<0', 'context:comm=rmmod'], ['print']],
    ],
  );
  assert.deepEqual(
    p.scope.container.map((c) => c.mode),
    ['host'],
  );
  assert.deepEqual(p.scope.uid, [{ kind: 'number', op: '>=', values: [1000n], source: 'uid>=1000' }]);

  const q = parsePolicy(
    'type: policy\nname: module-unloads\ndescription: unloads\nversion: 1\nscope: [global]\nrules: [{event: system_module}]\n',
    'p.yaml',
    testCatalog,
  );
  assert.equal(q.scope.global, true);
  assert.deepEqual(
    q.rules.map((r) => r.event.name),
    ['create_module', 'init_module', 'delete_module', 'get_kernel_syms', 'query_module', 'finit_module'],
  );
  // JSON is accepted too (Tracee main).
  const j = parsePolicy(
    JSON.stringify({ type: 'policy', name: 'j', scope: ['comm=rmmod'], rules: [{ event: 'delete_module' }] }),
    'j.json',
    testCatalog,
  );
  assert.equal(j.scope.comm[0]?.source, 'comm=rmmod');
});

test('the retval quirk: retval<0 and retval<=-1 are both accepted', () => {
  const p = parsePolicy(
    "type: policy\nname: a\nscope: [global]\nrules:\n  - event: delete_module\n    filters: ['retval<0', 'retval<=-1', 'retval=-ENOSYS']\n",
    'r.yaml',
    testCatalog,
  );
  assert.deepEqual(
    p.rules[0]?.filters.map((f) => (f.kind === 'retval' ? [f.filter.op, f.filter.values] : [])),
    [
      ['<', [0n]],
      ['<=', [-1n]],
      ['=', [-38n]],
    ],
  );
});

test('the shipped examples load', () => {
  const examples = fileURLToPath(new URL('../../../examples/policies', import.meta.url));
  const ps = loadPolicies([examples], testCatalog);
  assert.deepEqual(
    ps.map((p) => [p.name, p.rules.map((r) => r.event.name)]),
    [
      ['forced-unloads', ['delete_module', 'finit_module']],
      ['kernel-modules', ['init_module', 'finit_module', 'delete_module', 'module_load', 'module_free']],
      ['module-unloads', ['delete_module']],
    ],
  );
});

test('a directory loads *.yaml, *.yml and *.json in sorted order, not recursively', () => {
  const d = dir({ 'b.yml': plain('b'), 'a.yaml': plain('a'), 'c.json': plain('c'), 'notes.txt': 'x' });
  mkdirSync(join(d, 'sub'));
  writeFileSync(join(d, 'sub', 'z.yaml'), plain('z'));
  assert.deepEqual(
    loadPolicies([d], testCatalog).map((p) => [p.name, p.origin]),
    [
      ['a', join(d, 'a.yaml')],
      ['b', join(d, 'b.yml')],
      ['c', join(d, 'c.json')],
    ],
  );
  const empty = dir({ 'x.txt': '' });
  fails(
    () => loadPolicies([empty], testCatalog),
    'POLICY_INVALID',
    `loading policy ${empty}: no .yaml, .yml or .json file in this directory`,
    'directories are not searched recursively',
  );
  fails(
    () => loadPolicies([join(root, 'missing.yaml')], testCatalog),
    'INPUT_FILE',
    `loading policy ${join(root, 'missing.yaml')}: no such file or directory`,
    'give a policy file (.yaml, .yml, .json) or a directory of them',
  );
});

test('64 policies load; the 65th is named in the error', () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 65; i++) files[`p${String(i).padStart(2, '0')}.yaml`] = plain(`p${i}`);
  const d = dir(files);
  fails(
    () => loadPolicies([d], testCatalog),
    'POLICY_INVALID',
    `loading policy ${join(d, 'p64.yaml')}: policies maximum exceeded [64]`,
    'each event carries a 64-bit bitmap of matching policies; merge policies so that at most 64 remain',
  );
  rmSync(join(d, 'p64.yaml'));
  assert.equal(loadPolicies([d], testCatalog).length, 64);
});

test('duplicate names are rejected naming both files', () => {
  const d = dir({ 'a.yaml': plain('same'), 'b.yaml': plain('same') });
  fails(
    () => loadPolicies([d], testCatalog),
    'POLICY_INVALID',
    `loading policy ${join(d, 'b.yaml')}: policy name 'same' is already used by ${join(d, 'a.yaml')}`,
    'policy names must be unique among the loaded policies: rename one of them',
  );
});

test('errors name the file, line:column, field path and bad value', () => {
  const cases: [string, string, string, string | undefined][] = [
    [
      'type: policy\nname: x\nscope: [global\nrules: []\n',
      'POLICY_INVALID',
      'loading policy f.yaml:4:1: malformed YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
      'check the indentation and quoting near that position (quote expressions holding : * | < >)',
    ],
    [
      'apiVersion: tracee.aquasec.com/v1beta1\nkind: Policy\nmetadata:\n  name: a\nspec:\n  scope: [global]\n  rules:\n    - event: delete_module\n    - event: init_module\n      filters:\n        - data.nme=x\n',
      'BAD_FILTER',
      "loading policy f.yaml:11:11: spec.rules[1].filters[0] 'data.nme=x': init_module has no field 'nme'",
      'init_module fields: module_image, len, param_values',
    ],
    [
      'type: policy\nname: a\nscope: [global]\nrules:\n  - event: delete_module\n    filters: [data.nam=x]\n',
      'BAD_FILTER',
      "loading policy f.yaml:6:15: rules[0].filters[0] 'data.nam=x': delete_module has no field 'nam'",
      "did you mean 'name'? delete_module fields: name, flags",
    ],
    [
      'type: policy\nname: a\nscope: [global]\nrules:\n  - event: delete_module\n    filters: ["data.name>3"]\n',
      'BAD_FILTER',
      "loading policy f.yaml:6:15: rules[0].filters[0] 'data.name>3': operator '>' does not apply to delete_module.name (string)",
      "strings take '=' and '!=' (with 'prefix*', '*suffix', '*contains*')",
    ],
    [
      'type: policy\nname: Bad_Name\nscope: [global]\nrules: [{event: delete_module}]\n',
      'POLICY_INVALID',
      "loading policy f.yaml:2:7: name: 'Bad_Name' is not a valid policy name",
      "use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit (DNS-1123, at most 253)",
    ],
    [
      'type: policy\nname: a\nrules: [{event: delete_module}]\n',
      'POLICY_INVALID',
      'loading policy f.yaml:1:1: scope: scope is required',
      'give a list, e.g. scope: [...]',
    ],
    [
      'type: policy\nname: a\nscope: [global, uid=0]\nrules: [{event: delete_module}]\n',
      'BAD_FILTER',
      "loading policy f.yaml:3:9: scope[0] 'uid=0': 'global' must be the only scope expression",
      "remove 'global' to narrow the scope, or the other expressions to watch every process",
    ],
    [
      'type: policy\nname: a\nscope: [global]\ndefaultActions: [kill]\nrules: [{event: delete_module}]\n',
      'POLICY_INVALID',
      "loading policy f.yaml:4:18: defaultActions[0]: unknown action 'kill'",
      'actions are log or print (ktrail, like Tracee, does not enforce)',
    ],
    [
      'type: policy\nname: a\nscope: [global]\nrule: [{event: delete_module}]\n',
      'POLICY_INVALID',
      "loading policy f.yaml:4:7: rule: unknown key 'rule'",
      "did you mean 'rules'? valid keys: type, name, description, version, scope, rules, defaultActions",
    ],
    [
      'type: policy\nname: a\nscope: [global]\nrules:\n  - event: delete_module\n  - event: system_module\n',
      'POLICY_INVALID',
      'loading policy f.yaml:6:12: rules[1].event: event delete_module already appears in rules[0]',
      'each event appears once per policy: merge the two rules',
    ],
    [
      'type: policy\nname: a\nscope: [global]\nrules:\n  - event: delete_modul\n',
      'UNKNOWN_EVENT',
      "loading policy f.yaml:5:12: rules[0].event 'delete_modul': unknown event or set 'delete_modul'",
      "did you mean 'delete_module'? 'ktrail list' shows every event",
    ],
    [
      'apiVersion: tracee.aquasec.com/v1beta1\nkind: Polcy\nmetadata: {name: a}\nspec: {scope: [global], rules: [{event: delete_module}]}\n',
      'POLICY_INVALID',
      'loading policy f.yaml:2:7: kind: unsupported kind "Polcy"',
      "write 'kind: Policy'",
    ],
    [
      'apiVersion: tracee.aquasec.com/v1\nkind: Policy\n',
      'POLICY_INVALID',
      'loading policy f.yaml:1:13: apiVersion: unsupported apiVersion "tracee.aquasec.com/v1"',
      "write 'apiVersion: tracee.aquasec.com/v1beta1' and 'kind: Policy' (or use the plain form 'type: policy')",
    ],
    [
      "type: policy\nname: a\nscope: ['comm>3']\nrules: [{event: delete_module}]\n",
      'BAD_FILTER',
      "loading policy f.yaml:3:9: scope[0] 'comm>3': operator '>' does not apply to 'comm'",
      "'comm' takes '=' or '!='",
    ],
    [
      'type: policy\nname: a\nscope: [global]\nrules: []\n',
      'POLICY_INVALID',
      'loading policy f.yaml:4:8: rules: rules must not be empty',
      'e.g. rules: [{event: delete_module}]',
    ],
  ];
  for (const [text, code, message, hint] of cases)
    fails(() => parsePolicy(text, 'f.yaml', testCatalog), code, message, hint);
});

test('-p cannot be combined with -e or -s', () => {
  checkPolicyFlags({ events: 0, scope: 0, policy: 1 });
  checkPolicyFlags({ events: 2, scope: 1, policy: 0 });
  fails(
    () => checkPolicyFlags({ events: 1, scope: 0, policy: 1 }),
    'USAGE',
    'reading the command line: --policy cannot be combined with --events',
    'put the events and the scope into a policy file, or drop --policy and use -e/-s',
  );
  fails(
    () => checkPolicyFlags({ events: 0, scope: 2, policy: 1 }),
    'USAGE',
    'reading the command line: --policy cannot be combined with --scope',
    'put the events and the scope into a policy file, or drop --policy and use -e/-s',
  );
});

test('hostile files are refused with the file name, before or instead of parsing', () => {
  const d = dir({});
  const big = join(d, 'big.yaml');
  writeFileSync(big, plain('big'));
  truncateSync(big, 50 * 1024 * 1024);
  const t0 = process.hrtime.bigint();
  fails(
    () => loadPolicies([big], testCatalog),
    'INPUT_FILE',
    `loading policy ${big}: the file is 52428800 bytes (50.0 MiB), more than the limit of 1048576 bytes (1.0 MiB)`,
    'a policy is a short YAML document: check that -p names the right file, or split it into several policies in a directory',
  );
  // Refused from the size alone: no read, no parse (a parse of 50 MB would take minutes).
  assert.ok(process.hrtime.bigint() - t0 < 1_000_000_000n);

  const empty = join(d, 'empty.yaml');
  writeFileSync(empty, '');
  fails(
    () => loadPolicies([empty], testCatalog),
    'INPUT_FILE',
    `loading policy ${empty}: the file is empty`,
    "a policy starts with 'apiVersion: tracee.aquasec.com/v1beta1' or 'type: policy'",
  );
  const utf16 = join(d, 'utf16.yaml');
  writeFileSync(utf16, Buffer.from(`\ufeff${plain('u')}`, 'utf16le'));
  fails(
    () => loadPolicies([utf16], testCatalog),
    'INPUT_FILE',
    `loading policy ${utf16}: not UTF-8 text (UTF-16, by its byte-order mark)`,
    "save the file as UTF-8 (it may be UTF-16 or Latin-1: 'iconv -t UTF-8' converts it)",
  );
  const links = dir({ 'a.yaml': plain('a') });
  symlinkSync(join(links, 'gone.yaml'), join(links, 'b.yaml'));
  fails(
    () => loadPolicies([links], testCatalog),
    'INPUT_FILE',
    `loading policy ${join(links, 'b.yaml')}: a symbolic link to a missing file`,
    'remove the link or restore its target',
  );
});

test('YAML bombs, deep nesting and repeated keys are policy errors, not crashes', () => {
  // Nine levels of nine aliases: 9^9 strings if expanded.
  let bomb = 'a: &a [x, x, x, x, x, x, x, x, x]\n';
  for (let i = 1; i < 10; i++) {
    const prev = String.fromCharCode(96 + i);
    const cur = String.fromCharCode(97 + i);
    bomb += `${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(', ')}]\n`;
  }
  const cases: [string, string, string][] = [
    [
      bomb,
      `loading policy f.yaml: uses more than ${MAX_YAML_ALIASES} YAML aliases (alias bomb?)`,
      'write the repeated parts out; an alias inside an aliased node counts once for each use',
    ],
    [
      'type: policy\nname: a\nscope: [*s]\nrules: [{event: delete_module}]\n',
      "loading policy f.yaml:3:9: YAML alias '*s' has no anchor before it",
      "define '&s' on a node before using '*s'",
    ],
    [
      '['.repeat(20_000),
      'loading policy f.yaml: the document is nested too deeply',
      'a policy is a few levels deep (spec.rules[].filters[]): check that this is the right file',
    ],
    [
      'type: policy\nname: a\nscope: [global]\nname: b\nrules: [{event: delete_module}]\n',
      "loading policy f.yaml:4:1: malformed YAML: key 'name' appears twice in one mapping (first at 2:1)",
      'keep one of them',
    ],
    [
      'type: policy\n---\ntype: policy\n',
      "loading policy f.yaml:2:1: a second YAML document ('---') in one file",
      'put each policy in a file of its own (a directory of them loads with one -p)',
    ],
    [
      '# only a comment\n',
      'loading policy f.yaml: expected a policy document, found nothing',
      "start with 'apiVersion: tracee.aquasec.com/v1beta1' or 'type: policy'",
    ],
  ];
  for (const [text, message, hint] of cases)
    fails(() => parsePolicy(text, 'f.yaml', testCatalog), 'POLICY_INVALID', message, hint);
  // A few aliases are fine.
  const p = parsePolicy(
    'type: policy\nname: a\nscope: &s [global]\nrules:\n  - {event: delete_module, actions: &l [log]}\n  - {event: init_module, actions: *l}\n',
    'f.yaml',
    testCatalog,
  );
  assert.deepEqual(
    p.rules.map((r) => r.actions),
    [['log'], ['log']],
  );
});

test('a mapping of 40 000 keys parses in linear time', () => {
  const text = Array.from({ length: 40_000 }, (_, i) => `k${i}: v`).join('\n');
  const t0 = process.hrtime.bigint();
  fails(
    () => parsePolicy(text, 'f.yaml', testCatalog),
    'POLICY_INVALID',
    'loading policy f.yaml:1:1: apiVersion: apiVersion is required',
    "write 'apiVersion: tracee.aquasec.com/v1beta1' and 'kind: Policy' (or use the plain form 'type: policy')",
  );
  // The yaml package's own duplicate-key check is quadratic (about 8 s here); ours is a Set.
  assert.ok(process.hrtime.bigint() - t0 < 4_000_000_000n);
});

test('fuzz finding: a list or mapping as a key is an error, not a Node.js warning on stderr', () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  try {
    const hint = "policy keys are names such as 'scope' or 'rules'";
    fails(
      () => parsePolicy('{[a]: 1}', 'f.yaml', testCatalog),
      'POLICY_INVALID',
      'loading policy f.yaml:1:2: a mapping key is a list or mapping, not a plain name',
      hint,
    );
    fails(
      () => parsePolicy('&k x: 1\n*k : 2\n', 'f.yaml', testCatalog),
      'POLICY_INVALID',
      "loading policy f.yaml:2:1: a mapping key is the alias '*k', not a plain name",
      hint,
    );
  } finally {
    process.off('warning', onWarning);
  }
  assert.deepEqual(warnings, []);
});
