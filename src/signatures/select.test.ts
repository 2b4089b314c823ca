import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KtrailError } from '../errors.js';
import { builtinRules } from './registry.js';
import { selectRules, threatRules } from './select.js';

const rules = builtinRules();

test('rule names and ids are split out of -e values; filters and plain events stay', () => {
  const s = selectRules(
    ['delete_module,KTR-002,anti_debugging', 'openat.data.flags=O_WRONLY', 'KTR-001'],
    rules,
  );
  assert.deepEqual([...s.rules].map((r) => r.id).sort(), ['KTR-001', 'KTR-002', 'TRC-102']);
  assert.deepEqual(s.events, ['delete_module', 'openat.data.flags=O_WRONLY']);
});

test('threat filters refuse operators outside the grammar instead of selecting nothing', () => {
  for (const expr of [
    'threat.mitre.technique=~T1014',
    'threat.mitre.tactic==persistence',
    'threat.severity=>2',
  ]) {
    assert.throws(
      () => threatRules(expr, rules),
      (e: unknown) =>
        e instanceof KtrailError &&
        e.exitCode === 2 &&
        e.message.startsWith(`--events '${expr}': unknown operator`),
      expr,
    );
  }
  assert.throws(() => threatRules('threat.color=red', rules), /not a threat filter/);
  assert.throws(() => threatRules('threat.mitre.tactic>persistence', rules), /mitre\.tactic takes = or !=/);
  assert.deepEqual(
    threatRules('threat.mitre.tactic!=persistence,defense-evasion', rules).every(
      (r) => r.mitre.tactic !== 'persistence' && r.mitre.tactic !== 'defense-evasion',
    ),
    true,
  );
});
