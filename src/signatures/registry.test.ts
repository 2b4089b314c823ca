import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { KtrailError } from '../errors.js';
import { allRules, builtinRules, compareRuleIds, listSignatures, loadRulesFrom } from './registry.js';

const isRoot = process.getuid?.() === 0;
const base = mkdtempSync(join(tmpdir(), 'ktrail-sigs-'));
after(() => rmSync(base, { recursive: true, force: true }));

const RULE = `export const r = { id: 'EXT-1', version: '1', eventName: 'ext_probe', title: 't', description: 'd',
  severity: 1, mitre: { tactic: '', technique: '', techniqueId: '' }, tags: [], requires: [{ event: 'openat' }],
  onEvent: () => undefined };\n`;

function ruleDir(files: Record<string, string>, mode = 0o755): string {
  const d = mkdtempSync(join(base, 'd'));
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(d, name), text);
    chmodSync(join(d, name), 0o644);
  }
  chmodSync(d, mode);
  return d;
}

async function rejects(p: Promise<unknown>, message: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof KtrailError && e.message === message);
}

describe('registry', () => {
  it('orders ids by prefix, then numerically', () => {
    assert.deepEqual(['TRC-1010', 'TRC-102', 'KTR-002', 'TRC-101'].sort(compareRuleIds), [
      'KTR-002',
      'TRC-101',
      'TRC-102',
      'TRC-1010',
    ]);
  });
  it('has unique ids and starts with the KTR rules', () => {
    const ids = builtinRules().map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual(ids.slice(0, 8), [
      'KTR-001',
      'KTR-002',
      'KTR-003',
      'KTR-004',
      'KTR-005',
      'KTR-006',
      'KTR-007',
      'TRC-101',
    ]);
  });
  it('lists signatures with availability and reasons', () => {
    const rows = listSignatures((e) => e !== 'module_load');
    const trc1017 = rows.find((r) => r.id === 'TRC-1017');
    assert.deepEqual(trc1017, {
      id: 'TRC-1017',
      eventId: 6023,
      eventName: 'kernel_module_loading',
      title: 'Kernel module loading detected',
      severity: 2,
      mitre: {
        tactic: 'persistence',
        technique: 'Kernel Modules and Extensions',
        techniqueId: 'T1547.006',
        attackPatternId: 'attack-pattern--a1b52199-c8c5-438a-9ded-656f1d0888c6',
      },
      requires: ['module_load'],
      available: false,
      reason: 'needs module_load, which ktrail cannot trace here',
    });
    assert.deepEqual(
      rows.filter((r) => !r.available).map((r) => r.id),
      ['TRC-1017', 'TRC-1020', 'TRC-1030'],
    );
  });
  it('rejects an extra rule that reuses a built-in id', () => {
    assert.throws(() => allRules([{ ...builtinRules()[0]! }]), KtrailError);
  });
});

describe('loadRulesFrom', { skip: isRoot ? false : 'needs root to chown test files' }, () => {
  it('loads rule modules from a root-owned, go-w directory', async () => {
    const d = ruleDir({ 'ext.js': RULE, 'notes.txt': 'ignored' });
    const rules = await loadRulesFrom(d);
    assert.deepEqual(
      rules.map((r) => r.id),
      ['EXT-1'],
    );
  });
  it('refuses a group-writable directory', async () => {
    const d = ruleDir({ 'ext.js': RULE }, 0o775);
    await rejects(loadRulesFrom(d), `loading signatures: '${d}' is writable by its group (mode 775)`);
  });
  it('refuses a world-writable file', async () => {
    const d = ruleDir({ 'ext.js': RULE });
    chmodSync(join(d, 'ext.js'), 0o646);
    await rejects(
      loadRulesFrom(d),
      `loading signatures: '${join(d, 'ext.js')}' is writable by others (mode 646)`,
    );
  });
  it('refuses a file not owned by root, with the fix as hint', async () => {
    const d = ruleDir({ 'ext.js': RULE });
    chownSync(join(d, 'ext.js'), 1000, 1000);
    await assert.rejects(
      loadRulesFrom(d),
      (e: unknown) =>
        e instanceof KtrailError &&
        e.message === `loading signatures: '${join(d, 'ext.js')}' is owned by uid 1000, not root` &&
        e.hint ===
          `rule code runs with ktrail's privileges; run: chown root '${join(d, 'ext.js')}' && chmod go-w '${join(d, 'ext.js')}'`,
    );
  });
  it('refuses a symbolic link', async () => {
    const d = ruleDir({ 'ext.js': RULE });
    symlinkSync(join(d, 'ext.js'), join(d, 'link.js'));
    await rejects(loadRulesFrom(d), `loading signatures: '${join(d, 'link.js')}' is a symbolic link`);
  });
  it('refuses a module without rules and a rule with a bad field', async () => {
    const d1 = ruleDir({ 'empty.js': 'export const x = 1;\n' });
    await rejects(loadRulesFrom(d1), `loading signatures: ${join(d1, 'empty.js')}: exports no rule`);
    const d2 = ruleDir({ 'bad.js': RULE.replace('severity: 1', 'severity: 7') });
    await rejects(
      loadRulesFrom(d2),
      `loading signatures: ${join(d2, 'bad.js')}: rule 'EXT-1': severity must be 0, 1, 2 or 3`,
    );
  });
});

describe('loadRulesFrom on hostile input', { skip: isRoot ? false : 'needs root to own test files' }, () => {
  const fails = async (p: Promise<unknown>, code: string, message: string, hint: string | undefined) =>
    assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof KtrailError, String(e));
      assert.deepEqual(
        { code: e.code, message: e.message, hint: e.hint, exit: e.exitCode },
        { code, message, hint, exit: 2 },
      );
      return true;
    });
  it('names a missing directory', async () => {
    const d = join(base, 'nowhere');
    await fails(
      loadRulesFrom(d),
      'INPUT_FILE',
      `loading signatures: ${d}: no such file or directory`,
      'give a directory of rule modules (*.js) owned by root',
    );
  });
  it('refuses a file over 1 MiB from its size, and an empty one', async () => {
    const d = ruleDir({ 'big.js': RULE });
    truncateSync(join(d, 'big.js'), 5 * 1024 * 1024);
    await fails(
      loadRulesFrom(d),
      'INPUT_FILE',
      `loading signatures: ${join(d, 'big.js')}: the file is 5242880 bytes (5.0 MiB), more than the limit of 1048576 bytes (1.0 MiB)`,
      'a rule module is small: check that --signatures-dir holds only rule modules, or split the rules over several files',
    );
    const e = ruleDir({ 'empty.js': '' });
    await fails(
      loadRulesFrom(e),
      'INPUT_FILE',
      `loading signatures: ${join(e, 'empty.js')}: the file is empty`,
      'export a rule object ({id, eventName, requires, onEvent, ...}) or an array of them',
    );
  });
  it('refuses a module that is not UTF-8 before running it', async () => {
    const d = ruleDir({ 'latin1.js': '' });
    writeFileSync(join(d, 'latin1.js'), Buffer.from("// caf\xe9\nthrow new Error('ran');\n", 'latin1'));
    await fails(
      loadRulesFrom(d),
      'INPUT_FILE',
      `loading signatures: ${join(d, 'latin1.js')}:1:7: not UTF-8 text (byte 0xe9)`,
      "save the file as UTF-8 (it may be UTF-16 or Latin-1: 'iconv -t UTF-8' converts it)",
    );
  });
  it('reports a syntax error, and a module that throws a non-Error', async () => {
    const d = ruleDir({ 'syntax.js': 'export const a = 1;\nexport const b = ;\n' });
    const hint = 'fix the module (node --check FILE finds syntax errors), or move it out of the directory';
    await fails(
      loadRulesFrom(d),
      'USAGE',
      `loading signatures: ${join(d, 'syntax.js')}: SyntaxError: Unexpected token ';'`,
      hint,
    );
    const t = ruleDir({ 'throws.js': 'throw 42;\n' });
    await fails(
      loadRulesFrom(t),
      'USAGE',
      `loading signatures: ${join(t, 'throws.js')}: the module threw 42`,
      hint,
    );
  });
  it('a module whose top-level await never settles fails after the deadline, naming the file', async () => {
    const d = ruleDir({ 'hang.js': 'await new Promise(() => {});\nexport const r = 1;\n' });
    await fails(
      loadRulesFrom(d, undefined, { importTimeoutMs: 200 }),
      'USAGE',
      `loading signatures: ${join(d, 'hang.js')}: the module did not finish loading within 0.2 s`,
      'a top-level await in it never settles (or takes too long): fix the module, or move it out of the directory',
    );
  });
  it("a getter or a proxy that throws while its rules are read is the module's error", async () => {
    const hint = 'export plain rule objects (no getters or proxies that throw)';
    const g = ruleDir({ 'getter.js': "export const r = { get id() { throw new Error('getter'); } };\n" });
    await fails(
      loadRulesFrom(g),
      'USAGE',
      `loading signatures: ${join(g, 'getter.js')}: reading its rules threw Error: getter`,
      hint,
    );
    const p = ruleDir({ 'proxy.js': "export const r = new Proxy({}, { get() { throw 'trap'; } });\n" });
    await fails(
      loadRulesFrom(p),
      'USAGE',
      `loading signatures: ${join(p, 'proxy.js')}: reading its rules threw 'trap'`,
      hint,
    );
  });
  it('checks every field the engine calls and the JSON output prints', async () => {
    const cases: [string, string, string][] = [
      [
        "mitre: { tactic: '', technique: '', techniqueId: '' }",
        'mitre: {}',
        "mitre.tactic must be a string ('' when there is none)",
      ],
      [
        "techniqueId: '' }",
        "techniqueId: '', attackPatternId: 7 }",
        'mitre.attackPatternId must be a string when given',
      ],
      ['tags: []', 'tags: [5, null]', 'tags must be an array of strings'],
      [
        "requires: [{ event: 'openat' }]",
        "requires: [{ event: 'openat', filter: 5 }]",
        'requires[].filter must be a function when given',
      ],
      ['tags: []', 'tags: [], newState: 1', 'newState must be a function when given'],
      [
        'tags: []',
        'tags: [], config: 5',
        'config must be an object of numbers, strings and booleans when given',
      ],
      [
        'tags: []',
        'tags: [], config: { x: {} }',
        'config must be an object of numbers, strings and booleans when given',
      ],
      ['tags: []', "tags: [], watchFiles: '/etc/shadow'", 'watchFiles must be an array of paths when given'],
      ['tags: []', 'tags: [], unavailableReason: 1', 'unavailableReason must be a string when given'],
    ];
    for (const [from, to, why] of cases) {
      assert.ok(RULE.includes(from), from);
      const d = ruleDir({ 'r.js': RULE.replace(from, to) });
      await fails(
        loadRulesFrom(d),
        'USAGE',
        `loading signatures: ${join(d, 'r.js')}: rule 'EXT-1': ${why}`,
        undefined,
      );
    }
    // Optional fields given right are accepted.
    const ok = ruleDir({
      'r.js': RULE.replace(
        'tags: []',
        "tags: ['x'], config: { n: 1, s: 'a', b: true }, watchFiles: ['/etc/shadow'], newState: () => ({})",
      ),
    });
    assert.deepEqual(
      (await loadRulesFrom(ok)).map((r) => r.id),
      ['EXT-1'],
    );
  });
});
