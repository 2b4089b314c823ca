import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArgs } from '../cli/args.js';
import { KtrailError } from '../errors.js';
import { builtinRules } from '../signatures/registry.js';
import { threatRules } from '../signatures/select.js';
import type { AnyRule } from '../signatures/types.js';
import { ktrailDefaultNames, planTrace, runningRules } from './plan.js';

/** The plan for a command line, as the live command builds it. */
async function plan(...argv: string[]) {
  const a = parseArgs(argv);
  const p = await planTrace({
    events: a.values.get('events'),
    scope: a.values.get('scope'),
    policies: a.values.get('policy'),
  });
  return { ...p, running: runningRules(p.rules, p.enabled) as AnyRule[] };
}

test('the default set is Tracee defaults ktrail has plus the module syscalls, with every runnable rule', async () => {
  const p = await plan();
  assert.equal(p.usedDefault, true);
  const names = p.printed.map((e) => e.name);
  for (const n of [
    'init_module',
    'finit_module',
    'delete_module',
    'ptrace',
    'setuid',
    'sched_process_exec',
    'memfd_create',
  ]) {
    assert.ok(names.includes(n), n);
  }
  assert.deepEqual(new Set(names), new Set(ktrailDefaultNames()));
  assert.ok(p.running.some((r) => r.id === 'KTR-002'));
  assert.ok(p.running.every((r) => r.unavailableReason === undefined));
  assert.ok(
    p.notices.some(
      (n) =>
        n.startsWith('detections that cannot run here: ') && n.includes('TRC-1017 kernel_module_loading'),
    ),
  );
});

test('naming events selects no rules; naming a rule selects its events internally', async () => {
  const a = await plan('-e', 'delete_module');
  assert.deepEqual(
    a.printed.map((e) => e.name),
    ['delete_module'],
  );
  assert.deepEqual(a.running, []);
  const b = await plan('-e', 'anti_debugging');
  assert.deepEqual(b.printed, []);
  assert.deepEqual(
    b.running.map((r) => r.id),
    ['TRC-102'],
  );
  assert.deepEqual(
    b.internal.map((e) => e.name),
    ['ptrace'],
  );
  const c = await plan('-e', 'delete_module,KTR-002');
  assert.deepEqual(
    c.printed.map((e) => e.name),
    ['delete_module'],
  );
  assert.deepEqual(
    c.running.map((r) => r.id),
    ['KTR-002'],
  );
  assert.deepEqual(c.internal, []);
});

test('threat filters select rules by severity and MITRE', async () => {
  const rules = builtinRules();
  assert.deepEqual(
    threatRules('threat.severity>=3', rules).map((r) => r.severity),
    rules.filter((r) => r.severity === 3).map(() => 3),
  );
  assert.deepEqual(
    threatRules('threat.mitre.technique=T1547.006', rules)
      .map((r) => r.id)
      .sort(),
    ['KTR-006', 'TRC-1017'],
  );
  assert.equal(
    threatRules('threat.severity=high', rules).length,
    threatRules('threat.severity=3', rules).length,
  );
  const p = await plan('-e', 'threat.severity>=3');
  assert.deepEqual(p.printed, []);
  assert.ok(p.running.length > 0 && p.running.every((r) => r.severity === 3));
  assert.throws(
    () => threatRules('threat.severity>=9', rules),
    (e: unknown) => e instanceof KtrailError && e.exitCode === 2,
  );
});

test('policy flags and policy files cannot be mixed', async () => {
  await assert.rejects(
    plan('-p', 'examples/policies', '-e', 'delete_module'),
    (e: unknown) => e instanceof KtrailError && e.exitCode === 2,
  );
});
