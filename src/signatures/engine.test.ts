import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KtrailError } from '../errors.js';
import { Engine, unavailable } from './engine.js';
import { makeEvent } from './test-events.js';
import { type AnyRule, defineRule } from './types.js';

const seen: string[] = [];
function probe(id: string, requires: AnyRule['requires']): AnyRule {
  return defineRule({
    id,
    version: '1',
    eventName: `probe_${id.toLowerCase().replace('-', '_')}`,
    title: id,
    description: '',
    severity: 0,
    mitre: { tactic: '', technique: '', techniqueId: '' },
    tags: [],
    requires,
    onEvent(ev, ctx) {
      seen.push(`${id}:${ev.spec.name}`);
      return [ctx.finding(ev)];
    },
  });
}

describe('Engine', () => {
  it('dispatches an event only to the rules that asked for it, after their filters', () => {
    seen.length = 0;
    const a = probe('T-1', [{ event: 'openat' }]);
    const b = probe('T-2', [{ event: 'ptrace', filter: (ev) => ev.userId === 0 }]);
    const engine = new Engine([a, b]);
    engine.dispatch(makeEvent('openat', {}));
    engine.dispatch(makeEvent('ptrace', {}, { userId: 1000 }));
    engine.dispatch(makeEvent('ptrace', {}));
    engine.dispatch(makeEvent('close', {}));
    assert.deepEqual(seen, ['T-1:openat', 'T-2:ptrace']);
  });
  it('hands a rule an event once even when two of its requirements match', () => {
    seen.length = 0;
    const engine = new Engine([probe('T-1', [{ event: 'openat' }, { event: 'openat', filter: () => true }])]);
    assert.equal(engine.dispatch(makeEvent('openat', {})).length, 1);
    assert.deepEqual(seen, ['T-1:openat']);
  });
  it('tries the next requirement when the first filter rejects', () => {
    const engine = new Engine([
      probe('T-1', [{ event: 'openat', filter: () => false }, { event: 'openat' }]),
    ]);
    assert.equal(engine.dispatch(makeEvent('openat', {})).length, 1);
  });
  it('assigns finding ids by position and skips unavailable rules', () => {
    const off = { ...probe('T-2', [{ event: 'mem_prot_alert' }]), unavailableReason: 'no' };
    const engine = new Engine([
      probe('T-1', [{ event: 'openat' }]),
      off,
      probe('T-3', [{ event: 'openat' }]),
    ]);
    assert.deepEqual(
      engine.dispatch(makeEvent('openat', {})).map((f) => [f.rule.id, f.eventId]),
      [
        ['T-1', 6000],
        ['T-3', 6002],
      ],
    );
    assert.deepEqual(engine.requiredEvents(), ['openat']);
  });
  it('lists the required events, optionally only the traceable ones', () => {
    const engine = new Engine([probe('T-1', [{ event: 'openat' }, { event: 'security_file_open' }])]);
    assert.deepEqual(engine.requiredEvents(), ['openat', 'security_file_open']);
    assert.deepEqual(
      engine.requiredEvents((e) => e !== 'security_file_open'),
      ['openat'],
    );
  });
  it('rejects duplicate rule ids', () => {
    assert.throws(
      () => new Engine([probe('T-1', [{ event: 'openat' }]), probe('T-1', [{ event: 'ptrace' }])]),
      (e: unknown) =>
        e instanceof KtrailError && e.message === "loading signatures: two rules have the id 'T-1'",
    );
  });
  it('reports a throwing rule through onRuleError and keeps going', () => {
    const bad = {
      ...probe('T-1', [{ event: 'openat' }]),
      onEvent: () => {
        throw new Error('boom');
      },
    };
    const errors: string[] = [];
    const engine = new Engine([bad, probe('T-2', [{ event: 'openat' }])], {
      onRuleError: (r, _ev, e) => errors.push(`${r.id}: ${(e as Error).message}`),
    });
    assert.equal(engine.dispatch(makeEvent('openat', {})).length, 1);
    assert.deepEqual(errors, ['T-1: boom']);
  });
  it('reports a rule that returns something other than its findings, and passes only real findings on', () => {
    const returning = (id: string, value: unknown): AnyRule => ({
      ...probe(id, [{ event: 'openat' }]),
      onEvent: () => value as undefined,
    });
    const errors: string[] = [];
    const engine = new Engine(
      [
        returning('T-1', 5),
        returning('T-2', [{}]),
        returning('T-3', 'x'),
        returning('T-4', [null]),
        // A finding another rule's context made: not this rule's.
        {
          ...probe('T-5', [{ event: 'openat' }]),
          onEvent: (ev) => [{ ...probe('T-9', []), event: ev }] as never,
        },
        probe('T-6', [{ event: 'openat' }]),
      ],
      { onRuleError: (r, _ev, e) => errors.push(`${r.id}: ${(e as Error).message}`) },
    );
    assert.deepEqual(
      engine.dispatch(makeEvent('openat', {})).map((f) => f.rule.id),
      ['T-6'],
    );
    assert.deepEqual(errors, [
      'T-1: onEvent returned 5, not undefined or a list of findings',
      'T-2: onEvent returned a list holding an object at [0], not a finding made by ctx.finding()',
      "T-3: onEvent returned 'x', not undefined or a list of findings",
      'T-4: onEvent returned a list holding null at [0], not a finding made by ctx.finding()',
      'T-5: onEvent returned a list holding an object at [0], not a finding made by ctx.finding()',
    ]);
  });
  it('a rule whose newState() throws is an error naming the rule (exit 2)', () => {
    const bad: AnyRule = {
      ...probe('T-1', [{ event: 'openat' }]),
      newState: () => {
        throw new Error('no state');
      },
    };
    assert.throws(
      () => new Engine([bad]),
      (e: unknown) =>
        e instanceof KtrailError &&
        e.exitCode === 2 &&
        e.message === 'starting rule T-1: its newState() threw: Error: no state',
    );
  });
});

describe('unavailable', () => {
  it('names rules marked unavailable and rules with no traceable event', () => {
    const rules = [
      probe('T-1', [{ event: 'openat' }, { event: 'security_file_open' }]),
      probe('T-2', [{ event: 'module_load' }]),
      { ...probe('T-3', [{ event: 'magic_write' }]), unavailableReason: 'needs magic_write' },
    ];
    const can = (e: string) => e === 'openat';
    assert.deepEqual(
      unavailable(rules, can).map((u) => [u.rule.id, u.reason]),
      [
        ['T-2', 'needs module_load, which ktrail cannot trace here'],
        ['T-3', 'needs magic_write'],
      ],
    );
  });
});
