/**
 * Operators as a property: whatever run of operator characters (= ! < > ~, with spaces between them) stands
 * between a key and its value, in `-e` filters, `-e NAME.scope.`, `-s`, the threat filter, policy filters and
 * policy scopes, ktrail accepts it only when it is one of Tracee's six, and otherwise fails with exit status 2
 * naming exactly that operator.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { KtrailError } from '../errors.js';
import { builtinRules } from '../signatures/registry.js';
import { threatRules } from '../signatures/select.js';
import { fuzzParams, within } from '../util/fuzz-testing.js';
import { policyFromFlags } from './cli-policy.js';
import { parsePolicy } from './load.js';
import { testCatalog } from './testing.js';

const OPS = ['=', '!=', '<', '>', '<=', '>='];

const op = fc
  .array(fc.constantFrom('=', '!', '<', '>', '~', ' ', '=', '!', '<'), { minLength: 1, maxLength: 4 })
  .map((cs) => cs.join('').trim())
  .filter((o) => o !== '');

/** Each place an operator is written, as (key, op) → a parse that throws or returns. */
const PLACES: readonly [string, (o: string) => unknown][] = [
  ['-e data', (o) => policyFromFlags({ events: [`delete_module.data.name${o}nf`], scope: [] }, testCatalog)],
  ['-e args', (o) => policyFromFlags({ events: [`delete_module.args.flags${o}1`], scope: [] }, testCatalog)],
  ['-e retval', (o) => policyFromFlags({ events: [`delete_module.retval${o}0`], scope: [] }, testCatalog)],
  ['-e scope', (o) => policyFromFlags({ events: [`delete_module.scope.uid${o}0`], scope: [] }, testCatalog)],
  ['-e threat', (o) => threatRules(`threat.severity${o}2`, builtinRules())],
  ['-s', (o) => policyFromFlags({ events: ['delete_module'], scope: [`uid${o}1000`] }, testCatalog)],
  ['-s comm', (o) => policyFromFlags({ events: ['delete_module'], scope: [`comm${o}bash`] }, testCatalog)],
  [
    'policy filter',
    (o) =>
      parsePolicy(
        `type: policy\nname: p\nscope: [global]\nrules:\n  - event: delete_module\n    filters: ${JSON.stringify([`retval${o}0`])}\n`,
        'p.yaml',
        testCatalog,
      ),
  ],
  [
    'policy scope',
    (o) =>
      parsePolicy(
        `type: policy\nname: p\nscope: ${JSON.stringify([`uid${o}0`])}\nrules:\n  - event: delete_module\n`,
        'p.yaml',
        testCatalog,
      ),
  ],
];

test("fuzz: only Tracee's six operators are accepted, everywhere; any other is named (exit 2)", () => {
  fc.assert(
    fc.property(op, fc.constantFrom(...PLACES), (o, [place, parse]) => {
      let error: unknown;
      within(
        () => parse(o),
        (e) => {
          error = e;
          return e instanceof KtrailError;
        },
      );
      const valid = OPS.includes(o.replace(/ /g, '')) && !o.includes(' ');
      if (valid) {
        // A valid operator may still be refused for its key (threat.severity<...) but never as unknown.
        if (error !== undefined) assert.doesNotMatch((error as Error).message, /unknown operator/, place);
        return;
      }
      assert.ok(error instanceof KtrailError, `${place}: '${o}' was accepted`);
      assert.equal(error.exitCode, 2);
      assert.match(
        error.message,
        new RegExp(
          `: unknown operator '${o.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}' \\(the operators are = != < > <= >=\\)$`,
        ),
        place,
      );
    }),
    fuzzParams(1500),
  );
});
